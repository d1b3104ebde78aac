import {
  applySessionReport,
  ISessionJSON,
  isNewerReport,
  mergeSessionList,
  sessionAction,
  SessionState,
  visibleSessions,
  warmKernels
} from '../model/sessions';

function session(
  path: string,
  state: SessionState,
  startedAt = '2026-01-01T10:00:00+00:00',
  kernels = 0
): ISessionJSON {
  return {
    pipeline_path: path,
    pipeline_uuid: `uuid-${path}`,
    pipeline_name: path.replace('.orchest', ''),
    project: '',
    state,
    message: '',
    started_at: startedAt,
    environments: [
      { uuid: 'e', name: 'Python', state: 'READY', message: '', kernels }
    ],
    services: []
  };
}

const LATER = '2026-01-01T10:05:00+00:00';

describe('isNewerReport', () => {
  it('accepts the same session moving on, or the same state with new details', () => {
    expect(
      isNewerReport(session('a', 'LAUNCHING'), session('a', 'RUNNING'))
    ).toBe(true);
    expect(
      isNewerReport(
        session('a', 'RUNNING'),
        session('a', 'RUNNING', undefined, 1)
      )
    ).toBe(true);
    expect(
      isNewerReport(session('a', 'STOPPING'), session('a', 'STOPPED'))
    ).toBe(true);
    expect(isNewerReport(session('a', 'FAILED'), session('a', 'STOPPED'))).toBe(
      true
    );
  });

  it('refuses a late answer that would take a session back', () => {
    expect(
      isNewerReport(session('a', 'RUNNING'), session('a', 'LAUNCHING'))
    ).toBe(false);
    expect(
      isNewerReport(session('a', 'STOPPED'), session('a', 'LAUNCHING'))
    ).toBe(false);
  });

  it('orders different sessions of a pipeline by their start', () => {
    expect(
      isNewerReport(session('a', 'STOPPED'), session('a', 'LAUNCHING', LATER))
    ).toBe(true);
    expect(
      isNewerReport(session('a', 'LAUNCHING', LATER), session('a', 'RUNNING'))
    ).toBe(false);
  });
});

describe('applySessionReport', () => {
  it('adds, replaces and keeps sessions by pipeline path', () => {
    let known = applySessionReport(new Map(), session('b', 'LAUNCHING'));
    known = applySessionReport(known, session('a', 'RUNNING'));
    known = applySessionReport(known, session('b', 'RUNNING'));
    known = applySessionReport(known, session('b', 'LAUNCHING'));
    expect(
      Array.from(known.values()).map(s => [s.pipeline_path, s.state])
    ).toEqual([
      ['b', 'RUNNING'],
      ['a', 'RUNNING']
    ]);
  });

  it('does not change the map it was given', () => {
    const known = new Map([['a', session('a', 'RUNNING')]]);
    applySessionReport(known, session('a', 'STOPPED'));
    expect(known.get('a')?.state).toBe('RUNNING');
  });
});

describe('visibleSessions', () => {
  it('lists the sessions not stopped, by path', () => {
    let known = new Map<string, ISessionJSON>();
    for (const report of [
      session('z.orchest', 'RUNNING'),
      session('a.orchest', 'FAILED'),
      session('m.orchest', 'STOPPED')
    ]) {
      known = applySessionReport(known, report);
    }
    expect(visibleSessions(known).map(s => s.pipeline_path)).toEqual([
      'a.orchest',
      'z.orchest'
    ]);
  });
});

describe('mergeSessionList', () => {
  it('takes the list, dropping sessions it no longer has', () => {
    const before = new Map([
      ['a', session('a', 'RUNNING')],
      ['b', session('b', 'RUNNING')]
    ]);
    const merged = mergeSessionList(before, before, [
      session('b', 'RUNNING', undefined, 2)
    ]);
    expect(Array.from(merged.keys())).toEqual(['b']);
    expect(warmKernels(merged.get('b')!)).toBe(2);
  });

  it('keeps reports that arrived while the list was on its way', () => {
    const before = new Map<string, ISessionJSON>();
    // Started (and already running) after the list was asked for: not in it.
    const now = applySessionReport(before, session('a', 'RUNNING'));
    const merged = mergeSessionList(before, now, []);
    expect(merged.get('a')?.state).toBe('RUNNING');
  });

  it('does not let the list take a session back', () => {
    const before = new Map([['a', session('a', 'LAUNCHING')]]);
    const now = applySessionReport(before, session('a', 'RUNNING'));
    const merged = mergeSessionList(before, now, [session('a', 'LAUNCHING')]);
    expect(merged.get('a')?.state).toBe('RUNNING');
  });
});

describe('sessionAction', () => {
  it('offers start, stop, or waiting for the stop', () => {
    expect(sessionAction(null)).toBe('start');
    expect(sessionAction(session('a', 'LAUNCHING'))).toBe('stop');
    expect(sessionAction(session('a', 'RUNNING'))).toBe('stop');
    expect(sessionAction(session('a', 'STOPPING'))).toBe('wait');
    expect(sessionAction(session('a', 'FAILED'))).toBe('start');
    expect(sessionAction(session('a', 'STOPPED'))).toBe('start');
  });
});
