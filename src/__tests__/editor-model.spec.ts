import { PipelineEditorModel } from '../editor/model';
import { serializePipeline } from '../model/definition';
import { UndoHistory } from '../model/history';
import { IRunJSON } from '../model/runs';
import { pipelineOf, step } from './fixtures';

function loaded(...steps: ReturnType<typeof step>[]): PipelineEditorModel {
  const model = new PipelineEditorModel();
  model.load(serializePipeline(pipelineOf(...steps)));
  return model;
}

describe('UndoHistory', () => {
  it('undoes and redoes in order, and a new edit drops the redo stack', () => {
    const history = new UndoHistory<number>();
    history.record(1);
    history.record(2);
    expect(history.undo(3)).toBe(2);
    expect(history.undo(2)).toBe(1);
    expect(history.undo(1)).toBeNull();
    expect(history.redo(1)).toBe(2);
    history.record(2);
    expect(history.canRedo).toBe(false);
  });

  it('joins quick edits with the same key into one', () => {
    let now = 0;
    const history = new UndoHistory<string>(() => now);
    history.record('', 'title');
    now += 500;
    history.record('L', 'title');
    now += 500;
    history.record('Lo', 'title');
    expect(history.undo('Loa')).toBe('');
    expect(history.canUndo).toBe(false);
    history.record('', 'title');
    now += 5000;
    history.record('x', 'title');
    expect(history.undo('xy')).toBe('x');
  });
});

describe('PipelineEditorModel', () => {
  it('undoes a deletion of a step together with its connections', () => {
    const model = loaded(step('a'), step('b', ['a']));
    const edits: string[] = [];
    model.edited.connect((_, pipeline) =>
      edits.push(Object.keys(pipeline.steps).join())
    );
    model.select(['a']);
    model.deleteSelection();
    expect(Object.keys(model.pipeline!.steps)).toEqual(['b']);
    expect(model.pipeline!.steps.b.incoming_connections).toEqual([]);
    expect(model.selection.size).toBe(0);

    model.undo();
    expect(model.pipeline!.steps.b.incoming_connections).toEqual(['a']);
    model.redo();
    expect(Object.keys(model.pipeline!.steps)).toEqual(['b']);
    expect(edits).toEqual(['b', 'a,b', 'b']);
  });

  it('deletes selected connections, not their steps', () => {
    const model = loaded(step('a'), step('b', ['a']));
    model.select([], ['a->b']);
    model.deleteSelection();
    expect(Object.keys(model.pipeline!.steps)).toEqual(['a', 'b']);
    expect(model.pipeline!.steps.b.incoming_connections).toEqual([]);
  });

  it('refuses a cycle with a notice and leaves the definition alone', () => {
    const model = loaded(step('a'), step('b', ['a']));
    const before = model.pipeline;
    expect(model.connect('b', 'a')).toBe(false);
    expect(model.pipeline).toBe(before);
    expect(model.notice).toMatchObject({ kind: 'error' });
    expect(model.notice!.text).toContain('cycle');
    expect(model.canUndo).toBe(false);
  });

  it('selects new steps, prunes the selection of deleted ones, selects all', () => {
    const model = loaded(step('a'));
    model.addSteps([
      { uuid: 'n1', filePath: 'x.py', position: [0, 0], environment: '' },
      { uuid: 'n2', filePath: 'y.py', position: [0, 100], environment: '' }
    ]);
    expect([...model.selection]).toEqual(['n1', 'n2']);
    model.undo();
    expect(model.selection.size).toBe(0);
    model.selectAll();
    expect([...model.selection]).toEqual(['a']);
  });

  it('makes one undo step of a drag and of typing a title', () => {
    const model = loaded(step('a'));
    model.moveSteps(new Map([['a', [10, 10]]]));
    model.moveSteps(new Map([['a', [20, 20]]]));
    model.updateStep('a', { title: 'L' });
    model.updateStep('a', { title: 'Lo' });
    model.undo();
    expect(model.pipeline!.steps.a.title).toBe('a');
    expect(model.pipeline!.steps.a.meta_data!.position).toEqual([20, 20]);
    model.undo();
    expect(model.pipeline!.steps.a.meta_data!.position).toEqual([0, 0]);
  });

  it('gives positions to steps that have none, and starts history afresh on load', () => {
    const model = loaded(step('a', [], { meta_data: {} }));
    expect(model.pipeline!.steps.a.meta_data!.position).toHaveLength(2);
    model.autoLayout();
    expect(model.canUndo).toBe(true);
    model.load(serializePipeline(pipelineOf(step('a'))));
    expect(model.canUndo).toBe(false);
  });

  it('shows why a file cannot be drawn', () => {
    const model = new PipelineEditorModel();
    model.load('{"steps": 4}');
    expect(model.pipeline).toBeNull();
    expect(model.parseError).toMatch(/steps/);
  });

  it('follows the events of the run it shows, and asks for others', () => {
    const model = loaded(step('a'));
    const run: IRunJSON = {
      id: 'r1',
      pipeline_uuid: 'pipeline-uuid',
      pipeline_path: 'p.orchest',
      type: 'all',
      selection: [],
      state: 'STARTED',
      message: '',
      created_at: null,
      started_at: null,
      finished_at: null,
      steps: []
    };
    model.setRun(run);
    const event = {
      type: 'step' as const,
      run_id: 'r1',
      pipeline_uuid: 'pipeline-uuid',
      step_uuid: 'a',
      title: 'a',
      state: 'RUNNING' as const,
      at: '2024-01-01T00:00:00Z',
      message: ''
    };
    expect(model.applyEvent(event)).toBe(true);
    expect(model.run!.steps[0]).toMatchObject({ uuid: 'a', state: 'RUNNING' });
    expect(model.applyEvent({ ...event, run_id: 'r2' })).toBe(false);
    expect(model.applyEvent({ ...event, pipeline_uuid: 'other' })).toBe(true);
    expect(model.run!.id).toBe('r1');
  });

  it('applies the events of a fast run that came before the reply starting it', () => {
    const model = loaded(step('a'), step('b', ['a']));
    const stepEvent = (uuid: string, state: 'RUNNING' | 'COMPUTED') => ({
      type: 'step' as const,
      run_id: 'fast',
      pipeline_uuid: 'pipeline-uuid',
      step_uuid: uuid,
      title: uuid,
      state,
      at: '2024-01-01T00:00:01Z',
      message: '',
      cached: true
    });
    const events = [
      stepEvent('a', 'RUNNING'),
      stepEvent('a', 'COMPUTED'),
      stepEvent('b', 'RUNNING'),
      stepEvent('b', 'COMPUTED'),
      {
        type: 'run' as const,
        run_id: 'fast',
        pipeline_uuid: 'pipeline-uuid',
        state: 'SUCCESS' as const,
        at: '2024-01-01T00:00:02Z',
        message: ''
      }
    ];
    for (const event of events) {
      expect(model.applyEvent(event)).toBe(false); // not shown yet
    }
    const pending = (uuid: string) => ({
      uuid,
      title: uuid,
      file_path: `${uuid}.ipynb`,
      state: 'PENDING' as const,
      message: '',
      started_at: null,
      finished_at: null
    });
    // The reply to the start, as the server wrote it before anything ran.
    model.setRun({
      id: 'fast',
      pipeline_uuid: 'pipeline-uuid',
      pipeline_path: 'p.orchest',
      type: 'all',
      selection: [],
      state: 'PENDING',
      message: '',
      created_at: null,
      started_at: null,
      finished_at: null,
      steps: [pending('a'), pending('b')]
    });
    expect(model.run!.state).toBe('SUCCESS');
    expect(model.run!.steps.map(s => [s.state, s.cached])).toEqual([
      ['COMPUTED', true],
      ['COMPUTED', true]
    ]);
    // A reading of the same run taken while it was under way takes no step back.
    model.setRun({
      ...model.run!,
      state: 'STARTED',
      steps: [{ ...pending('a'), state: 'RUNNING' }, pending('b')]
    });
    expect(model.run!.state).toBe('SUCCESS');
    expect(model.run!.steps.map(s => s.state)).toEqual([
      'COMPUTED',
      'COMPUTED'
    ]);
  });
});
