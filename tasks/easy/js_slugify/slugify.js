'use strict';

// Turn a post title into a URL slug, e.g. "Hello World" -> "hello-world".
function slugify(title) {
  return title.toLowerCase().replace(' ', '-');
}

module.exports = { slugify };
