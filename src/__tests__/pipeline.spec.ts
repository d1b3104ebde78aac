import {
  buildPipelineView,
  IPipelineStep,
  orderSteps,
  parsePipelineDefinition,
  PipelineView,
  UNTITLED_PIPELINE,
  UNTITLED_STEP
} from '../pipeline';

/** A step as an Orchest file writes it; `parents` become `incoming_connections`. */
function orchestStep(uuid: string, title: string, parents?: string[]) {
  return {
    uuid,
    title,
    file_path: `${title.toLowerCase()}.ipynb`,
    ...(parents === undefined ? {} : { incoming_connections: parents }),
    environment: 'env-uuid',
    kernel: { name: 'python', display_name: 'Python 3' },
    parameters: {},
    meta_data: { hidden: false, position: [0, 0] }
  };
}

function orchestFile(
  name: string,
  steps: ReturnType<typeof orchestStep>[]
): string {
  const byUuid: Record<string, ReturnType<typeof orchestStep>> = {};
  for (const each of steps) {
    byUuid[each.uuid] = each;
  }
  return JSON.stringify({
    name,
    uuid: 'pipeline-uuid',
    version: '1.0.0',
    settings: {},
    parameters: {},
    services: {},
    steps: byUuid
  });
}

function step(uuid: string, parents: string[] = []): IPipelineStep {
  return { uuid, title: uuid, filePath: `${uuid}.py`, parents };
}

/** Fails the test unless the view shows a pipeline, so tests can read its fields. */
function pipelineOf(
  view: PipelineView
): Extract<PipelineView, { kind: 'pipeline' }> {
  if (view.kind !== 'pipeline') {
    throw new Error(`expected a pipeline view, got: ${view.message}`);
  }
  return view;
}

const checked = { status: 'checked', issues: [] } as const;

describe('parsePipelineDefinition', () => {
  it('reads name, steps, file paths and parents in file order', () => {
    const result = parsePipelineDefinition(
      orchestFile('ETL', [
        orchestStep('b', 'Load', ['a']),
        orchestStep('a', 'Extract', [])
      ])
    );
    expect(result).toEqual({
      ok: true,
      definition: {
        name: 'ETL',
        steps: [
          { uuid: 'b', title: 'Load', filePath: 'load.ipynb', parents: ['a'] },
          {
            uuid: 'a',
            title: 'Extract',
            filePath: 'extract.ipynb',
            parents: []
          }
        ]
      }
    });
  });

  it('gives a step without incoming_connections no parents', () => {
    const result = parsePipelineDefinition(
      orchestFile('P', [orchestStep('a', 'Alone')])
    );
    expect(result.ok && result.definition.steps[0].parents).toEqual([]);
  });

  it('explains malformed JSON instead of throwing', () => {
    const result = parsePipelineDefinition('{"name": "broken", "steps": {');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(
      /^The file is not valid JSON: /
    );
  });

  it.each([
    ['', 'The file is empty.'],
    ['  \n', 'The file is empty.'],
    ['[1, 2]', 'A pipeline definition must be a JSON object.'],
    ['"text"', 'A pipeline definition must be a JSON object.'],
    [
      '{"steps": []}',
      '"steps" must be a JSON object that maps step UUIDs to steps.'
    ],
    ['{"steps": {"x": 3}}', 'Step "x" must be a JSON object.']
  ])('rejects %j with a message', (text, message) => {
    expect(parsePipelineDefinition(text)).toEqual({ ok: false, message });
  });

  it('treats a definition without steps as an empty pipeline', () => {
    expect(parsePipelineDefinition('{"name": "Empty"}')).toEqual({
      ok: true,
      definition: { name: 'Empty', steps: [] }
    });
  });
});

describe('orderSteps', () => {
  it('orders a diamond parents first, ties in file order', () => {
    // a -> b, a -> c, b -> d, c -> d; listed child-first in the file.
    const order = orderSteps([
      step('d', ['b', 'c']),
      step('c', ['a']),
      step('b', ['a']),
      step('a')
    ]);
    expect(order).toEqual({
      ordered: ['a', 'c', 'b', 'd'],
      blocked: [],
      cycle: []
    });
  });

  it('places steps without parents first, in file order', () => {
    expect(
      orderSteps([step('x', ['y']), step('y'), step('z')]).ordered
    ).toEqual(['y', 'x', 'z']);
  });

  it('reports a cycle and blocks the steps on and after it', () => {
    // a -> b -> c -> a, c -> d; e stands alone.
    const order = orderSteps([
      step('a', ['c']),
      step('b', ['a']),
      step('c', ['b']),
      step('d', ['c']),
      step('e')
    ]);
    expect(order.ordered).toEqual(['e']);
    expect(order.blocked).toEqual(['a', 'b', 'c', 'd']);
    // Each step of the cycle is a parent of the next, the last of the first.
    expect(order.cycle).toHaveLength(3);
    const start = order.cycle.indexOf('a');
    const fromA = [...order.cycle.slice(start), ...order.cycle.slice(0, start)];
    expect(fromA).toEqual(['a', 'b', 'c']);
  });

  it('reports a step that is its own parent as a cycle', () => {
    expect(orderSteps([step('a', ['a'])])).toEqual({
      ordered: [],
      blocked: ['a'],
      cycle: ['a']
    });
  });

  it('ignores parents that are not steps of the pipeline', () => {
    expect(orderSteps([step('a', ['gone'])]).ordered).toEqual(['a']);
  });
});

describe('buildPipelineView', () => {
  it('lists steps in topological order with their parents by title', () => {
    const view = pipelineOf(
      buildPipelineView(
        orchestFile('Diamond', [
          orchestStep('d', 'Report', ['b', 'c']),
          orchestStep('b', 'Clean', ['a']),
          orchestStep('c', 'Features', ['a']),
          orchestStep('a', 'Load')
        ]),
        checked
      )
    );
    expect(view.name).toBe('Diamond');
    expect(view.cycle).toEqual([]);
    expect(view.steps).toEqual([
      {
        uuid: 'a',
        title: 'Load',
        filePath: 'load.ipynb',
        parents: [],
        blocked: false
      },
      {
        uuid: 'b',
        title: 'Clean',
        filePath: 'clean.ipynb',
        parents: ['Load'],
        blocked: false
      },
      {
        uuid: 'c',
        title: 'Features',
        filePath: 'features.ipynb',
        parents: ['Load'],
        blocked: false
      },
      {
        uuid: 'd',
        title: 'Report',
        filePath: 'report.ipynb',
        parents: ['Clean', 'Features'],
        blocked: false
      }
    ]);
  });

  it('names the cycle by step titles and lists blocked steps last', () => {
    const view = pipelineOf(
      buildPipelineView(
        orchestFile('Loop', [
          orchestStep('a', 'Ping', ['b']),
          orchestStep('b', 'Pong', ['a']),
          orchestStep('c', 'Free')
        ]),
        checked
      )
    );
    expect(view.steps.map(row => [row.title, row.blocked])).toEqual([
      ['Free', false],
      ['Ping', true],
      ['Pong', true]
    ]);
    expect([...view.cycle].sort()).toEqual(['Ping', 'Pong']);
  });

  it('shows a clear message for malformed JSON', () => {
    const view = buildPipelineView('{"steps": ', checked);
    expect(view.kind).toBe('malformed');
    expect(view.kind === 'malformed' && view.message).toMatch(/not valid JSON/);
  });

  it('falls back to readable names for untitled pipelines, steps and unknown parents', () => {
    const view = pipelineOf(
      buildPipelineView(
        JSON.stringify({
          steps: { s: { title: '', incoming_connections: ['ghost'] } }
        }),
        checked
      )
    );
    expect(view.name).toBe(UNTITLED_PIPELINE);
    expect(view.steps[0].title).toBe(UNTITLED_STEP);
    expect(view.steps[0].parents).toEqual([
      'ghost (not a step of this pipeline)'
    ]);
  });

  it('describes issues by step title, or by location for the pipeline', () => {
    const view = pipelineOf(
      buildPipelineView(orchestFile('P', [orchestStep('a', 'Train')]), {
        status: 'checked',
        issues: [
          {
            pointer: '/steps/a/file_path',
            message: 'train.ipynb does not exist.',
            rule: 'file-exists',
            step: 'a'
          },
          {
            pointer: '/version',
            message: 'Unknown version.',
            rule: 'schema',
            step: null
          },
          { pointer: '', message: 'Not an object.', rule: 'schema', step: null }
        ]
      })
    );
    expect(view.validation).toEqual({
      status: 'checked',
      issues: [
        { subject: 'Step "Train"', message: 'train.ipynb does not exist.' },
        { subject: '/version', message: 'Unknown version.' },
        { subject: 'Pipeline', message: 'Not an object.' }
      ]
    });
  });

  it('passes on a validation that is pending or unavailable', () => {
    const text = orchestFile('P', []);
    expect(
      pipelineOf(buildPipelineView(text, { status: 'checking' })).validation
    ).toEqual({
      status: 'checking'
    });
    const unavailable = {
      status: 'unavailable',
      message: 'Server gone.'
    } as const;
    expect(pipelineOf(buildPipelineView(text, unavailable)).validation).toEqual(
      unavailable
    );
  });
});
