/**
 * Committed histories (test/histories) replay against the current workflow code: a change that would break
 * running workflows fails here. The negative test proves the check bites.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';

const DIR = join(__dirname, '..', 'histories');
const ids: Record<string, string> = JSON.parse(readFileSync(join(DIR, 'workflow-ids.json'), 'utf8'));
// jobWorkflow histories, a fan-out child's from before paging (jobTargetsWorkflow), and a paged part's.
const files = readdirSync(DIR)
  .filter((f) => /^(jobWorkflow|jobTargetsWorkflow|jobPartWorkflow)_/.test(f))
  .sort();
const bundle = () => ({ codePath: process.env.FORGE_TEST_WORKFLOW_BUNDLE! });
const load = (file: string) => historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8')));

test('every scenario has a committed history', () => {
  const scenarios = files.filter((f) => f.startsWith('jobWorkflow_')).map((f) => f.split('_')[1]);
  // fanout: one activity per target, as before batching (such histories must still replay); fanout-batched
  // and batched-retry: the batched path, its children's flag, and a target retried alone after its batch;
  // paged, paged-small, paged-retry, paged-dead: a paged fan-out's job and parts (a retry round, stored dead
  // targets), and a part's run that continued as new (paged-continued).
  expect(scenarios).toEqual(
    expect.arrayContaining([
      'success',
      'retry',
      'dead',
      'sandbox-violation',
      'fanout',
      'fanout-batched',
      'batched-retry',
      'paged',
      'paged-small',
      'paged-dead',
    ]),
  );
  expect(files).toContain('jobTargetsWorkflow_fanout-batched_1.24.0.json');
  expect(files).toEqual(
    expect.arrayContaining([
      'jobPartWorkflow_paged_1.24.0.json',
      'jobPartWorkflow_paged-retry_1.24.0.json',
      'jobPartWorkflow_paged-continued_1.24.0.json',
    ]),
  );
});

test.each(files)('%s replays without nondeterminism', async (file) => {
  await Worker.runReplayHistory({ workflowBundle: bundle() }, load(file), ids[file]);
});

test('a history whose commands no longer match the code fails replay', async () => {
  const history = load(files.find((f) => f.includes('_success_'))!);
  // Rename the scheduled activity: the code would schedule resolveTargets, the history says otherwise.
  for (const event of history.events ?? []) {
    const attrs = event.activityTaskScheduledEventAttributes;
    if (attrs?.activityType?.name === 'resolveTargets') attrs.activityType.name = 'resolveSomethingElse';
  }
  await expect(Worker.runReplayHistory({ workflowBundle: bundle() }, history, 'tampered')).rejects.toThrow(/[Nn]ondetermin/);
});
