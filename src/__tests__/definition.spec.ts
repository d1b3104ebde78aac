import {
  addStep,
  connectionsOf,
  moveSteps,
  parsePipeline,
  removeConnections,
  removeSteps,
  serializePipeline,
  stepFileFromPipeline,
  stepFileFromRoot,
  titleForFile,
  updateStep
} from '../model/definition';
import { pipelineOf, step } from './fixtures';

describe('parsePipeline', () => {
  it('reads a definition and keeps keys it does not know', () => {
    const text = JSON.stringify({ ...pipelineOf(step('a')), custom: { x: 1 } });
    const result = parsePipeline(text);
    expect(result.ok && result.pipeline.custom).toEqual({ x: 1 });
    expect(result.ok && Object.keys(result.pipeline.steps)).toEqual(['a']);
  });

  it.each([
    ['', 'The file is empty.'],
    ['[1]', 'A pipeline definition must be a JSON object.'],
    [
      '{"steps": []}',
      '"steps" must be a JSON object that maps step UUIDs to steps.'
    ],
    ['{"steps": {"x": 3}}', 'Step "x" must be a JSON object.'],
    [
      '{"steps": {"x": {"incoming_connections": [1]}}}',
      'The incoming connections of step "x" must be a list of step UUIDs.'
    ]
  ])('explains %j instead of throwing', (text, message) => {
    expect(parsePipeline(text)).toEqual({ ok: false, message });
  });

  it('explains malformed JSON', () => {
    const result = parsePipeline('{"name": ');
    expect(!result.ok && result.message).toMatch(
      /^The file is not valid JSON: /
    );
  });
});

describe('serializePipeline', () => {
  it('writes what Python json.dumps(indent=4, sort_keys=True) writes', () => {
    const text = serializePipeline({
      ...pipelineOf(step('b'), step('a', ['b'])),
      name: 'Café ☕',
      parameters: { list: [1, 2.5, true, null], empty: [], nested: {} }
    });
    // Keys sorted at every level, 4-space indents, ", " never used, non-ASCII escaped.
    expect(
      text.startsWith(
        '{\n    "name": "Caf\\u00e9 \\u2615",\n    "parameters": {\n'
      )
    ).toBe(true);
    expect(text).toContain(
      '"empty": [],\n        "list": [\n            1,\n            2.5,\n            true,\n            null\n        ],\n        "nested": {}'
    );
    expect(text.indexOf('"a": {')).toBeLessThan(text.indexOf('"b": {'));
    expect(text.endsWith('}')).toBe(true);
  });

  it('reads back to the same definition', () => {
    const pipeline = pipelineOf(step('a'), step('b', ['a']));
    const result = parsePipeline(serializePipeline(pipeline));
    expect(result.ok && result.pipeline).toEqual(pipeline);
  });
});

describe('edits', () => {
  const base = pipelineOf(step('a'), step('b', ['a']), step('c', ['a', 'b']));

  it('adds a step for a file, titled after it, at a whole-pixel position', () => {
    const added = addStep(base, {
      uuid: 'd',
      filePath: 'notebooks/train-model.ipynb',
      position: [10.4, 20.6],
      environment: 'env'
    });
    expect(added.steps.d).toMatchObject({
      uuid: 'd',
      title: 'train-model',
      file_path: 'notebooks/train-model.ipynb',
      incoming_connections: [],
      environment: 'env',
      meta_data: { hidden: false, position: [10, 21] }
    });
    expect(base.steps.d).toBeUndefined();
  });

  it('removes steps with every connection to them, sharing untouched steps', () => {
    const removed = removeSteps(base, ['b']);
    expect(Object.keys(removed.steps)).toEqual(['a', 'c']);
    expect(removed.steps.c.incoming_connections).toEqual(['a']);
    expect(removed.steps.a).toBe(base.steps.a);
  });

  it('lists and removes connections', () => {
    expect(connectionsOf(base)).toEqual([
      { parent: 'a', child: 'b' },
      { parent: 'a', child: 'c' },
      { parent: 'b', child: 'c' }
    ]);
    const removed = removeConnections(base, [{ parent: 'a', child: 'c' }]);
    expect(removed.steps.c.incoming_connections).toEqual(['b']);
    expect(removeConnections(base, [{ parent: 'c', child: 'a' }])).toBe(base);
  });

  it('moves steps and keeps their other meta data', () => {
    const pipeline = pipelineOf(
      step('a', [], {
        meta_data: { hidden: true, position: [0, 0], color: 'red' }
      })
    );
    const moved = moveSteps(pipeline, new Map([['a', [5.5, -3.2]]]));
    expect(moved.steps.a.meta_data).toEqual({
      hidden: true,
      position: [6, -3],
      color: 'red'
    });
  });

  it('updates a step without touching the others', () => {
    const updated = updateStep(base, 'b', {
      title: 'Clean',
      parameters: { low: 0 }
    });
    expect(updated.steps.b).toMatchObject({
      title: 'Clean',
      parameters: { low: 0 }
    });
    expect(updated.steps.a).toBe(base.steps.a);
    expect(updateStep(base, 'missing', { title: 'x' })).toBe(base);
  });

  it('sets and clears a step’s retries and timeout', () => {
    const set = updateStep(base, 'b', { retries: 2, timeout: 60 });
    expect(set.steps.b).toMatchObject({ retries: 2, timeout: 60 });
    const cleared = updateStep(set, 'b', { timeout: undefined });
    expect(cleared.steps.b.retries).toBe(2);
    expect('timeout' in cleared.steps.b).toBe(false);
  });
});

describe('step file paths', () => {
  it('names a step after its file', () => {
    expect(titleForFile('a/b/get-data.ipynb')).toBe('get-data');
  });

  it('resolves a step file from the pipeline folder to the server root', () => {
    expect(stepFileFromRoot('proj/pipelines/p.orchest', '../src/load.py')).toBe(
      'proj/src/load.py'
    );
    expect(stepFileFromRoot('p.orchest', 'load.py')).toBe('load.py');
  });

  it('gives a file its path from the pipeline folder, inside the project only', () => {
    expect(
      stepFileFromPipeline(
        'proj/pipelines/p.orchest',
        'proj',
        'proj/src/load.py'
      )
    ).toBe('../src/load.py');
    expect(
      stepFileFromPipeline('proj/p.orchest', 'proj', 'other/load.py')
    ).toBeNull();
    expect(stepFileFromPipeline('p.orchest', '', 'sub/load.py')).toBe(
      'sub/load.py'
    );
  });
});
