/** Errors cross the courier's process boundary as plain data and come back as the class the activity classifies by. */
import { deserialize, serialize } from 'node:v8';
import { fromWire, toWire } from '../../../src/courier/wire-error';
import { PermanentError, TransientError } from '../../../src/errors';
import { HttpStatusError, HttpTransientStatusError } from '../../../src/providers/http';
import { SsrfRefusedError } from '../../../src/providers/ssrf';

/** What the IPC channel does to a message with `serialization: 'advanced'`. */
const across = (err: unknown) => fromWire(deserialize(serialize(toWire(err))));

test('permanent and transient errors keep class, code, retry delay, name and message', () => {
  const permanent = across(new PermanentError('refused', 'smtp_rejected'));
  expect(permanent).toBeInstanceOf(PermanentError);
  expect(permanent).toMatchObject({ code: 'smtp_rejected', message: 'refused', name: 'PermanentError', kind: 'permanent' });

  const transient = across(new TransientError('later', 1500, 'smtp_deferred'));
  expect(transient).toBeInstanceOf(TransientError);
  expect(transient).toMatchObject({ code: 'smtp_deferred', retryAfterMs: 1500, kind: 'transient' });
  expect(across(new TransientError('no delay'))).toMatchObject({ code: 'transient', retryAfterMs: undefined });
});

test('a subclass comes back as its base class, with its name and fields', () => {
  expect(across(new HttpTransientStatusError('busy', 503, 7000))).toMatchObject({
    name: 'HttpTransientStatusError',
    status: 503,
    retryAfterMs: 7000,
    code: 'http_status',
  });
  expect(across(new HttpStatusError('gone', 410))).toBeInstanceOf(PermanentError);
  const ssrf = across(new SsrfRefusedError('metadata.test', '169.254.169.254', 'link-local'));
  expect(ssrf).toBeInstanceOf(PermanentError);
  expect(ssrf).toMatchObject({
    name: 'SsrfRefusedError',
    code: 'ssrf_refused',
    host: 'metadata.test',
    address: '169.254.169.254',
    addressClass: 'link-local',
  });
});

test('anything else stays unclassified (transient to the activity), keeping a string code', () => {
  const dns = across(Object.assign(new Error('no such host'), { code: 'ENOTFOUND' }));
  expect(dns).not.toBeInstanceOf(PermanentError);
  expect(dns).not.toBeInstanceOf(TransientError);
  expect(dns).toMatchObject({ message: 'no such host', code: 'ENOTFOUND' });
  expect(across('a string')).toMatchObject({ message: 'a string' });
});
