// benchtui's jest configuration for Exercism JavaScript specs (see benchtui/engine/jest/__init__.py).
// It runs the specs unmodified: ES modules and extension-less imports through babel-jest, with babel's
// own configuration here rather than the exercise's babel.config.js (whose preset is not installed), and
// `xtest` run like `test`, as Exercism's CI does when it rewrites one into the other.
const path = require('path');

module.exports = {
  rootDir: process.cwd(),
  testEnvironment: 'node',
  testMatch: ['**/*.spec.[jt]s', '**/*.spec.mjs', '**/*.test.[jt]s'],
  testPathIgnorePatterns: ['/node_modules/'],
  transform: {
    '\\.[cm]?[jt]sx?$': [
      require.resolve('babel-jest'),
      {
        babelrc: false,
        configFile: false,
        presets: [[require.resolve('@babel/preset-env'), { targets: { node: 'current' } }]],
      },
    ],
  },
  setupFilesAfterEnv: [path.join(__dirname, 'xtest.js')],
  watchman: false,
};
