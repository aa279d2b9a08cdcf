/** What a job sends when no handler says otherwise: the default email names the event, not the record's columns. */
import type { JobDef } from '../../../src/artifact/types';
import { buildRequests } from '../../../src/effects/build';

const job = { name: 'welcome', input_entity: 'Signup', needs_path: '', capabilities: ['email.send'] } as unknown as JobDef;
const trigger = { id: 42, email: 'new@example.com', api_token: 'tok_secret', password_hash: '$2b$hash', plan: 'pro' };
const args = { job: 'welcome', operation: 'create', entity: 'Signup', trigger, target: trigger };

test('the default email body names the entity, the operation and the record id, and no other column', async () => {
  const [request] = await buildRequests(job, args, undefined, undefined);
  expect(request).toMatchObject({ capability: 'email.send', to: 'new@example.com', text: 'Signup create (job welcome)\n\nid: 42\n' });
  expect(JSON.stringify(request)).not.toMatch(/tok_secret|\$2b\$hash|pro/);
});

test('a template adds fields by name', async () => {
  const [request] = await buildRequests(job, args, undefined, { text: 'Plan {{trigger.plan}} for record {{trigger.id}}' });
  expect(request).toMatchObject({ text: 'Plan pro for record 42' });
});
