import { describe, expect, it } from '@jest/globals';
import { normalizeHtu, requestUrl } from '../../src/binding/htu.js';

describe('normalizeHtu', () => {
  it.each([
    ['HTTPS://API.EXAMPLE.COM/orders', 'https://api.example.com/orders'],
    ['https://api.example.com:443/orders', 'https://api.example.com/orders'],
    ['http://api.example.com:80/orders', 'http://api.example.com/orders'],
    ['https://api.example.com:8443/orders', 'https://api.example.com:8443/orders'],
    ['http://api.example.com:443/', 'http://api.example.com:443/'],
    ['https://api.example.com', 'https://api.example.com/'],
    ['https://api.example.com/orders?page=2#top', 'https://api.example.com/orders'],
    ['https://api.example.com/orders/?', 'https://api.example.com/orders/'],
    ['https://api.example.com/%7euser/%41%2d', 'https://api.example.com/~user/A-'],
    ['https://api.example.com/a%2fb%3a%c3%a9', 'https://api.example.com/a%2Fb%3A%C3%A9'],
    ['https://api.example.com/é', 'https://api.example.com/%C3%A9'],
    ['https://api.example.com/a/./b/../c', 'https://api.example.com/a/c'],
    ['https://api.example.com/a/%2e%2E/c', 'https://api.example.com/c'],
    ['https://api.example.com/a/.%2e/c', 'https://api.example.com/c'],
    ['https://api.example.com/../../etc', 'https://api.example.com/etc'],
    ['https://bücher.example/x', 'https://xn--bcher-kva.example/x'],
    ['https://XN--BCHER-KVA.example/x', 'https://xn--bcher-kva.example/x'],
    ['https://[0:0::1]:443/x', 'https://[::1]/x'],
    ['https://127.0.0.1:3000/x', 'https://127.0.0.1:3000/x'],
  ])('normalises %s', (input, expected) => {
    expect(normalizeHtu(input)).toBe(expected);
  });

  it('makes equivalent spellings equal and different resources different', () => {
    expect(normalizeHtu('https://bücher.example:443/%7Ea')).toBe(normalizeHtu('HTTPS://xn--bcher-kva.EXAMPLE/~a'));
    expect(normalizeHtu('https://api.example.com/a%2Fb')).not.toBe(normalizeHtu('https://api.example.com/a/b'));
    expect(normalizeHtu('https://api.example.com/a')).not.toBe(normalizeHtu('https://api.example.com/a/'));
    expect(normalizeHtu('http://api.example.com/a')).not.toBe(normalizeHtu('https://api.example.com/a'));
  });

  it.each([
    ['userinfo', 'https://user:pass@api.example.com/'],
    ['a user name', 'https://user@api.example.com/'],
    ['empty userinfo', 'https://@api.example.com/'],
    ['userinfo in disguise', 'https://api.example.com:443@evil.example/'],
    ['a non-http scheme', 'ftp://api.example.com/'],
    ['a javascript URL', 'javascript:alert(1)//api.example.com/'],
    ['a relative URL', '/orders'],
    ['a scheme-relative URL', '//api.example.com/orders'],
    ['a special scheme without slashes', 'https:api.example.com/orders'],
    ['an empty authority', 'https:///api.example.com/orders'],
    ['a space', 'https://api.example.com/a b'],
    ['a tab the parser would strip', 'https://api.exa\tmple.com/'],
    ['CR/LF', 'https://api.example.com/\r\nx'],
    ['a NUL', 'https://api.example.com/\u0000'],
    ['a backslash the parser would rewrite', 'https://api.example.com\\evil.example/'],
    ['leading whitespace', ' https://api.example.com/'],
    ['an invalid port', 'https://api.example.com:99999/'],
    ['an invalid host', 'https://exa%20mple.com/'],
    ['an invalid IDN', 'https://xn--a.example/'],
    ['an empty string', ''],
    ['too long a URL', `https://api.example.com/${'a'.repeat(9000)}`],
    ['a non-string', 42],
    ['null', null],
  ])('refuses %s', (_name, input) => {
    expect(normalizeHtu(input)).toBeUndefined();
  });
});

describe('requestUrl', () => {
  it('joins the origin and the request target, then normalises', () => {
    expect(requestUrl('https://api.example.com', '/orders/7?page=2')).toBe('https://api.example.com/orders/7');
    expect(requestUrl('https://API.example.com:443/', '/a/%7eb')).toBe('https://api.example.com/a/~b');
    expect(requestUrl('http://127.0.0.1:54321', '/x')).toBe('http://127.0.0.1:54321/x');
    expect(requestUrl('http://[::1]:8080', '/x')).toBe('http://[::1]:8080/x');
    expect(requestUrl('http://internal_host', '/x')).toBe('http://internal_host/x');
  });

  it('keeps dots that are not whole segments, and dot segments in the query', () => {
    expect(requestUrl('https://api.example.com', '/a.b/..c/.../x?next=/../y')).toBe(
      'https://api.example.com/a.b/..c/.../x',
    );
  });

  it('appends a target that looks scheme-relative as a path on this origin', () => {
    expect(requestUrl('https://api.example.com', '//evil.example/x')).toBe('https://api.example.com//evil.example/x');
  });

  it.each([
    ['CR/LF', 'https://api.example.com\r\nX-Injected: 1'],
    ['a LF', 'https://api.example.com\nx'],
    ['a space', 'https://api.example.com evil.example'],
    ['userinfo', 'https://user@api.example.com'],
    ['an @ host', 'https://evil.example@api.example.com'],
    ['several hosts', 'https://api.example.com, evil.example'],
    ['several hosts without a space', 'https://api.example.com,evil.example'],
    ['a path', 'https://api.example.com/base'],
    ['a query', 'https://api.example.com?x'],
    ['a fragment', 'https://api.example.com#x'],
    ['a backslash', 'https://api.example.com\\evil.example'],
    ['a non-http scheme', 'ftp://api.example.com'],
    ['no scheme', 'api.example.com'],
    ['no host', 'https://'],
    ['a port that is not a number', 'https://api.example.com:https'],
    ['a port out of range', 'https://api.example.com:70000'],
    ['non-ASCII', 'https://bücher.example'],
    ['a percent-encoded host', 'https://api%2eexample.com'],
    ['an unclosed IPv6 literal', 'https://[::1'],
  ])('refuses an origin with %s', (_name, origin) => {
    expect(requestUrl(origin, '/')).toBeUndefined();
  });

  it.each([
    ['absolute-form', 'http://evil.example/x'],
    ['asterisk-form', '*'],
    ['empty', ''],
    ['a CR/LF', '/x\r\ny'],
    // Express routes the literal path: `/admin/../orders` must not pass for `/orders`.
    ['dot-dot segment', '/admin/../orders'],
    ['percent-encoded dot-dot segment', '/admin/%2E%2e/orders'],
    ['half-encoded dot-dot segment', '/admin/.%2E/orders'],
    ['dot segment', '/./orders'],
    ['trailing dot-dot segment', '/orders/..'],
  ])('refuses a %s request target', (_name, target) => {
    expect(requestUrl('https://api.example.com', target)).toBeUndefined();
  });
});
