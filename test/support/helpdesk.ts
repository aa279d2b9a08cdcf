/** The helpdesk examples on a fresh database of the shared Postgres. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from './db';

/** The compiler's artifact as it is: its migration.up creates the schema, seed.sql fills it. */
export const HELPDESK = join(__dirname, '..', '..', 'examples', 'helpdesk');
/** A hand-written schema with join tables, which forge.runtime.toml declares under [relations]. */
export const HELPDESK_RELATIONS = join(__dirname, '..', '..', 'examples', 'helpdesk-relations');

/** The statements Forge's runtime applies: the artifact's migration.up, as one script. */
export function helpdeskMigration(): string {
  return (JSON.parse(readFileSync(join(HELPDESK, 'artifact.json'), 'utf8')).migration.up as string[]).join('\n');
}

export async function helpdeskDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase('helpdesk');
  await db.pool.query(helpdeskMigration());
  await db.pool.query(readFileSync(join(HELPDESK, 'seed.sql'), 'utf8'));
  return db;
}

export async function helpdeskRelationsDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase('helpdesk_rel');
  await db.pool.query(readFileSync(join(HELPDESK_RELATIONS, 'schema.sql'), 'utf8'));
  await db.pool.query(readFileSync(join(HELPDESK_RELATIONS, 'seed.sql'), 'utf8'));
  return db;
}

export const helpdeskRelations = {
  'Organization.members': { through: { table: 'organization_members', source_key: 'organization_id', target_key: 'user_id' } },
  'Ticket.tags': { through: { table: 'ticket_tags', source_key: 'ticket_id', target_key: 'tag_id' } },
};
