import { describe, expect, it } from '@jest/globals';
import { LOOKUP_CHARS, TokenCache } from '../src/token-cache.js';

describe('TokenCache', () => {
  it('returns a value until its deadline', () => {
    const cache = new TokenCache<string>(10);
    cache.set('t', 'v', 1000);
    expect(cache.get('t', 999)).toBe('v');
    expect(cache.get('t', 1000)).toBeUndefined();
  });

  it('evicts the least recently used entry when full', () => {
    const cache = new TokenCache<number>(2, Infinity, { admission: false });
    cache.set('a', 1, 10);
    cache.set('b', 2, 10);
    expect(cache.get('a', 0)).toBe(1);
    cache.set('c', 3, 10);
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)).toBe(1);
    expect(cache.get('c', 0)).toBe(3);
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
    expect(cache.get('a', 0)).toBe(2);
    // Had the second `set` added an entry, this one would evict `a`.
    cache.set('b', 3, 10);
    expect(cache.get('a', 0)).toBe(2);
    expect(cache.get('b', 0)).toBe(3);
  });

  it('is bounded by bytes too: large tokens evict older entries long before the entry count is reached', () => {
    const cache = new TokenCache<number>(10_000, 40 * 1024, { admission: false });
    const large = (i: number) => `${'x'.repeat(16 * 1024)}.${i}`;
    for (let i = 0; i < 10; i++) cache.set(large(i), i, 100);
    const held = Array.from({ length: 10 }, (_, i) => cache.get(large(i), 0)).filter((v) => v !== undefined);
    // About 17 KB each: two fit in 40 KB, the rest were evicted oldest first.
    expect(held).toEqual([8, 9]);
  });

  it('does not keep a value larger than the whole byte budget', () => {
    const cache = new TokenCache<number>(10, 1024);
    cache.set('small', 1, 100);
    cache.set('x'.repeat(2048), 2, 100);
    expect(cache.get('x'.repeat(2048), 0)).toBeUndefined();
    expect(cache.get('small', 0)).toBe(1);
  });
});

describe('TokenCache lookup by the token tail', () => {
  const tail = 'S'.repeat(LOOKUP_CHARS);

  it('is a hit only for the whole token, not for another token ending alike', () => {
    const cache = new TokenCache<string>(10);
    cache.set(`genuine.${tail}`, 'genuine', 100);
    expect(cache.get(`forged.${tail}`, 0)).toBeUndefined();
    expect(cache.get(tail, 0)).toBeUndefined();
    expect(cache.get(`genuine.${tail}`, 0)).toBe('genuine');
  });

  it('keeps one entry per tail: a second token ending alike replaces the first', () => {
    const cache = new TokenCache<string>(10);
    cache.set(`a.${tail}`, 'a', 100);
    cache.set(`b.${tail}`, 'b', 100);
    expect(cache.get(`a.${tail}`, 0)).toBeUndefined();
    expect(cache.get(`b.${tail}`, 0)).toBe('b');
  });

  it('evicts and expires entries by their whole token', () => {
    const cache = new TokenCache<number>(1, Infinity, { admission: false });
    cache.set(`x.${tail}1`, 1, 100);
    cache.set(`x.${tail}2`, 2, 100);
    expect(cache.get(`x.${tail}1`, 0)).toBeUndefined();
    expect(cache.get(`x.${tail}2`, 100)).toBeUndefined();
  });
});

describe('TokenCache recency', () => {
  it('keeps the recently read entries through many evictions', () => {
    const cache = new TokenCache<number>(3, Infinity, { admission: false });
    cache.set('hot', 0, 100);
    for (let i = 0; i < 50; i++) {
      expect(cache.get('hot', 0)).toBe(0);
      cache.set(`cold-${i}`, i, 100);
    }
    expect(cache.get('hot', 0)).toBe(0);
    expect(cache.get('cold-49', 0)).toBe(49);
    expect(cache.get('cold-48', 0)).toBe(48);
    expect(cache.get('cold-47', 0)).toBeUndefined();
  });

  it('evicts in least-recently-used order after reads reorder the entries', () => {
    const cache = new TokenCache<string>(3, Infinity, { admission: false });
    cache.set('a', 'a', 100);
    cache.set('b', 'b', 100);
    cache.set('c', 'c', 100);
    cache.get('a', 0);
    cache.get('b', 0);
    cache.set('d', 'd', 100); // evicts c
    cache.set('e', 'e', 100); // evicts a
    expect([cache.get('a', 0), cache.get('b', 0), cache.get('c', 0), cache.get('d', 0), cache.get('e', 0)]).toEqual([
      undefined,
      'b',
      undefined,
      'd',
      'e',
    ]);
  });

  it('frees the slot of an expired entry when it is read', () => {
    const cache = new TokenCache<number>(2, Infinity, { admission: false });
    cache.set('a', 1, 10);
    cache.set('b', 2, 100);
    expect(cache.get('a', 50)).toBeUndefined();
    cache.set('c', 3, 100);
    expect(cache.get('b', 50)).toBe(2);
    expect(cache.get('c', 50)).toBe(3);
  });
});

describe('TokenCache admission', () => {
  /** Distinct tokens with distinct tails, like real signatures. */
  const token = (name: string) => `${name}.${name.padStart(LOOKUP_CHARS, 'x')}`;
  /** Stores `name` and reads it back once: a reused token. */
  const reuse = (cache: TokenCache<string>, name: string, expiresAt = 100) => {
    cache.set(token(name), name, expiresAt);
    expect(cache.get(token(name), 0)).toBe(name);
  };

  it('lets tokens used once displace only each other, never a reused one', () => {
    const cache = new TokenCache<string>(8);
    reuse(cache, 'a');
    reuse(cache, 'b');
    for (let i = 0; i < 100; i++) cache.set(token(`once-${i}`), 'once', 100);
    expect(cache.get(token('a'), 0)).toBe('a');
    expect(cache.get(token('b'), 0)).toBe('b');
    expect(cache.get(token('once-99'), 0)).toBe('once');
    expect(cache.get(token('once-98'), 0)).toBeUndefined();
    expect(cache.size).toBe(3);
  });

  it('keeps a token verified again after its first entry was displaced', () => {
    const cache = new TokenCache<string>(8);
    cache.set(token('x'), 'x', 100);
    cache.set(token('y'), 'y', 100); // displaces x
    expect(cache.get(token('x'), 0)).toBeUndefined();
    cache.set(token('x'), 'x', 100); // verified again: kept like a reused token
    for (let i = 0; i < 20; i++) cache.set(token(`once-${i}`), 'once', 100);
    expect(cache.get(token('x'), 0)).toBe('x');
  });

  it('forgets a token after 2 x max tokens used once', () => {
    const cache = new TokenCache<string>(2);
    cache.set(token('c'), 'c', 100);
    for (let i = 0; i < 4; i++) cache.set(token(`once-${i}`), 'once', 100);
    cache.set(token('c'), 'c', 100); // forgotten: a first verification again
    cache.set(token('once-4'), 'once', 100);
    expect(cache.get(token('c'), 0)).toBeUndefined();
  });

  it('when full of reused tokens, evicts the least recently used of them for a token verified twice', () => {
    const cache = new TokenCache<string>(2);
    reuse(cache, 'a');
    reuse(cache, 'b');
    cache.set(token('c'), 'c', 100);
    expect(cache.get(token('c'), 0)).toBeUndefined();
    expect(cache.size).toBe(2);
    cache.set(token('c'), 'c', 100);
    expect([cache.get(token('a'), 0), cache.get(token('b'), 0), cache.get(token('c'), 0)]).toEqual([
      undefined,
      'b',
      'c',
    ]);
  });

  it('drops expired entries to make room before evicting anything', () => {
    const cache = new TokenCache<string>(2);
    reuse(cache, 'a', 10);
    reuse(cache, 'b', 10);
    expect(cache.get(token('missing'), 50)).toBeUndefined(); // the clock moves past both deadlines
    cache.set(token('c'), 'c', 100);
    expect(cache.get(token('c'), 50)).toBe('c');
    expect(cache.size).toBe(1);
  });

  it('applies to the byte budget too', () => {
    const cache = new TokenCache<string>(100, 2 * (512 + token('a').length));
    reuse(cache, 'a');
    reuse(cache, 'b');
    cache.set(token('c'), 'c', 100);
    expect([cache.get(token('a'), 0), cache.get(token('b'), 0), cache.get(token('c'), 0)]).toEqual([
      'a',
      'b',
      undefined,
    ]);
  });

  it('is plain LRU without admission: a token used once evicts the least recently used entry', () => {
    const cache = new TokenCache<string>(2, Infinity, { admission: false });
    reuse(cache, 'a');
    reuse(cache, 'b');
    cache.set(token('c'), 'c', 100);
    expect([cache.get(token('a'), 0), cache.get(token('b'), 0), cache.get(token('c'), 0)]).toEqual([
      undefined,
      'b',
      'c',
    ]);
  });
});
