/**
 * A Temporal dev server of its own whose Web UI decodes through a codec server started here, and a pipeline
 * on it with the AES-GCM codec on client and worker: the shared dev server's UI cannot be given a codec
 * endpoint after it started. Used by the codec and Web UI tests.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { createEncryptionCodec, startCodecServer, type CodecServer } from '../../src/codec';
import { freePort } from '../../src/dev/ports';
import { SA } from '../../src/names';
import { compiled, artifact as newArtifact } from './artifact-builder';
import type { TemporalDevServer } from '../../src/dev/temporal-dev-server';
import { createTestDatabase, type TestDatabase } from './db';
import { startHttpSink, type HttpSink } from './sinks';
import { startTestStack, temporalCli, testConfig, type TestStack } from './stack';

/** Planted in the trigger record: must never be readable in Temporal's history. */
export const PLANTED_EMAIL = 'planted.pii@example.test';
export const PLANTED_SECRET = `sk_live_planted_${randomBytes(6).toString('hex')}`;

const artifact = compiled(
  newArtifact()
    .entity('Signup', 'signups', ['email', 'api_token', 'plan'])
    .job('signup_webhook', 'Signup', '', { capabilities: ['http.post'] })
    .hook('Signup', 'create', ['signup_webhook']),
  { app_name: 'signup' },
);

export interface CodecStack {
  dev: TemporalDevServer;
  codecServer: CodecServer;
  dataConverter: DataConverter;
  pipeline: TestStack;
  /** a client on the test's dev server that decodes with the codec */
  client: Client;
  /** the signup webhook (it answers 400 for plan "bad", else 200) */
  webhook: HttpSink;
  /** creates a signup row and runs its job to the end; the webhook answers 400 when plan is "bad" */
  signup(plan: 'ok' | 'bad'): Promise<{ workflowId: string; status: string; state: string; failure?: string }>;
  /** `temporal workflow show --output json`: the raw history as the Temporal CLI prints it */
  rawHistory(workflowId: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startCodecStack(name: string): Promise<CodecStack> {
  const cliPath = temporalCli();
  const keyA = randomBytes(32);
  const codec = createEncryptionCodec({ keys: { 'test-key-1': keyA }, currentKeyId: 'test-key-1' });
  const dataConverter: DataConverter = { payloadCodecs: [codec] };

  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    // The UI's port first: the codec server must allow that origin, and the dev server needs the codec URL.
    const uiPort = await freePort();
    const codecServer = await startCodecServer({
      codec,
      port: 0,
      corsOrigins: [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`],
    });
    stops.push(() => codecServer.close());
    const webhook = await startHttpSink({ answer: ({ path }) => (path.startsWith('/bad') ? { status: 400, body: 'plan rejected' } : 200) });
    stops.push(() => webhook.close());

    const db: TestDatabase = await createTestDatabase('codec');
    stops.push(() => db.drop());
    await db.pool.query('CREATE TABLE signups (id serial PRIMARY KEY, email text, api_token text, plan text)');

    const config = testConfig(name, {
      http: { allow: ['127.0.0.1'] },
      jobs: { max_attempts: 2, timeout: '10s', signup_webhook: { url: `${webhook.url}/{{trigger.plan}}` } },
    });
    // A dev server of its own: the UI's codec endpoint is a start-up flag.
    const pipeline = await startTestStack({
      artifact,
      config,
      pool: db.pool,
      dataConverter,
      temporal: { own: true, uiPort, extraArgs: ['--ui-codec-endpoint', codecServer.url] },
    });
    stops.push(() => pipeline.stop());
    const dev = pipeline.server!;
    const connection = await Connection.connect({ address: dev.address });
    stops.push(() => connection.close());
    const client = new Client({ connection, dataConverter });

    async function signup(plan: 'ok' | 'bad') {
      const { rows } = await db.pool.query('INSERT INTO signups (email, api_token, plan) VALUES ($1, $2, $3) RETURNING *', [
        PLANTED_EMAIL,
        PLANTED_SECRET,
        plan,
      ]);
      const [started] = await pipeline.client.afterCommit('Signup', 'create', rows[0]);
      if (!started) throw new Error(`no job started: ${JSON.stringify(pipeline.logs.slice(-5))}`);
      const handle = client.workflow.getHandle(started.workflowId);
      let failure: string | undefined;
      try {
        await handle.result();
      } catch (err) {
        const e = err as { cause?: { message?: string }; message: string };
        failure = e.cause?.message ?? e.message;
      }
      const description = await handle.describe();
      return {
        workflowId: started.workflowId,
        status: description.status.name,
        state: description.typedSearchAttributes.get(SA.state) as string,
        failure,
      };
    }

    async function rawHistory(workflowId: string): Promise<string> {
      const { stdout } = await promisify(execFile)(
        cliPath,
        ['workflow', 'show', '--workflow-id', workflowId, '--address', dev.address, '--output', 'json'],
        {
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      return stdout;
    }

    return { dev, codecServer, dataConverter, pipeline, client, webhook, signup, rawHistory, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
