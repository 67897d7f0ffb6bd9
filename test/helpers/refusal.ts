import { expect } from 'vitest';
import { TinyforgeError } from '../../compiler/errors.ts';

/** The message of the TinyforgeError `f` throws (fails the test if it does not throw one, or if the message is not one line). */
export function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TinyforgeError);
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a TinyforgeError');
}
