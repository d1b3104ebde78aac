// Jest runs the ES-module builds of @jupyterlab/* and friends through Babel (see jest.config.js).
module.exports = require('@jupyterlab/testing/lib/babel-config').default;
