/**
 * Interactive sessions as the server reports them, and how the lab keeps its list of them
 * right when the REST answers and the live events arrive in any order.
 */

export type SessionState =
  'LAUNCHING' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'FAILED';

/** An environment a session's steps use, with the kernels it keeps warm in it. */
export interface ISessionEnvironmentJSON {
  uuid: string;
  name: string;
  state: 'BUILDING' | 'READY' | 'FAILED';
  message: string;
  kernels: number;
}

/** A service of the pipeline, started with its session. */
export interface ISessionServiceJSON {
  name: string;
  image: string;
  command: string;
  scope: string[];
  state: 'STARTING' | 'RUNNING' | 'FAILED' | 'STOPPED';
  message: string;
  /** Where a browser reaches it. */
  urls: string[];
}

/** A pipeline's interactive session, as the REST API and the `session` events show it. */
export interface ISessionJSON {
  pipeline_path: string;
  pipeline_uuid: string;
  pipeline_name: string;
  project: string;
  state: SessionState;
  message: string;
  started_at: string;
  environments: ISessionEnvironmentJSON[];
  services: ISessionServiceJSON[];
}

/** The order a session goes through its states; FAILED and STOPPED are both last. */
const STATE_ORDER: Record<SessionState, number> = {
  LAUNCHING: 0,
  RUNNING: 1,
  STOPPING: 2,
  FAILED: 3,
  STOPPED: 3
};

/**
 * Whether `report` may replace `known`: it is about a later session, or about the same one
 * in the same or a later state. A start's answer can arrive after the events that followed
 * it; it must not take the session back to LAUNCHING.
 */
export function isNewerReport(
  known: ISessionJSON,
  report: ISessionJSON
): boolean {
  const knownStart = Date.parse(known.started_at);
  const reportStart = Date.parse(report.started_at);
  if (reportStart !== knownStart) {
    return reportStart > knownStart;
  }
  return STATE_ORDER[report.state] >= STATE_ORDER[known.state];
}

/**
 * The latest report of each pipeline's session, keyed by pipeline path, with `report`
 * applied when it is not older than what is known. Stopped sessions stay in the map so
 * that a late report of their start cannot bring them back.
 */
export function applySessionReport(
  known: ReadonlyMap<string, ISessionJSON>,
  report: ISessionJSON
): Map<string, ISessionJSON> {
  const next = new Map(known);
  const current = known.get(report.pipeline_path);
  if (current === undefined || isNewerReport(current, report)) {
    next.set(report.pipeline_path, report);
  }
  return next;
}

/**
 * What is known after reading the whole list: `listed` as the server answered it, merged
 * with `now`. Reports that arrived while the list was on its way (they differ from
 * `before`, what was known when it was asked for) may be newer than it, so they stay; a
 * session unchanged since and missing from the list is gone.
 */
export function mergeSessionList(
  before: ReadonlyMap<string, ISessionJSON>,
  now: ReadonlyMap<string, ISessionJSON>,
  listed: ISessionJSON[]
): Map<string, ISessionJSON> {
  let next = new Map(
    Array.from(now).filter(([path, session]) => before.get(path) !== session)
  );
  for (const session of listed) {
    next = applySessionReport(next, session);
  }
  return next;
}

/** The sessions to show: every one not stopped, by pipeline path. */
export function visibleSessions(
  known: ReadonlyMap<string, ISessionJSON>
): ISessionJSON[] {
  return Array.from(known.values())
    .filter(session => session.state !== 'STOPPED')
    .sort((a, b) => a.pipeline_path.localeCompare(b.pipeline_path));
}

/** What the toolbar's session control offers for a pipeline's session (or its absence). */
export type SessionAction = 'start' | 'stop' | 'wait';

export function sessionAction(session: ISessionJSON | null): SessionAction {
  switch (session?.state) {
    case 'LAUNCHING':
    case 'RUNNING':
      return 'stop';
    case 'STOPPING':
      return 'wait';
    default:
      return 'start';
  }
}

/** The warm kernels a session holds, over all its environments. */
export function warmKernels(session: ISessionJSON): number {
  return session.environments.reduce((sum, env) => sum + env.kernels, 0);
}
