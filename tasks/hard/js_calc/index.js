'use strict';
const { CalcError } = require('./errors');
const { parse } = require('./parser');
const { evaluate } = require('./evaluate');

// calc('2 * (x + 1)', { x: 3 }) -> 8
function calc(text, vars = {}) {
  return evaluate(parse(text), vars);
}

module.exports = { calc, CalcError };
