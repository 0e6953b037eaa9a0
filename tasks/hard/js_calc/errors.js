'use strict';

// Every problem with an expression (syntax, unknown names, math) is a CalcError.
class CalcError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CalcError';
  }
}

module.exports = { CalcError };
