import { describe, expect, it } from '@jest/globals';
import { TokenCache } from '../src/token-cache.js';

describe('TokenCache', () => {
  it('returns a value until its deadline', () => {
    const cache = new TokenCache<string>(10);
    cache.set('t', 'v', 1000);
    expect(cache.get('t', 999)).toBe('v');
    expect(cache.get('t', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts the least recently used entry when full', () => {
    const cache = new TokenCache<number>(2);
    cache.set('a', 1, 10);
    cache.set('b', 2, 10);
    expect(cache.get('a', 0)).toBe(1);
    cache.set('c', 3, 10);
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)).toBe(1);
    expect(cache.get('c', 0)).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('stores nothing with max 0', () => {
    const cache = new TokenCache<number>(0);
    cache.set('a', 1, 10);
    expect(cache.get('a', 0)).toBeUndefined();
  });

  it('replaces an entry stored twice without growing', () => {
    const cache = new TokenCache<number>(2);
    cache.set('a', 1, 10);
    cache.set('a', 2, 10);
    expect(cache.size).toBe(1);
    expect(cache.get('a', 0)).toBe(2);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
