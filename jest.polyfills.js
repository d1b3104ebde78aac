// jsdom hides Node's structuredClone, which dagre (the layout) uses; Node's own
// serializer gives the same copies.
const v8 = require('v8');

if (typeof globalThis.structuredClone !== 'function') {
  globalThis.structuredClone = value => v8.deserialize(v8.serialize(value));
}
