'use strict';
const { CalcError } = require('./errors');

// Compute the value of an AST from parse(); vars maps names to numbers.
function evaluate(node, vars = {}) {
  switch (node.type) {
    case 'num':
      return node.value;
    case 'var':
      if (!Object.prototype.hasOwnProperty.call(vars, node.name)) {
        throw new CalcError(`unknown variable: ${node.name}`);
      }
      return vars[node.name];
    case 'neg':
      return -evaluate(node.arg, vars);
    case 'bin': {
      const left = evaluate(node.left, vars);
      const right = evaluate(node.right, vars);
      if (node.op === '+') return left + right;
      if (node.op === '-') return left - right;
      if (node.op === '*') return left * right;
      return left / right;
    }
    default:
      throw new CalcError(`unknown node type: ${node.type}`);
  }
}

module.exports = { evaluate };
