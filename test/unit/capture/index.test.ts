/** The SQL capture and backfill generate, and the checks before any of it runs. */
import { planBackfill } from '../../../src/backfill';
import { expectedCapture } from '../../../src/capture';
import { resolveArtifact } from '../../../src/artifact/configured';
import { defaultRuntimeConfig } from '../../../src/config';
import { bar } from '../../../src/cli/backfill';
import { captureDefinition } from '../../../src/sql/capture';
import { compiled, artifact as newArtifact } from '../../support/artifact-builder';

const raw = (entity: string, table: string) =>
  compiled(
    newArtifact()
      .entity(entity, table, ['status'])
      .creates('touch', entity, entity, { status: '"seen"' })
      .hook(entity, 'update', ['touch'])
      .hook(entity, 'create', ['touch'], 'before'),
  );

test('only after hooks get a trigger; table and names are quoted, the entity is a quoted literal', () => {
  const artifact = resolveArtifact(raw('Odd', 'we"ird'), defaultRuntimeConfig());
  const defs = expectedCapture(artifact, 1000);
  expect(defs.map((d) => `${d.entity}.${d.operation}`)).toEqual(['Odd.update']);
  const [d] = defs;
  expect(d.install.join('\n')).toContain(
    'ON "we""ird" REFERENCING OLD TABLE AS forge_jobs_old NEW TABLE AS forge_jobs_new FOR EACH STATEMENT',
  );
  expect(d.install[0]).toContain(`'Odd'`);
  expect(d.install[0]).toContain('WHERE to_jsonb(n) <> to_jsonb(o)');
  expect(captureDefinition({ entity: "O'Brien", operation: 'create', table: 't' }, 1000).install[0]).toContain(`'O''Brien'`);
});

test('names longer than Postgres keeps stay unique and within 63 bytes; the hash follows the definition', () => {
  const long = 'E'.repeat(80);
  const a = captureDefinition({ entity: long, operation: 'create', table: 't' }, 1000);
  const b = captureDefinition({ entity: long + 'x', operation: 'create', table: 't' }, 1000);
  for (const d of [a, b]) {
    expect(Buffer.byteLength(d.functionName)).toBeLessThanOrEqual(63);
    expect(Buffer.byteLength(d.triggerName)).toBeLessThanOrEqual(63);
  }
  expect(a.functionName).not.toBe(b.functionName);
  expect(a.hash).toBe(captureDefinition({ entity: long, operation: 'create', table: 't' }, 1000).hash);
  expect(a.hash).not.toBe(captureDefinition({ entity: long, operation: 'create', table: 't' }, 2000).hash);
  expect(() => captureDefinition({ entity: 'E', operation: 'create', table: 't' }, 0)).toThrow(/max_record_bytes/);
});

test('a backfill names what is wrong with its job or filter, and takes the operation of the hook listing the job', () => {
  const artifact = resolveArtifact(raw('Ticket', 'tickets'), defaultRuntimeConfig());
  expect(() => planBackfill(artifact, { job: 'nope' })).toThrow(/unknown job "nope" \(the artifact has touch\)/);
  expect(() => planBackfill(artifact, { job: 'touch', where: 'colour == red' })).toThrow(/--where: Ticket has no field "colour"/);
  expect(() => planBackfill(artifact, { job: 'touch', where: 'status ==' })).toThrow(/--where "status ==": .* at column/);
  const plan = planBackfill(artifact, { job: 'touch', where: 'status == "open"' });
  expect(plan.operation).toBe('update');
  expect(plan.id).toMatch(/^touch-[0-9a-f]{12}$/);
  expect(planBackfill(artifact, { job: 'touch', where: ' status == "open" ' }).id).toBe(plan.id);
  expect(planBackfill(artifact, { job: 'touch', where: 'status == "open"', name: 'again' }).id).not.toBe(plan.id);
  expect(planBackfill(artifact, { job: 'touch', operation: 'create' }).operation).toBe('create');
});

test('the progress line shows rows done / total, rate and ETA', () => {
  expect(bar({ id: 'b', job: 'j', state: 'running', done: 1200, total: 5000, rate: 350, etaSeconds: 11, written: 1200 }, 10)).toBe(
    '[==>       ] 1200/5000 24%  350 rows/s  ETA 11s',
  );
  expect(bar({ id: 'b', job: 'j', state: 'finished', done: 5000, total: 5000, rate: 400, written: 5000 }, 10)).toBe(
    '[==========] 5000/5000 100%  400 rows/s  finished',
  );
});
