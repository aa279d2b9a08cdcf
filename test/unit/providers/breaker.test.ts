import { withBreaker } from '../../../src/providers/breaker';
import type { Provider } from '../../../src/providers/types';
import { PermanentError, TransientError } from '../../../src/errors';
import type { EffectRequest } from '../../../src/effects/types';

const request = { capability: 'email.send', to: 'a@example.test', subject: 's' } as unknown as EffectRequest;
const ctx = { idempotencyKey: 'k', job: 'j', workflowId: 'w', attempt: 1 };

/** A provider whose next answers are scripted: 'ok', 'defer' (transient) or 'refuse' (permanent). */
function scripted() {
  let answer: 'ok' | 'defer' | 'refuse' = 'defer';
  let calls = 0;
  const provider: Provider = {
    name: 'email',
    capabilities: ['email.send'],
    recordsSent: true,
    async execute() {
      calls++;
      if (answer === 'defer') throw new TransientError('SMTP server deferred the message: 451 4.3.0', undefined, 'smtp_deferred');
      if (answer === 'refuse') throw new PermanentError('SMTP server refused the message: 550 5.1.1', 'smtp_rejected');
      return { capability: 'email.send', detail: {} };
    },
  };
  return { provider, set: (a: typeof answer) => (answer = a), calls: () => calls };
}

test('opens after the threshold of transient failures in a row, refusing at once with the last failure', async () => {
  const now = 0;
  const relay = scripted();
  const breaker = withBreaker(relay.provider, { threshold: 3, probeEveryMs: 1000, now: () => now });
  expect(breaker.recordsSent).toBe(true);
  for (let i = 0; i < 3; i++) await expect(breaker.execute(request, ctx)).rejects.toThrow(/451/);
  expect(relay.calls()).toBe(3);
  const refused = await breaker.execute(request, ctx).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(TransientError);
  expect(refused).toMatchObject({ code: 'provider_failing', message: expect.stringMatching(/not tried.*last 3 sends.*451 4\.3\.0/) });
  expect(relay.calls()).toBe(3);
});

test('probes once per period while open; the probe that succeeds closes it', async () => {
  let now = 0;
  const relay = scripted();
  const breaker = withBreaker(relay.provider, { threshold: 2, probeEveryMs: 1000, now: () => now });
  for (let i = 0; i < 2; i++) await breaker.execute(request, ctx).catch(() => undefined);
  now = 999;
  await expect(breaker.execute(request, ctx)).rejects.toMatchObject({ code: 'provider_failing' });
  now = 1000;
  await expect(breaker.execute(request, ctx)).rejects.toMatchObject({ code: 'smtp_deferred' }); // the probe reached the relay
  await expect(breaker.execute(request, ctx)).rejects.toMatchObject({ code: 'provider_failing' });
  expect(relay.calls()).toBe(3);
  relay.set('ok');
  now = 2000;
  await expect(breaker.execute(request, ctx)).resolves.toMatchObject({ capability: 'email.send' });
  await expect(breaker.execute(request, ctx)).resolves.toMatchObject({ capability: 'email.send' });
  expect(relay.calls()).toBe(5);
});

/** A relay whose sends wait until the test releases them. */
function held(relay: ReturnType<typeof scripted>) {
  const waiting: (() => void)[] = [];
  const provider: Provider = {
    ...relay.provider,
    execute: (r, c) => new Promise((resolve, reject) => waiting.push(() => void relay.provider.execute(r, c).then(resolve, reject))),
  };
  const releaseAll = async () => {
    while (waiting.length) waiting.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { provider, releaseAll, waiting: () => waiting.length };
}

/** A breaker over a held relay, opened by one deferral at t=0 and due to probe at t=100. */
async function openedOverHeldRelay() {
  const clock = { now: 0 };
  const relay = scripted();
  const slow = held(relay);
  const breaker = withBreaker(slow.provider, { threshold: 1, probeEveryMs: 10, now: () => clock.now });
  const first = breaker.execute(request, ctx).catch((e: unknown) => e);
  await slow.releaseAll();
  expect(await first).toMatchObject({ code: 'smtp_deferred' });
  clock.now = 100;
  return { clock, relay, slow, breaker };
}

test('only one probe is in flight; sends that meet it wait for its answer and go through when it succeeds', async () => {
  const { clock, relay, slow, breaker } = await openedOverHeldRelay();
  const probe = breaker.execute(request, ctx);
  clock.now = 200;
  const waiter = breaker.execute(request, ctx);
  await new Promise((r) => setImmediate(r));
  expect(slow.waiting()).toBe(1); // the probe alone reached the relay
  relay.set('ok');
  await slow.releaseAll();
  await expect(probe).resolves.toMatchObject({ capability: 'email.send' });
  await slow.releaseAll();
  await expect(waiter).resolves.toMatchObject({ capability: 'email.send' });
  expect(relay.calls()).toBe(3);
});

test('sends that meet a failing probe are refused without reaching the relay', async () => {
  const { relay, slow, breaker } = await openedOverHeldRelay();
  const probe = breaker.execute(request, ctx).catch((e: unknown) => e);
  const waiters = [breaker.execute(request, ctx), breaker.execute(request, ctx)].map((w) => w.catch((e: unknown) => e));
  await slow.releaseAll();
  expect(await probe).toMatchObject({ code: 'smtp_deferred' });
  for (const w of waiters) expect(await w).toMatchObject({ code: 'provider_failing' });
  expect(relay.calls()).toBe(2);
});

test('a permanent failure or a success between deferrals resets the count: a relay refusing some recipients is up', async () => {
  const relay = scripted();
  const breaker = withBreaker(relay.provider, { threshold: 3, probeEveryMs: 1000, now: () => 0 });
  for (const answer of ['defer', 'defer', 'refuse', 'defer', 'defer', 'ok', 'defer', 'defer'] as const) {
    relay.set(answer);
    await breaker.execute(request, ctx).catch(() => undefined);
  }
  expect(relay.calls()).toBe(8);
  relay.set('ok');
  await expect(breaker.execute(request, ctx)).resolves.toBeDefined();
});

test('says once that it opened and once that it closed', async () => {
  let now = 0;
  const relay = scripted();
  const changes: unknown[] = [];
  const breaker = withBreaker(relay.provider, { threshold: 2, probeEveryMs: 10, now: () => now, onChange: (c) => changes.push(c) });
  for (let i = 0; i < 5; i++) await breaker.execute(request, ctx).catch(() => undefined);
  expect(changes).toEqual([{ open: true, failures: 2, lastFailure: 'SMTP server deferred the message: 451 4.3.0' }]);
  relay.set('ok');
  now = 100;
  await breaker.execute(request, ctx);
  await breaker.execute(request, ctx);
  expect(changes).toEqual([expect.objectContaining({ open: true }), { open: false }]);
});
