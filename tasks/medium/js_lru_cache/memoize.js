'use strict';
const { Cache } = require('./cache');

// Wrap a one-argument function so that repeated calls with the same
// argument are answered from a cache instead of calling fn again.
function memoize(fn, options = {}) {
  const cache = new Cache(options);
  const wrapped = (arg) => {
    if (cache.has(arg)) return cache.get(arg);
    const result = fn(arg);
    cache.set(arg, result);
    return result;
  };
  wrapped.cache = cache;
  return wrapped;
}

module.exports = { memoize };
