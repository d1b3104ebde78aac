import { ReactWidget } from '@jupyterlab/apputils';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IEnvironment, IPipelineSummary, OrchestClient } from '../api';
import { useClock } from '../editor/hooks';
import { OrchestEvents } from '../events';
import { pipelineIcon } from '../icons';
import { TranslationContext, useTrans } from '../translation';
import { SessionStore } from '../sessions/store';
import { RefreshButton, Section, useSignalCount } from './common';
import { SessionsSection } from './SessionsSection';
import {
  formatDuration,
  isRunActive,
  IRunJSON,
  OrchestEvent,
  secondsBetween
} from '../model/runs';

/** The pipeline the sidebar shows runs and environments of: the editor last active. */
export interface ICurrentPipeline {
  path: string;
  uuid: string;
  project: string;
}

export interface ISidebarOptions {
  trans: TranslationBundle;
  client: OrchestClient;
  events: OrchestEvents;
  /** The pipeline of the editor last active, or null. */
  current: () => ICurrentPipeline | null;
  /** Emitted when the pipeline of `current` may have changed. */
  currentChanged: ISignal<unknown, unknown>;
  /** Emitted when pipeline files may have been added, removed or renamed. */
  pipelinesChanged: ISignal<unknown, unknown>;
  openPipeline: (path: string) => void;
  openRun: (run: IRunJSON) => void;
  openBuildLog: (project: string, environment: IEnvironment) => void;
  sessions: SessionStore;
  startSession: (path: string) => void;
  stopSession: (path: string) => void;
}

/**
 * The Orchest panel of the left sidebar: the pipelines of the workspace, the interactive
 * sessions, the runs of the open pipeline, and its project's environments.
 */
export class OrchestSidebar extends ReactWidget {
  constructor(private readonly options: ISidebarOptions) {
    super();
    this.id = 'jp-orchest-sidebar';
    this.addClass('jp-OrchestSidebar');
    this.title.icon = pipelineIcon;
    this.title.caption = options.trans.__('Pipelines');
  }

  protected render(): JSX.Element {
    return (
      <TranslationContext.Provider value={this.options.trans}>
        <SidebarView {...this.options} shown={this.shown} />
      </TranslationContext.Provider>
    );
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    // What the panel lists may have changed while it was hidden: read it again.
    this.shown.emit();
  }

  private shown = new Signal<this, void>(this);
}

/** Calls `onEvent` for each live event while mounted. */
function useEvents(
  events: OrchestEvents,
  onEvent: (event: OrchestEvent) => void
) {
  const latest = React.useRef(onEvent);
  latest.current = onEvent;
  React.useEffect(() => {
    const slot = (_: OrchestEvents, event: OrchestEvent) =>
      latest.current(event);
    events.received.connect(slot);
    return () => {
      events.received.disconnect(slot);
    };
  }, [events]);
}

/** A value read from the server, read again when `refresh` or `deps` change. */
function useLoaded<T>(
  load: () => Promise<T>,
  deps: React.DependencyList
): { value: T | null; error: string | null } {
  const [state, setState] = React.useState<{
    value: T | null;
    error: string | null;
  }>({
    value: null,
    error: null
  });
  React.useEffect(() => {
    let current = true;
    load().then(
      value => current && setState({ value, error: null }),
      error =>
        current && setState({ value: null, error: (error as Error).message })
    );
    return () => {
      current = false;
    };
  }, deps);
  return state;
}

function SidebarView(
  props: ISidebarOptions & { shown: ISignal<unknown, void> }
): JSX.Element {
  const currentVersion = useSignalCount(props.currentChanged);
  const current = React.useMemo(() => props.current(), [currentVersion]);
  const shown = useSignalCount(props.shown);
  const sectionProps = { ...props, pipeline: current, shown };
  return (
    <div className="jp-OrchestSidebar-content">
      <PipelinesSection {...sectionProps} />
      <SessionsSection
        sessions={props.sessions}
        currentPath={current?.path ?? null}
        startSession={props.startSession}
        stopSession={props.stopSession}
        openPipeline={props.openPipeline}
      />
      <RunsSection {...sectionProps} />
      <EnvironmentsSection {...sectionProps} />
    </div>
  );
}

type SectionProps = ISidebarOptions & {
  pipeline: ICurrentPipeline | null;
  /** Grows each time the panel is shown. */
  shown: number;
};

function PipelinesSection(props: SectionProps): JSX.Element {
  const trans = useTrans();
  const changed = useSignalCount(props.pipelinesChanged);
  const [refresh, setRefresh] = React.useState(0);
  const { value, error } = useLoaded<IPipelineSummary[]>(
    () => props.client.listPipelines(),
    [changed, refresh, props.shown]
  );
  return (
    <Section
      title={trans.__('Pipelines')}
      actions={<RefreshButton onClick={() => setRefresh(refresh + 1)} />}
    >
      {error && <p className="jp-OrchestSidebar-error">{error}</p>}
      {value?.length === 0 && (
        <p className="jp-OrchestSidebar-empty">
          {trans.__('No pipelines yet: File > New > Pipeline makes one.')}
        </p>
      )}
      <ul className="jp-OrchestSidebar-list">
        {value?.map(pipeline => (
          <li
            key={pipeline.path}
            className={
              props.pipeline?.path === pipeline.path
                ? 'jp-mod-current'
                : undefined
            }
          >
            <button
              className="jp-OrchestSidebar-item"
              title={pipeline.path}
              onClick={() => props.openPipeline(pipeline.path)}
            >
              <span className="jp-OrchestSidebar-name">{pipeline.name}</span>
              <span className="jp-OrchestSidebar-detail">{pipeline.path}</span>
              {!pipeline.valid && (
                <span className="jp-OrchestSidebar-badge jp-mod-failure">
                  {trans.__('invalid')}
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function RunsSection(props: SectionProps): JSX.Element {
  const trans = useTrans();
  const { pipeline: current, client } = props;
  const [refresh, setRefresh] = React.useState(0);
  useEvents(props.events, event => {
    if (event.type === 'run' && event.pipeline_uuid === current?.uuid) {
      setRefresh(value => value + 1);
    }
  });
  const { value, error } = useLoaded<IRunJSON[]>(
    () => (current ? client.listRuns(current.path) : Promise.resolve([])),
    [current?.path, refresh, props.shown]
  );
  const runs = value ?? [];
  const now = useClock(runs.some(isRunActive));
  return (
    <Section
      title={current ? trans.__('Runs of %1', current.path) : trans.__('Runs')}
      actions={<RefreshButton onClick={() => setRefresh(refresh + 1)} />}
    >
      {current === null && (
        <p className="jp-OrchestSidebar-empty">
          {trans.__('Open a pipeline to see its runs.')}
        </p>
      )}
      {error && <p className="jp-OrchestSidebar-error">{error}</p>}
      {current !== null && value?.length === 0 && (
        <p className="jp-OrchestSidebar-empty">{trans.__('No runs yet.')}</p>
      )}
      <ul className="jp-OrchestSidebar-list jp-OrchestSidebar-runs">
        {runs.map(run => {
          const seconds = secondsBetween(run.started_at, run.finished_at, now);
          return (
            <li key={run.id}>
              <button
                className="jp-OrchestSidebar-item"
                title={trans.__('Open this run')}
                onClick={() => props.openRun(run)}
              >
                <span
                  className={`jp-OrchestSidebar-badge jp-mod-${run.state.toLowerCase()}`}
                >
                  {run.state}
                </span>
                <span className="jp-OrchestSidebar-name">
                  {run.created_at
                    ? new Date(run.created_at).toLocaleString()
                    : run.id}
                </span>
                <span className="jp-OrchestSidebar-detail">
                  {runTypeWords(run, trans)}
                  {seconds !== null && ` · ${formatDuration(seconds)}`}
                </span>
              </button>
              {isRunActive(run) && (
                <button
                  className="jp-OrchestSidebar-action"
                  onClick={() => void client.cancelRun(run.id)}
                >
                  {trans.__('Cancel')}
                </button>
              )}
            </li>
          );
        })}
      </ul>
    </Section>
  );
}

function runTypeWords(run: IRunJSON, trans: TranslationBundle): string {
  const count = run.steps.length;
  switch (run.type) {
    case 'all':
      return trans._n('all %1 step', 'all %1 steps', count);
    case 'selection':
      return trans._n('selected: %1 step', 'selected: %1 steps', count);
    case 'incoming':
      return trans._n('incoming: %1 step', 'incoming: %1 steps', count);
  }
}

function EnvironmentsSection(props: SectionProps): JSX.Element {
  const trans = useTrans();
  const { pipeline: current, client } = props;
  const [refresh, setRefresh] = React.useState(0);
  const [buildError, setBuildError] = React.useState<string | null>(null);
  useEvents(props.events, event => {
    if (event.type === 'build') {
      setRefresh(value => value + 1);
    }
  });
  const project = current?.project ?? null;
  const { value, error } = useLoaded<IEnvironment[]>(
    () =>
      project === null ? Promise.resolve([]) : client.listEnvironments(project),
    [project, refresh, props.shown]
  );
  const build = async (environment: IEnvironment) => {
    setBuildError(null);
    try {
      await client.buildEnvironment(project ?? '', environment.uuid);
      setRefresh(count => count + 1);
    } catch (failure) {
      setBuildError((failure as Error).message);
    }
  };
  return (
    <Section
      title={trans.__('Environments')}
      actions={<RefreshButton onClick={() => setRefresh(refresh + 1)} />}
    >
      {project === null && (
        <p className="jp-OrchestSidebar-empty">
          {trans.__('Open a pipeline to see its project’s environments.')}
        </p>
      )}
      {error && (
        <p className="jp-OrchestSidebar-error">
          {trans.__('Environments are not available: %1', error)}
        </p>
      )}
      {buildError && <p className="jp-OrchestSidebar-error">{buildError}</p>}
      {project !== null && value?.length === 0 && (
        <p className="jp-OrchestSidebar-empty">
          {trans.__('This project has no environments.')}
        </p>
      )}
      <ul className="jp-OrchestSidebar-list">
        {value?.map(environment => {
          const state = environment.build?.state ?? 'NOT BUILT';
          const busy = state === 'PENDING' || state === 'BUILDING';
          return (
            <li key={environment.uuid}>
              <div
                className="jp-OrchestSidebar-item"
                title={environment.base_image}
              >
                <span
                  className={`jp-OrchestSidebar-badge jp-mod-${state.toLowerCase().replace(' ', '-')}`}
                >
                  {state}
                </span>
                <span className="jp-OrchestSidebar-name">
                  {environment.name}
                </span>
                <span className="jp-OrchestSidebar-detail">
                  {environment.language} · {environment.base_image}
                </span>
              </div>
              <button
                className="jp-OrchestSidebar-action"
                disabled={busy}
                onClick={() => void build(environment)}
              >
                {trans.__('Build')}
              </button>
              {environment.build && project !== null && (
                <button
                  className="jp-OrchestSidebar-action"
                  onClick={() => props.openBuildLog(project, environment)}
                >
                  {trans.__('Log')}
                </button>
              )}
            </li>
          );
        })}
      </ul>
    </Section>
  );
}
