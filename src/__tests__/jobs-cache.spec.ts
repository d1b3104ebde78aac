import { applyRunEvent, IRunJSON } from '../model/runs';

const run: IRunJSON = {
  id: 'r',
  pipeline_uuid: 'p',
  pipeline_path: 'p.orchest',
  type: 'all',
  selection: [],
  state: 'STARTED',
  message: '',
  created_at: null,
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

const finished = (cached: boolean, reasons: string[]) => ({
  type: 'step' as const,
  run_id: 'r',
  pipeline_uuid: 'p',
  step_uuid: 'a',
  title: 'A',
  state: 'COMPUTED' as const,
  at: '2026-01-01T00:00:00Z',
  message: '',
  cached,
  reasons
});

describe('the cache in a run as its events arrive', () => {
  it('marks a step restored from the cache', () => {
    const step = applyRunEvent(run, finished(true, [])).steps[0];
    expect(step.cached).toBe(true);
    expect(step.reasons).toEqual([]);
  });

  it('keeps why a step ran again', () => {
    const reasons = ['parameter `alpha` changed from 0.1 to 0.2'];
    const step = applyRunEvent(run, finished(false, reasons)).steps[0];
    expect(step.cached).toBe(false);
    expect(step.reasons).toEqual(reasons);
  });

  it('keeps what it knew when an event does not say', () => {
    const known = applyRunEvent(run, finished(true, [])).steps[0];
    const silent = {
      type: 'step' as const,
      run_id: 'r',
      pipeline_uuid: 'p',
      step_uuid: 'a',
      title: 'A',
      state: 'COMPUTED' as const,
      at: '2026-01-01T00:00:01Z',
      message: ''
    };
    const after = applyRunEvent({ ...run, steps: [known] }, silent).steps[0];
    expect(after.cached).toBe(true);
  });
});
