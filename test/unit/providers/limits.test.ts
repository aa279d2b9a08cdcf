/** The payload bound every provider checks before it sends. */
import { PermanentError } from '../../../src/errors';
import { checkPayloadSize, MAX_EFFECT_PAYLOAD_BYTES } from '../../../src/providers/limits';

describe('effect payload size', () => {
  it('is a permanent error naming size and limit', () => {
    expect(MAX_EFFECT_PAYLOAD_BYTES).toBe(1024 * 1024);
    expect(() => checkPayloadSize('email.send: the body', MAX_EFFECT_PAYLOAD_BYTES)).not.toThrow();
    expect(() => checkPayloadSize('email.send: the body', MAX_EFFECT_PAYLOAD_BYTES + 1)).toThrow(PermanentError);
    expect(() => checkPayloadSize('email.send: the body', MAX_EFFECT_PAYLOAD_BYTES + 1)).toThrow(
      `email.send: the body is ${MAX_EFFECT_PAYLOAD_BYTES + 1} bytes, more than the limit ${MAX_EFFECT_PAYLOAD_BYTES}`,
    );
  });
});
