'use strict';
const { slugify } = require('./slugify');

// URL of a blog post, e.g. { year: 2024, title: 'Hi there' } -> '/posts/2024/hi-there'.
function postUrl(post) {
  return `/posts/${post.year}/${slugify(post.title)}`;
}

module.exports = { postUrl };
