/**
 * The job's status and the search attributes that follow it. upsertSearchAttributes only runs inside a
 * workflow, so it is replaced here by a recorder: what matters is which upserts each change makes.
 */
import { SA } from '../../../src/names';
import { countRetry, newStatus, setRetries, setState } from '../../../src/workflows/state';

const upserts: unknown[][] = [];
jest.mock('@temporalio/workflow', () => ({
  ...jest.requireActual('@temporalio/workflow'),
  upsertSearchAttributes: (attributes: unknown[]) => upserts.push(attributes),
}));

beforeEach(() => {
  upserts.length = 0;
});

test('a new status is pending with nothing counted', () => {
  expect(newStatus()).toEqual({ state: 'pending', targets: 0, completed: 0, dead: 0, failedAttempts: 0, deadTargets: [] });
  expect(newStatus()).not.toBe(newStatus());
});

test('setState upserts ForgeJobState on a change only', () => {
  const status = newStatus();
  setState(status, 'running');
  setState(status, 'running');
  expect(status.state).toBe('running');
  setState(status, 'completed');
  expect(upserts).toEqual([[{ key: SA.state, value: 'running' }], [{ key: SA.state, value: 'completed' }]]);
});

test('countRetry counts the failed attempt, keeps its error and attempt, and upserts ForgeRetries', () => {
  const status = newStatus();
  const attempts = new Map<string, number>();
  countRetry(status, attempts, { target: 7, attempt: 1, error: 'busy' });
  countRetry(status, attempts, { target: 7, attempt: 2, error: 'still busy' });
  expect(status).toMatchObject({ failedAttempts: 2, lastError: 'still busy' });
  expect(attempts.get('7')).toBe(2);
  expect(upserts).toEqual([[{ key: SA.retries, value: 1 }], [{ key: SA.retries, value: 2 }]]);
});

test("setRetries takes a paged job's count from its parts, upserting only a change", () => {
  const status = newStatus();
  setRetries(status, 0);
  setRetries(status, 5);
  setRetries(status, 5);
  expect(status.failedAttempts).toBe(5);
  expect(upserts).toEqual([[{ key: SA.retries, value: 5 }]]);
});
