/**
 * How a job's targets end: which failures make a target dead and with what type, and how a batch's
 * transient failures go on alone after one timer. The activities and the workflow timer are replaced by
 * recorders (they only run inside a workflow); the decisions are runTargets' own.
 */
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { runTargets } from '../../../src/workflows/targets';
import { FAILURE_TYPES, type EffectInput, type JobPolicy, type TargetId, type TargetOutcome } from '../../../src/workflows/types';

const calls = {
  runEffect: [] as Array<{ targetId: TargetId; maxAttempts: number }>,
  runEffects: [] as Array<{ targetIds: TargetId[]; concurrency: number }>,
  runEffectAfterBatch: [] as Array<{ targetId: TargetId; priorAttempts: number }>,
  sleep: [] as number[],
};
/** what each activity does, set per test */
const behave: {
  runEffect: (target: TargetId) => Promise<unknown>;
  runEffects: (targets: TargetId[]) => Promise<TargetOutcome[]>;
  runEffectAfterBatch: (target: TargetId) => Promise<unknown>;
} = { runEffect: async () => undefined, runEffects: async () => [], runEffectAfterBatch: async () => undefined };

jest.mock('../../../src/workflows/activities', () => ({
  jobActivities: () => ({
    runEffect: (input: EffectInput) => (
      calls.runEffect.push({ targetId: input.targetId, maxAttempts: input.maxAttempts }),
      behave.runEffect(input.targetId)
    ),
  }),
  batchActivities: () => ({
    runEffects: (input: { targetIds: TargetId[]; concurrency: number }) => (
      calls.runEffects.push({ targetIds: input.targetIds, concurrency: input.concurrency }),
      behave.runEffects(input.targetIds)
    ),
    runEffectAfterBatch: (input: EffectInput & { priorAttempts: number }) => (
      calls.runEffectAfterBatch.push({ targetId: input.targetId, priorAttempts: input.priorAttempts }),
      behave.runEffectAfterBatch(input.targetId)
    ),
  }),
}));
jest.mock('@temporalio/workflow', () => ({
  ...jest.requireActual('@temporalio/workflow'),
  sleep: async (ms: number) => void calls.sleep.push(ms),
}));

const base = { job: 'notify', entity: 'Ticket', operation: 'create', workflowId: 'wf' } as unknown as Omit<
  EffectInput,
  'targetId' | 'maxAttempts'
>;
const policy = (p: Partial<JobPolicy> = {}) => ({ maxAttempts: 3, timeoutMs: 1000, concurrency: 10, batchSize: 3, ...p }) as JobPolicy;
/** the failure an activity throws once Temporal gave up on it: its cause is the effect's ApplicationFailure */
const activityFailure = (type: string, message: string) =>
  new ActivityFailure(
    'activity failed',
    'runEffect',
    '1',
    RetryState.MAXIMUM_ATTEMPTS_REACHED,
    undefined,
    ApplicationFailure.create({ message, type, nonRetryable: type !== FAILURE_TYPES.transient }),
  );

beforeEach(() => {
  for (const list of Object.values(calls)) list.length = 0;
});

describe('one activity per target', () => {
  it('counts completed targets and names each dead one with its reason and type', async () => {
    behave.runEffect = async (target) => {
      if (target === 2) throw activityFailure(FAILURE_TYPES.transient, 'smtp 451');
      if (target === 3) throw activityFailure(FAILURE_TYPES.permanent, 'smtp 550');
      if (target === 4) throw new Error('worker lost');
    };
    const done: TargetId[] = [];
    const result = await runTargets(base, [1, 2, 3, 4], policy(), ({ target }) => done.push(target));
    expect(result.completed).toBe(1);
    expect(result.dead).toEqual([
      // a transient failure that ends a target has used up its attempts
      { target: 2, reason: 'smtp 451', type: FAILURE_TYPES.exhausted },
      { target: 3, reason: 'smtp 550', type: FAILURE_TYPES.permanent },
      { target: 4, reason: 'worker lost' },
    ]);
    expect(done.sort()).toEqual([1, 2, 3, 4]);
    expect(calls.runEffect.map((c) => c.maxAttempts)).toEqual([3, 3, 3, 3]);
    expect(calls.runEffects).toEqual([]);
  });
});

describe('batches', () => {
  it('splits targets into batches of batchSize, each running at most `concurrency` of its targets', async () => {
    behave.runEffects = async (targets) => targets.map((target) => ({ target, status: 'completed' as const }));
    const result = await runTargets(base, [1, 2, 3, 4, 5, 6, 7], policy({ batchSize: 3, concurrency: 2 }), () => undefined, true);
    expect(result).toEqual({ completed: 7, dead: [] });
    expect(calls.runEffects.map((c) => c.targetIds)).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(calls.runEffects.every((c) => c.concurrency === 2)).toBe(true);
  });

  it('makes a permanent failure dead at once, and sends transient ones on alone after one timer of the longest delay', async () => {
    behave.runEffects = async () => [
      { target: 1, status: 'completed' },
      { target: 2, status: 'skipped' },
      { target: 3, status: 'failed', type: FAILURE_TYPES.permanent, message: '550', nonRetryable: true },
      { target: 4, status: 'failed', type: FAILURE_TYPES.transient, message: '451', nonRetryable: false, retryAfterMs: 500 },
      { target: 5, status: 'failed', type: FAILURE_TYPES.transient, message: '429', nonRetryable: false, retryAfterMs: 2000 },
    ];
    behave.runEffectAfterBatch = async (target) => {
      if (target === 5) throw activityFailure(FAILURE_TYPES.transient, 'still 429');
    };
    const result = await runTargets(base, [1, 2, 3, 4, 5], policy({ batchSize: 5 }), () => undefined, true);
    expect(result.completed).toBe(3);
    expect(result.dead).toEqual([
      { target: 3, reason: '550', type: FAILURE_TYPES.permanent },
      { target: 5, reason: 'still 429', type: FAILURE_TYPES.exhausted },
    ]);
    expect(calls.sleep).toEqual([2000]);
    expect(calls.runEffectAfterBatch).toEqual([
      { targetId: 4, priorAttempts: 1 },
      { targetId: 5, priorAttempts: 1 },
    ]);
  });

  it('with one attempt allowed, a transient failure in a batch is dead at once, its retries exhausted', async () => {
    behave.runEffects = async () => [{ target: 1, status: 'failed', type: FAILURE_TYPES.transient, message: '451', nonRetryable: false }];
    const result = await runTargets(base, [1], policy({ maxAttempts: 1 }), () => undefined, true);
    expect(result.dead).toEqual([{ target: 1, reason: '451', type: FAILURE_TYPES.exhausted }]);
    expect(calls.runEffectAfterBatch).toEqual([]);
  });

  it('sends every target of a batch that failed as a whole on alone, with no timer', async () => {
    behave.runEffects = async () => {
      throw new Error('batch timed out');
    };
    behave.runEffectAfterBatch = async () => undefined;
    const result = await runTargets(base, [1, 2], policy(), () => undefined, true);
    expect(result).toEqual({ completed: 2, dead: [] });
    expect(calls.runEffectAfterBatch.map((c) => c.targetId)).toEqual([1, 2]);
    expect(calls.sleep).toEqual([]);
  });
});
