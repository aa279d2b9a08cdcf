/**
 * The app of the app-kill scenario, as its own process: commits orders one transaction at a time, each with
 * its event written to the outbox by client.enqueue inside the transaction, and prints "committed <id>"
 * after each COMMIT. It never dispatches anything itself; the test SIGKILLs it at some point after a commit.
 * argv: artifact.json forge.runtime.toml database-url
 */
const { Pool } = require('pg');
const { createJobClient, loadArtifact, loadRuntimeConfig } = require('../../dist');

async function main() {
  const [artifactPath, configPath, url] = process.argv.slice(2);
  const client = createJobClient({ artifact: loadArtifact(artifactPath), config: loadRuntimeConfig(configPath) });
  const pool = new Pool({ connectionString: url, max: 2 });
  for (;;) {
    const tx = await pool.connect();
    await tx.query('BEGIN');
    const { rows } = await tx.query(`INSERT INTO orders (customer_id, note) VALUES (1 + floor(random() * 20)::int, 'app') RETURNING *`);
    await client.enqueue(tx, 'Order', 'create', rows[0]);
    await tx.query('COMMIT');
    tx.release();
    process.stdout.write(`committed ${rows[0].id}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`app: ${err.stack || err}\n`);
  process.exit(1);
});
