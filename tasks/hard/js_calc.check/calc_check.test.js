'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { calc, CalcError } = require('./index');

const throwsCalc = (text, message, vars) =>
  assert.throws(() => calc(text, vars), (err) => {
    assert.ok(err instanceof CalcError, `expected CalcError for ${text}, got ${err}`);
    if (message) assert.match(err.message, message);
    return true;
  });

test('existing arithmetic still works', () => {
  assert.equal(calc('1 + 2 * 3'), 7);
  assert.equal(calc('(1 + 2) * 3'), 9);
  assert.equal(calc('7 / 2'), 3.5);
  assert.equal(calc('-3 - -2'), -1);
  assert.equal(calc('.5 + 1.'), 1.5);
  assert.equal(calc('2 * (x + 1)', { x: 3 }), 8);
});

test('existing errors still work', () => {
  throwsCalc('x + 1', /^unknown variable: x$/);
  throwsCalc('1 +');
  throwsCalc('(1 + 2');
  throwsCalc('1 2');
  throwsCalc('3 $ 4');
});

test('power binds tighter than * and /', () => {
  assert.equal(calc('2 * 3 ^ 2'), 18);
  assert.equal(calc('2 ^ 3 * 2'), 16);
  assert.equal(calc('81 / 3 ^ 2'), 9);
  assert.equal(calc('1 + 2 ^ 2'), 5);
});

test('power is right-associative', () => {
  assert.equal(calc('2 ^ 3 ^ 2'), 512);
  assert.equal(calc('(2 ^ 3) ^ 2'), 64);
});

test('power and unary minus', () => {
  assert.equal(calc('-2 ^ 2'), -4);
  assert.equal(calc('(-2) ^ 2'), 4);
  assert.equal(calc('2 ^ -1'), 0.5);
  assert.equal(calc('2 ^ -x', { x: 2 }), 0.25);
  assert.equal(calc('x ^ 2', { x: 3 }), 9);
});

test('function calls', () => {
  assert.equal(calc('sqrt(16)'), 4);
  assert.equal(calc('abs(-2.5)'), 2.5);
  assert.equal(calc('min(3, 1, 2)'), 1);
  assert.equal(calc('max(7)'), 7);
  assert.equal(calc('max(1, min(4, 2^2), abs(-3))'), 4);
  assert.equal(calc('2 * sqrt(x + 5) ^ 2', { x: 4 }), 18);
  assert.equal(calc('-abs(-3)'), -3);
});

test('a name without parentheses is a variable', () => {
  assert.equal(calc('max + 1', { max: 2 }), 3);
  throwsCalc('sqrt', /^unknown variable: sqrt$/);
});

test('bad function calls', () => {
  throwsCalc('foo(1)', /^unknown function: foo$/);
  throwsCalc('sqrt()');
  throwsCalc('sqrt(1, 2)');
  throwsCalc('abs(1, 2)');
  throwsCalc('max()');
  throwsCalc('max(1,)');
  throwsCalc('max(1 2)');
  throwsCalc('min(1, 2');
});

test('division by zero', () => {
  throwsCalc('1 / 0', /^division by zero$/);
  throwsCalc('1 / (2 - 2)', /^division by zero$/);
  throwsCalc('x / y', /^division by zero$/, { x: 1, y: 0 });
});

test('no NaN or infinity results', () => {
  throwsCalc('sqrt(-1)');
  throwsCalc('0 ^ -1');
  throwsCalc('10 ^ 400');
  throwsCalc('(-8) ^ 0.5');
});
