'use strict';
const { CalcError } = require('./errors');
const { tokenize } = require('./lexer');

// Recursive-descent parser producing an AST:
//   { type: 'num', value } | { type: 'var', name } | { type: 'neg', arg }
//   | { type: 'bin', op, left, right }
// Grammar:
//   expr  := term (('+' | '-') term)*
//   term  := unary (('*' | '/') unary)*
//   unary := '-' unary | atom
//   atom  := NUMBER | NAME | '(' expr ')'
function parse(text) {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const isOp = (value) => peek().type === 'op' && peek().value === value;
  const expect = (value) => {
    if (!isOp(value)) throw new CalcError(`expected '${value}'`);
    pos += 1;
  };

  function expr() {
    let node = term();
    while (isOp('+') || isOp('-')) {
      const op = tokens[pos++].value;
      node = { type: 'bin', op, left: node, right: term() };
    }
    return node;
  }

  function term() {
    let node = unary();
    while (isOp('*') || isOp('/')) {
      const op = tokens[pos++].value;
      node = { type: 'bin', op, left: node, right: unary() };
    }
    return node;
  }

  function unary() {
    if (isOp('-')) {
      pos += 1;
      return { type: 'neg', arg: unary() };
    }
    return atom();
  }

  function atom() {
    const token = peek();
    if (token.type === 'num') {
      pos += 1;
      return { type: 'num', value: token.value };
    }
    if (token.type === 'name') {
      pos += 1;
      return { type: 'var', name: token.value };
    }
    if (isOp('(')) {
      pos += 1;
      const node = expr();
      expect(')');
      return node;
    }
    throw new CalcError(token.type === 'end' ? 'unexpected end of input' : `unexpected '${token.value}'`);
  }

  const tree = expr();
  if (peek().type !== 'end') throw new CalcError(`unexpected '${peek().value}'`);
  return tree;
}

module.exports = { parse };
