'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { slugify } = require('./slugify');
const { postUrl } = require('./posts');

test('simple title', () => {
  assert.equal(slugify('Hello World'), 'hello-world');
});

test('every space is replaced', () => {
  assert.equal(slugify('a b c d'), 'a-b-c-d');
});

test('runs of separators collapse to one dash', () => {
  assert.equal(slugify('  Hello,   World! '), 'hello-world');
  assert.equal(slugify('one -- two __ three'), 'one-two-three');
});

test('no dashes at the ends', () => {
  assert.equal(slugify('--Hi--'), 'hi');
  assert.equal(slugify('...Why? '), 'why');
});

test('digits are kept', () => {
  assert.equal(slugify('Node 20 Release Notes'), 'node-20-release-notes');
});

test('accents are removed', () => {
  assert.equal(slugify('Café au Lait'), 'cafe-au-lait');
  assert.equal(slugify('Über Crème Brûlée'), 'uber-creme-brulee');
});

test('letters outside a-z that are not accented Latin ones are separators too', () => {
  assert.equal(slugify('Tokyo 東京 2024'), 'tokyo-2024');
  assert.equal(slugify('Ωmega_Point'), 'mega-point');
});

test('nothing usable gives an empty string', () => {
  assert.equal(slugify('!!!'), '');
  assert.equal(slugify(''), '');
});

test('already a slug stays the same', () => {
  assert.equal(slugify('already-a-slug'), 'already-a-slug');
});

test('postUrl uses the slug', () => {
  assert.equal(postUrl({ year: 2024, title: 'What’s New in 2024?' }), '/posts/2024/what-s-new-in-2024');
});
