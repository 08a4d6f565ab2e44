import { describe, expect, it } from '@jest/globals';
import { createMemoryReplayStore } from '../../src/stores/replay-store.js';
import { StoreUnavailableError } from '../../src/stores/errors.js';

/** A clock the test moves by hand (epoch ms). */
function manualClock(start = 1_764_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('createMemoryReplayStore', () => {
  it('accepts a key once and refuses it while recorded', () => {
    const clock = manualClock();
    const store = createMemoryReplayStore({ now: clock.now });
    expect(store.add('jti-1', 60)).toBe(true);
    expect(store.add('jti-1', 60)).toBe(false);
    clock.advance(59_999);
    expect(store.add('jti-1', 60)).toBe(false);
    expect(store.add('jti-2', 60)).toBe(true);
  });

  it('forgets a key once its ttl has passed, and records it again', () => {
    const clock = manualClock();
    const store = createMemoryReplayStore({ now: clock.now });
    store.add('jti', 60);
    clock.advance(60_000);
    expect(store.add('jti', 60)).toBe(true);
    expect(store.add('jti', 60)).toBe(false);
  });

  it('keeps each key for its own ttl', () => {
    const clock = manualClock();
    const store = createMemoryReplayStore({ now: clock.now });
    store.add('long', 300);
    store.add('short', 10);
    clock.advance(11_000);
    expect(store.add('short', 10)).toBe(true);
    expect(store.add('long', 300)).toBe(false);
  });

  it('when full of unexpired keys, refuses new keys with StoreUnavailableError instead of forgetting one', () => {
    const clock = manualClock();
    const store = createMemoryReplayStore({ max: 3, now: clock.now });
    for (const key of ['a', 'b', 'c']) expect(store.add(key, 60)).toBe(true);
    let thrown: unknown;
    try {
      store.add('d', 60);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StoreUnavailableError);
    expect((thrown as StoreUnavailableError).reason).toBe('store_unavailable');
    // Replays are still detected while full.
    expect(store.add('a', 60)).toBe(false);
    expect(store.size).toBe(3);
  });

  it('makes room by dropping expired keys, including ones that expired within the current second', () => {
    const clock = manualClock(1_764_000_000_000);
    const store = createMemoryReplayStore({ max: 2, now: clock.now });
    store.add('a', 0.2); // expires 200 ms later, in the same second
    store.add('b', 60);
    clock.advance(300);
    expect(store.add('c', 60)).toBe(true);
    expect(store.add('b', 60)).toBe(false);
    expect(() => store.add('d', 60)).toThrow(StoreUnavailableError);
    clock.advance(60_000);
    expect(store.add('b', 60)).toBe(true);
    expect(store.add('c', 60)).toBe(true);
  });

  it('drops expired keys after a large clock jump without growing', () => {
    const clock = manualClock();
    const store = createMemoryReplayStore({ max: 1000, now: clock.now });
    for (let i = 0; i < 1000; i++) store.add(`k${i}`, 1 + (i % 50));
    clock.advance(365 * 86_400_000);
    expect(store.add('fresh', 60)).toBe(true);
    expect(store.size).toBe(1);
  });

  it('a key re-added after expiry is not dropped with its old bucket', () => {
    const clock = manualClock(1_764_000_000_000);
    const store = createMemoryReplayStore({ now: clock.now });
    store.add('k', 1);
    clock.advance(1_000); // expired, its bucket not yet swept (same second boundary)
    expect(store.add('k', 60)).toBe(true);
    clock.advance(2_000);
    expect(store.add('k', 60)).toBe(false);
  });

  it('rejects bad arguments with TypeError', () => {
    const store = createMemoryReplayStore();
    expect(() => store.add('', 60)).toThrow(TypeError);
    expect(() => store.add(42 as unknown as string, 60)).toThrow(TypeError);
    expect(() => store.add('k', 0)).toThrow(TypeError);
    expect(() => store.add('k', Number.NaN)).toThrow(TypeError);
    expect(() => store.add('k', Infinity)).toThrow(TypeError);
    expect(() => createMemoryReplayStore({ max: 0 })).toThrow(TypeError);
    expect(() => createMemoryReplayStore({ max: 1.5 })).toThrow(TypeError);
  });

  it('uses the real clock by default', () => {
    const store = createMemoryReplayStore();
    expect(store.add('k', 60)).toBe(true);
    expect(store.add('k', 60)).toBe(false);
  });
});
