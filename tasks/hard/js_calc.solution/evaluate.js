'use strict';
const { CalcError } = require('./errors');

// name -> [fewest arguments, most arguments, implementation]
const FUNCTIONS = {
  sqrt: [1, 1, Math.sqrt],
  abs: [1, 1, Math.abs],
  min: [1, Infinity, Math.min],
  max: [1, Infinity, Math.max],
};

function finite(value, what) {
  if (!Number.isFinite(value)) throw new CalcError(`${what} is not a finite number`);
  return value;
}

function call(node, vars) {
  if (!Object.prototype.hasOwnProperty.call(FUNCTIONS, node.name)) {
    throw new CalcError(`unknown function: ${node.name}`);
  }
  const [fewest, most, fn] = FUNCTIONS[node.name];
  if (node.args.length < fewest || node.args.length > most) {
    throw new CalcError(`wrong number of arguments for ${node.name}: ${node.args.length}`);
  }
  const args = node.args.map((arg) => evaluate(arg, vars));
  return finite(fn(...args), `${node.name}()`);
}

// Compute the value of an AST from parse(); vars maps names to numbers.
function evaluate(node, vars = {}) {
  switch (node.type) {
    case 'num':
      return finite(node.value, 'number');
    case 'var':
      if (!Object.prototype.hasOwnProperty.call(vars, node.name)) {
        throw new CalcError(`unknown variable: ${node.name}`);
      }
      return vars[node.name];
    case 'neg':
      return -evaluate(node.arg, vars);
    case 'call':
      return call(node, vars);
    case 'bin': {
      const left = evaluate(node.left, vars);
      const right = evaluate(node.right, vars);
      if (node.op === '+') return finite(left + right, 'sum');
      if (node.op === '-') return finite(left - right, 'difference');
      if (node.op === '*') return finite(left * right, 'product');
      if (node.op === '^') return finite(left ** right, 'power');
      if (right === 0) throw new CalcError('division by zero');
      return finite(left / right, 'quotient');
    }
    default:
      throw new CalcError(`unknown node type: ${node.type}`);
  }
}

module.exports = { evaluate };
