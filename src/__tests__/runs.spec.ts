import { formatParameters, parseParameters } from '../model/parameters';
import {
  applyRunEvent,
  formatDuration,
  IRunJSON,
  isRunActive,
  secondsBetween,
  stepBadge
} from '../model/runs';
import { indexStepFiles } from '../stepfiles';
import { pipelineOf, step } from './fixtures';

const run: IRunJSON = {
  id: 'r',
  pipeline_uuid: 'p',
  pipeline_path: 'p.orchest',
  type: 'all',
  selection: [],
  state: 'PENDING',
  message: '',
  created_at: '2024-01-01T00:00:00Z',
  started_at: null,
  finished_at: null,
  steps: [
    {
      uuid: 'a',
      title: 'A',
      file_path: 'a.py',
      state: 'PENDING',
      message: '',
      started_at: null,
      finished_at: null
    }
  ]
};

describe('applyRunEvent', () => {
  it('records when a step starts and ends', () => {
    const base = {
      type: 'step' as const,
      run_id: 'r',
      pipeline_uuid: 'p',
      step_uuid: 'a',
      title: 'A',
      message: ''
    };
    const running = applyRunEvent(run, {
      ...base,
      state: 'RUNNING',
      at: '2024-01-01T00:00:05Z'
    });
    expect(running.steps[0]).toMatchObject({
      state: 'RUNNING',
      started_at: '2024-01-01T00:00:05Z'
    });
    const done = applyRunEvent(running, {
      ...base,
      state: 'COMPUTED',
      at: '2024-01-01T00:00:09Z'
    });
    expect(done.steps[0]).toMatchObject({
      state: 'COMPUTED',
      started_at: '2024-01-01T00:00:05Z',
      finished_at: '2024-01-01T00:00:09Z'
    });
    expect(run.steps[0].state).toBe('PENDING');
  });

  it('adds steps it had not heard of and ends the run', () => {
    const added = applyRunEvent(run, {
      type: 'step',
      run_id: 'r',
      pipeline_uuid: 'p',
      step_uuid: 'b',
      title: 'B',
      state: 'PENDING',
      at: 'x',
      message: ''
    });
    expect(added.steps.map(s => s.uuid)).toEqual(['a', 'b']);
    const ended = applyRunEvent(added, {
      type: 'run',
      run_id: 'r',
      pipeline_uuid: 'p',
      state: 'FAILURE',
      at: '2024-01-01T00:01:00Z',
      message: 'Failed: b.'
    });
    expect(ended).toMatchObject({
      state: 'FAILURE',
      message: 'Failed: b.',
      finished_at: '2024-01-01T00:01:00Z'
    });
    expect(isRunActive(ended)).toBe(false);
    expect(isRunActive(run)).toBe(true);
  });

  it('never takes a step or the run back to an earlier state', () => {
    const done: IRunJSON = {
      ...run,
      state: 'SUCCESS',
      steps: [{ ...run.steps[0], state: 'COMPUTED' }]
    };
    const late = {
      type: 'step' as const,
      run_id: 'r',
      pipeline_uuid: 'p',
      step_uuid: 'a',
      title: 'A',
      state: 'RUNNING' as const,
      at: '2024-01-01T00:00:05Z',
      message: ''
    };
    expect(applyRunEvent(done, late)).toBe(done);
    const started = {
      type: 'run' as const,
      run_id: 'r',
      pipeline_uuid: 'p',
      state: 'STARTED' as const,
      at: '',
      message: ''
    };
    expect(applyRunEvent(done, started)).toBe(done);
  });

  it('ignores events of other runs and log lines', () => {
    expect(
      applyRunEvent(run, {
        type: 'run',
        run_id: 'other',
        pipeline_uuid: 'p',
        state: 'SUCCESS',
        at: '',
        message: ''
      })
    ).toBe(run);
    expect(
      applyRunEvent(run, {
        type: 'log',
        run_id: 'r',
        pipeline_uuid: 'p',
        step_uuid: 'a',
        stream: 'stdout',
        text: 'x',
        offset: 0
      })
    ).toBe(run);
  });
});

describe('durations', () => {
  it('says how long in words', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(59)).toBe('59 s');
    expect(formatDuration(185)).toBe('3 min 5 s');
    expect(formatDuration(7440)).toBe('2 h 4 min');
  });

  it('counts up to now while a step runs', () => {
    const start = '2024-01-01T00:00:00Z';
    const now = Date.parse(start) + 12_400;
    expect(secondsBetween(start, null, now)).toBe(12);
    expect(secondsBetween(start, '2024-01-01T00:00:03Z', now)).toBe(3);
    expect(secondsBetween(null, null, now)).toBeNull();
    expect(
      stepBadge({ ...run.steps[0], state: 'RUNNING', started_at: start }, now)
    ).toBe('RUNNING 12 s');
    expect(stepBadge({ ...run.steps[0], state: 'COMPUTED' }, now)).toBe(
      'COMPUTED'
    );
  });

  it('says which try a retried step is on, timed from its first', () => {
    const start = '2024-01-01T00:00:00Z';
    const running = applyRunEvent(run, {
      type: 'step',
      run_id: 'r',
      pipeline_uuid: 'p',
      step_uuid: 'a',
      title: 'A',
      state: 'RUNNING',
      at: start,
      message: '',
      attempt: 1,
      attempts: 3
    });
    const retried = applyRunEvent(running, {
      type: 'step',
      run_id: 'r',
      pipeline_uuid: 'p',
      step_uuid: 'a',
      title: 'A',
      state: 'RUNNING',
      at: '2024-01-01T00:00:05Z',
      message: 'Attempt 1 failed (a.py exited with code 1): trying again.',
      attempt: 2,
      attempts: 3
    });
    const now = Date.parse(start) + 7_000;
    expect(stepBadge(running.steps[0], now)).toBe('RUNNING 7 s');
    expect(stepBadge(retried.steps[0], now)).toBe('RUNNING 7 s · try 2/3');
    expect(retried.steps[0].message).toContain('trying again');
  });
});

describe('parseParameters', () => {
  it('accepts objects and an empty text', () => {
    expect(parseParameters('{"n": [1, 2]}')).toEqual({
      ok: true,
      value: { n: [1, 2] }
    });
    expect(parseParameters('  ')).toEqual({ ok: true, value: {} });
    expect(parseParameters(formatParameters({ a: 1 }))).toEqual({
      ok: true,
      value: { a: 1 }
    });
  });

  it('says what is wrong with anything else', () => {
    expect(parseParameters('{"n": ').ok).toBe(false);
    expect(parseParameters('[1]')).toEqual({
      ok: false,
      message: 'Parameters must be a JSON object, such as {"n_rows": 100}.'
    });
  });
});

describe('indexStepFiles', () => {
  it('maps each step file, from the server root, to the steps that run it', () => {
    const index = indexStepFiles([
      {
        path: 'proj/p.orchest',
        definition: pipelineOf(
          step('a'),
          step('b', [], { file_path: '../shared.py' })
        )
      },
      {
        path: 'q.orchest',
        definition: pipelineOf(step('c', [], { file_path: 'shared.py' }))
      }
    ]);
    expect(index.get('proj/a.ipynb')).toEqual([
      {
        pipelinePath: 'proj/p.orchest',
        pipelineName: 'P',
        stepUuid: 'a',
        title: 'a'
      }
    ]);
    expect(index.get('shared.py')?.map(s => s.stepUuid)).toEqual(['b', 'c']);
  });
});
