/**
 * Runs as the editor shows them: the states of a run's steps, kept up to date from the
 * server's live events, and durations in words.
 */

import { ISessionJSON } from './sessions';

export type StepState =
  'READY' | 'PENDING' | 'RUNNING' | 'COMPUTED' | 'ABORTED' | 'FAILURE';

export type RunState =
  'PENDING' | 'STARTED' | 'SUCCESS' | 'FAILURE' | 'ABORTED';

/** A step of a run, as the REST API answers it. */
export interface IStepRunJSON {
  uuid: string;
  title: string;
  file_path: string;
  state: StepState;
  message: string;
  started_at: string | null;
  finished_at: string | null;
  /** Whether its result was restored from the cache rather than computed. */
  cached?: boolean;
  /** Why it ran rather than being restored from the cache. */
  reasons?: string[];
  /** Which try of the step runs, or ran last, of how many it may have (live events only). */
  attempt?: number;
  attempts?: number;
}

/** A run, as the REST API answers it. */
export interface IRunJSON {
  id: string;
  pipeline_uuid: string;
  pipeline_path: string;
  type: 'all' | 'selection' | 'incoming';
  selection: string[];
  state: RunState;
  message: string;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  steps: IStepRunJSON[];
}

/** A live event from the server's event stream. */
export type OrchestEvent =
  | {
      type: 'run';
      run_id: string;
      pipeline_uuid: string;
      state: RunState;
      at: string;
      message: string;
    }
  | {
      type: 'step';
      run_id: string;
      pipeline_uuid: string;
      step_uuid: string;
      title: string;
      state: StepState;
      at: string;
      message: string;
      /** Sent when the step finished. */
      cached?: boolean;
      reasons?: string[];
      attempt?: number;
      attempts?: number;
    }
  | {
      type: 'log';
      run_id: string;
      pipeline_uuid: string;
      step_uuid: string;
      stream: 'stdout' | 'stderr';
      text: string;
      /** Where the text starts in the step's log, in bytes. */
      offset: number;
    }
  | {
      /** Log events this client missed (it read too slowly): read the log from `offset`. */
      type: 'log_skipped';
      run_id: string;
      pipeline_uuid: string;
      step_uuid: string;
      offset: number;
    }
  | { type: 'session'; session: ISessionJSON }
  | {
      type: 'build' | 'build_log' | 'build_log_skipped';
      [key: string]: unknown;
    };

/** The run states that mean the run is over. */
const FINISHED_RUN_STATES: readonly RunState[] = [
  'SUCCESS',
  'FAILURE',
  'ABORTED'
];

export function isRunActive(run: Pick<IRunJSON, 'state'> | null): boolean {
  return run !== null && !FINISHED_RUN_STATES.includes(run.state);
}

/**
 * How far along a state is. Within a run, a step and the run itself only move forward, so
 * news that is older than what is known (an event replayed, a reply read before the last
 * events) never takes a state back.
 */
const STEP_PROGRESS: Record<StepState, number> = {
  READY: 0,
  PENDING: 0,
  RUNNING: 1,
  COMPUTED: 2,
  ABORTED: 2,
  FAILURE: 2
};
const RUN_PROGRESS: Record<RunState, number> = {
  PENDING: 0,
  STARTED: 1,
  SUCCESS: 2,
  FAILURE: 2,
  ABORTED: 2
};

/**
 * The run after a live event; the same object when the event is about another run, or
 * older than what the run already says.
 *
 * A step event may be the first news of a step (the run was started elsewhere and its
 * steps not read yet): the step is added.
 */
export function applyRunEvent(run: IRunJSON, event: OrchestEvent): IRunJSON {
  if (event.type === 'run' && event.run_id === run.id) {
    if (RUN_PROGRESS[event.state] < RUN_PROGRESS[run.state]) {
      return run;
    }
    const finished = FINISHED_RUN_STATES.includes(event.state);
    return {
      ...run,
      state: event.state,
      message: event.message,
      started_at:
        run.started_at ?? (event.state === 'STARTED' ? event.at : null),
      finished_at: finished ? event.at : run.finished_at
    };
  }
  if (event.type === 'step' && event.run_id === run.id) {
    const current = run.steps.find(step => step.uuid === event.step_uuid);
    if (current && STEP_PROGRESS[event.state] < STEP_PROGRESS[current.state]) {
      return run;
    }
    const known = current !== undefined;
    const base: IStepRunJSON = {
      uuid: event.step_uuid,
      title: event.title,
      file_path: '',
      state: 'PENDING',
      message: '',
      started_at: null,
      finished_at: null
    };
    const update = (step: IStepRunJSON): IStepRunJSON => ({
      ...step,
      state: event.state,
      message: event.message,
      // A step starts once: its later tries do not restart its clock.
      started_at:
        event.state === 'RUNNING' && (event.attempt ?? 1) === 1
          ? event.at
          : step.started_at,
      finished_at: isStepFinished(event.state) ? event.at : step.finished_at,
      cached: event.cached ?? step.cached,
      reasons: event.reasons ?? step.reasons,
      attempt: event.attempt ?? step.attempt,
      attempts: event.attempts ?? step.attempts
    });
    return {
      ...run,
      steps: known
        ? run.steps.map(step =>
            step.uuid === event.step_uuid ? update(step) : step
          )
        : [...run.steps, update(base)]
    };
  }
  return run;
}

/**
 * Two readings of one run merged: each step, and the run, as the one further along says.
 * `next` wins ties: it is the newer reading.
 */
export function mergeRunReadings(known: IRunJSON, next: IRunJSON): IRunJSON {
  if (known.id !== next.id) {
    return next;
  }
  const before = new Map(known.steps.map(step => [step.uuid, step]));
  const steps = next.steps.map(step => {
    const old = before.get(step.uuid);
    return old && STEP_PROGRESS[old.state] > STEP_PROGRESS[step.state]
      ? old
      : step;
  });
  const runAhead = RUN_PROGRESS[known.state] > RUN_PROGRESS[next.state];
  return runAhead
    ? {
        ...next,
        steps,
        state: known.state,
        message: known.message,
        started_at: known.started_at,
        finished_at: known.finished_at
      }
    : { ...next, steps };
}

export function isStepFinished(state: StepState): boolean {
  return state === 'COMPUTED' || state === 'ABORTED' || state === 'FAILURE';
}

/** Seconds between two ISO moments, or until `now` when the end is not there yet. */
export function secondsBetween(
  start: string | null,
  end: string | null,
  now: number
): number | null {
  if (start === null) {
    return null;
  }
  const finish = end === null ? now : Date.parse(end);
  return Math.max(0, Math.floor((finish - Date.parse(start)) / 1000));
}

/** A duration in words short enough for a step's badge: `8 s`, `3 min 5 s`, `2 h 4 min`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) {
    return `${seconds} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${seconds % 60} s`;
  }
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** What a step's badge says: its state, with the time it has run while it runs. */
export function stepBadge(step: IStepRunJSON, now: number): string {
  let badge: string = step.state;
  if (step.state === 'RUNNING') {
    const seconds = secondsBetween(step.started_at, null, now) ?? 0;
    badge = `RUNNING ${formatDuration(seconds)}`;
  }
  const attempt = step.attempt ?? 1;
  return attempt > 1 ? `${badge} · try ${attempt}/${step.attempts}` : badge;
}
