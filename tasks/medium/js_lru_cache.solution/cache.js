'use strict';

// A small key/value cache with least-recently-used eviction, used by memoize().
class Cache {
  constructor({ maxSize = Infinity } = {}) {
    if (!(maxSize === Infinity || (Number.isInteger(maxSize) && maxSize > 0))) {
      throw new RangeError(`maxSize must be a positive integer or Infinity, got ${maxSize}`);
    }
    this.maxSize = maxSize;
    this.map = new Map();
    this.hits = 0;
    this.misses = 0;
    this.evictions = 0;
  }

  get(key) {
    if (!this.map.has(key)) {
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    const value = this.map.get(key);
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  set(key, value) {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.maxSize) {
      this.map.delete(this.map.keys().next().value);
      this.evictions += 1;
    }
    return this;
  }

  has(key) {
    return this.map.has(key);
  }

  delete(key) {
    return this.map.delete(key);
  }

  get size() {
    return this.map.size;
  }

  stats() {
    return { hits: this.hits, misses: this.misses, evictions: this.evictions };
  }
}

module.exports = { Cache };
