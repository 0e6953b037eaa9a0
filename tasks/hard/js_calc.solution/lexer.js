'use strict';
const { CalcError } = require('./errors');

const OPERATORS = '+-*/^(),';

// Split an expression into tokens: { type: 'num' | 'name' | 'op' | 'end', value }.
function tokenize(text) {
  const tokens = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) {
      i += 1;
    } else if (/[0-9.]/.test(ch)) {
      const match = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)/.exec(text.slice(i));
      if (!match) throw new CalcError(`bad number at ${i}`);
      tokens.push({ type: 'num', value: Number(match[0]) });
      i += match[0].length;
    } else if (/[A-Za-z_]/.test(ch)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      tokens.push({ type: 'name', value: match[0] });
      i += match[0].length;
    } else if (OPERATORS.includes(ch)) {
      tokens.push({ type: 'op', value: ch });
      i += 1;
    } else {
      throw new CalcError(`unexpected character '${ch}' at ${i}`);
    }
  }
  tokens.push({ type: 'end', value: null });
  return tokens;
}

module.exports = { tokenize };
