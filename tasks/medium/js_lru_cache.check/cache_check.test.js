'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Cache } = require('./cache');
const { memoize } = require('./memoize');

const keys = (cache) => ['a', 'b', 'c', 'd', 'e'].filter((k) => cache.has(k));

test('evicts the least recently set entry', () => {
  const cache = new Cache({ maxSize: 2 });
  cache.set('a', 1).set('b', 2).set('c', 3);
  assert.equal(cache.size, 2);
  assert.deepEqual(keys(cache), ['b', 'c']);
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.get('c'), 3);
});

test('get marks an entry as recently used', () => {
  const cache = new Cache({ maxSize: 2 });
  cache.set('a', 1);
  cache.set('b', 2);
  assert.equal(cache.get('a'), 1);
  cache.set('c', 3);
  assert.deepEqual(keys(cache), ['a', 'c']);
});

test('has does not mark an entry as used', () => {
  const cache = new Cache({ maxSize: 2 });
  cache.set('a', 1);
  cache.set('b', 2);
  assert.equal(cache.has('a'), true);
  cache.set('c', 3);
  assert.deepEqual(keys(cache), ['b', 'c']);
});

test('updating an existing key refreshes it and never evicts', () => {
  const cache = new Cache({ maxSize: 2 });
  cache.set('a', 1);
  cache.set('b', 2);
  cache.set('a', 10);
  assert.equal(cache.size, 2);
  assert.equal(cache.stats().evictions, 0);
  cache.set('c', 3);
  assert.deepEqual(keys(cache), ['a', 'c']);
  assert.equal(cache.get('a'), 10);
});

test('delete frees a slot', () => {
  const cache = new Cache({ maxSize: 2 });
  cache.set('a', 1).set('b', 2);
  assert.equal(cache.delete('a'), true);
  assert.equal(cache.delete('a'), false);
  cache.set('c', 3);
  assert.deepEqual(keys(cache), ['b', 'c']);
  assert.equal(cache.stats().evictions, 0);
});

test('stats counts hits, misses and evictions', () => {
  const cache = new Cache({ maxSize: 1 });
  assert.deepEqual(cache.stats(), { hits: 0, misses: 0, evictions: 0 });
  cache.get('x');
  cache.set('a', 1);
  cache.get('a');
  cache.get('a');
  cache.set('b', 2);
  cache.set('c', 3);
  cache.get('a');
  assert.deepEqual(cache.stats(), { hits: 2, misses: 2, evictions: 2 });
});

test('stored falsy values are hits', () => {
  const cache = new Cache({ maxSize: 3 });
  cache.set('zero', 0).set('empty', '').set('undef', undefined);
  assert.equal(cache.get('zero'), 0);
  assert.equal(cache.get('empty'), '');
  assert.equal(cache.get('undef'), undefined);
  assert.deepEqual(cache.stats(), { hits: 3, misses: 0, evictions: 0 });
});

test('no limit by default', () => {
  for (const cache of [new Cache(), new Cache({}), new Cache({ maxSize: Infinity })]) {
    for (let i = 0; i < 1000; i += 1) cache.set(i, i * i);
    assert.equal(cache.size, 1000);
    assert.equal(cache.get(0), 0);
    assert.equal(cache.stats().evictions, 0);
  }
});

test('bad maxSize throws RangeError', () => {
  for (const maxSize of [0, -1, 1.5, '10', NaN, null]) {
    assert.throws(() => new Cache({ maxSize }), RangeError, `maxSize ${maxSize}`);
  }
});

test('memoize keeps at most maxSize results', () => {
  const calls = [];
  const square = memoize((n) => { calls.push(n); return n * n; }, { maxSize: 2 });
  assert.equal(square(2), 4);
  assert.equal(square(3), 9);
  assert.equal(square(2), 4);
  assert.equal(square(4), 16);
  assert.equal(square.cache.size, 2);
  assert.equal(square(2), 4);
  assert.equal(square(3), 9);
  assert.deepEqual(calls, [2, 3, 4, 3]);
});

test('memoize without options is unbounded', () => {
  let count = 0;
  const double = memoize((n) => { count += 1; return 2 * n; });
  for (let i = 0; i < 50; i += 1) double(i);
  for (let i = 0; i < 50; i += 1) double(i);
  assert.equal(count, 50);
  assert.equal(double.cache.size, 50);
});
