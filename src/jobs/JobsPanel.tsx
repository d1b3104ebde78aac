import { ReactWidget } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { historyIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import { useClock } from '../editor/hooks';
import { OrchestEvents } from '../events';
import {
  formatDuration,
  isRunActive,
  OrchestEvent,
  secondsBetween
} from '../model/runs';
import { TranslationContext, useTrans } from '../translation';
import {
  IJobDetailJSON,
  IJobJSON,
  IJobRunJSON,
  JobAction,
  JobStatus,
  JobsClient
} from './api';

/** How long the panel waits after a run event before reading the jobs again. */
const REFRESH_DEBOUNCE_MS = 300;

/** How often the panel reads the jobs while one may start runs on its own. */
const POLL_MS = 5000;

const LIVE_STATUSES: readonly JobStatus[] = ['PENDING', 'STARTED'];

export interface IJobsPanelOptions {
  trans: TranslationBundle;
  client: JobsClient;
  events: OrchestEvents;
  createJob: () => void;
  openRun: (job: IJobJSON, run: IJobRunJSON) => void;
  restoreRun: (job: IJobJSON, run: IJobRunJSON) => void;
}

/** The Jobs panel of the left sidebar: every job of the workspace, with its runs. */
export class JobsPanel extends ReactWidget {
  constructor(private readonly options: IJobsPanelOptions) {
    super();
    this.id = 'jp-orchest-jobs';
    this.addClass('jp-OrchestSidebar');
    this.addClass('jp-OrchestJobs');
    this.title.icon = historyIcon;
    this.title.caption = options.trans.__('Jobs');
  }

  /** Read the jobs again, e.g. after one was created. */
  refresh(): void {
    this.refreshed.emit();
  }

  protected render(): JSX.Element {
    return (
      <TranslationContext.Provider value={this.options.trans}>
        <JobsView {...this.options} refreshed={this.refreshed} />
      </TranslationContext.Provider>
    );
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.refreshed.emit();
  }

  private refreshed = new Signal<this, void>(this);
}

function JobsView(
  props: IJobsPanelOptions & { refreshed: ISignal<unknown, void> }
): JSX.Element {
  const { client, events, refreshed } = props;
  const trans = useTrans();
  const [jobs, setJobs] = React.useState<IJobJSON[]>([]);
  const [error, setError] = React.useState<string | null>(null);
  const [version, setVersion] = React.useState(0);
  const [expanded, setExpanded] = React.useState<string | null>(null);

  React.useEffect(() => {
    let timer = 0;
    const later = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(
        () => setVersion(value => value + 1),
        REFRESH_DEBOUNCE_MS
      );
    };
    const onEvent = (_: OrchestEvents, event: OrchestEvent) => {
      if (event.type === 'run' || event.type === 'step') {
        later();
      }
    };
    events.received.connect(onEvent);
    refreshed.connect(later);
    return () => {
      window.clearTimeout(timer);
      events.received.disconnect(onEvent);
      refreshed.disconnect(later);
    };
  }, [events, refreshed]);

  React.useEffect(() => {
    let current = true;
    client.listJobs().then(
      listed => {
        if (current) {
          setJobs(listed);
          setError(null);
        }
      },
      failure => current && setError((failure as Error).message)
    );
    return () => {
      current = false;
    };
  }, [client, version]);

  const live = jobs.some(job => LIVE_STATUSES.includes(job.status));
  React.useEffect(() => {
    if (!live) {
      return;
    }
    const timer = window.setInterval(
      () => setVersion(value => value + 1),
      POLL_MS
    );
    return () => window.clearInterval(timer);
  }, [live]);

  const act = async (job: IJobJSON, action: JobAction | 'delete') => {
    try {
      if (action === 'delete') {
        await client.deleteJob(job.id);
      } else {
        await client.changeJob(job.id, action);
      }
      setError(null);
    } catch (failure) {
      setError((failure as Error).message);
    }
    setVersion(value => value + 1);
  };

  return (
    <div className="jp-OrchestSidebar-content">
      <section
        className="jp-OrchestSidebar-section"
        aria-label={trans.__('Jobs')}
      >
        <header className="jp-OrchestSidebar-header">
          <h2>{trans.__('Jobs')}</h2>
          <button
            className="jp-OrchestSidebar-action"
            title={trans.__('Create a job of the open pipeline')}
            onClick={props.createJob}
          >
            {trans.__('Create Job')}
          </button>
        </header>
        {error && <p className="jp-OrchestSidebar-error">{error}</p>}
        {jobs.length === 0 && (
          <p className="jp-OrchestSidebar-empty">{trans.__('No jobs yet.')}</p>
        )}
        <ul className="jp-OrchestSidebar-list jp-OrchestJobs-list">
          {jobs.map(job => (
            <li key={job.id} className="jp-OrchestJobs-job">
              <div className="jp-OrchestJobs-row">
                <button
                  className="jp-OrchestSidebar-item"
                  aria-expanded={expanded === job.id}
                  title={trans.__('Show the runs of this job')}
                  onClick={() =>
                    setExpanded(expanded === job.id ? null : job.id)
                  }
                >
                  <span
                    className={`jp-OrchestSidebar-badge jp-mod-${job.status.toLowerCase()}`}
                  >
                    {job.status}
                  </span>
                  <span className="jp-OrchestSidebar-name">{job.name}</span>
                  <span className="jp-OrchestSidebar-detail">
                    {job.pipeline_path} · {scheduleWords(job, trans)}
                  </span>
                </button>
                <JobActions job={job} act={action => void act(job, action)} />
              </div>
              {job.message && (
                <p className="jp-OrchestJobs-message">{job.message}</p>
              )}
              {expanded === job.id && (
                <JobRuns {...props} job={job} version={version} />
              )}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

function scheduleWords(job: IJobJSON, trans: TranslationBundle): string {
  if (!job.cron) {
    return trans.__('once');
  }
  const next = job.next_fire_at
    ? trans.__(', next %1', new Date(job.next_fire_at).toLocaleString())
    : '';
  return `${job.cron} (${job.timezone})${next}`;
}

function JobActions(props: {
  job: IJobJSON;
  act: (action: JobAction | 'delete') => void;
}): JSX.Element {
  const trans = useTrans();
  const { status } = props.job;
  const button = (action: JobAction | 'delete', label: string) => (
    <button
      key={action}
      className="jp-OrchestSidebar-action"
      onClick={() => props.act(action)}
    >
      {label}
    </button>
  );
  return (
    <span className="jp-OrchestJobs-actions">
      {status === 'DRAFT' && button('start', trans.__('Start'))}
      {LIVE_STATUSES.includes(status) &&
        props.job.cron &&
        button('pause', trans.__('Pause'))}
      {status === 'PAUSED' && button('resume', trans.__('Resume'))}
      {[...LIVE_STATUSES, 'PAUSED', 'DRAFT'].includes(status) &&
        button('cancel', trans.__('Cancel'))}
      {button('delete', trans.__('Delete'))}
    </span>
  );
}

function JobRuns(
  props: IJobsPanelOptions & { job: IJobJSON; version: number }
): JSX.Element {
  const { client, job, version } = props;
  const trans = useTrans();
  const [detail, setDetail] = React.useState<IJobDetailJSON | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    let current = true;
    client.getJob(job.id).then(
      read => current && setDetail(read),
      failure => current && setError((failure as Error).message)
    );
    return () => {
      current = false;
    };
  }, [client, job.id, job.status, version]);
  const now = useClock(detail?.runs.some(isRunActive) ?? false);
  if (error) {
    return <p className="jp-OrchestSidebar-error">{error}</p>;
  }
  if (detail === null) {
    return <p className="jp-OrchestSidebar-empty">{trans.__('Reading…')}</p>;
  }
  return (
    <ul className="jp-OrchestSidebar-list jp-OrchestJobs-runs">
      {detail.runs.length === 0 && (
        <li className="jp-OrchestSidebar-empty">{trans.__('No runs yet.')}</li>
      )}
      {detail.runs.map(run => {
        const seconds = secondsBetween(run.started_at, run.finished_at, now);
        return (
          <li key={run.id}>
            <button
              className="jp-OrchestSidebar-item"
              title={trans.__('Open this run')}
              onClick={() => props.openRun(job, run)}
            >
              <span
                className={`jp-OrchestSidebar-badge jp-mod-${run.state.toLowerCase()}`}
              >
                {run.state}
              </span>
              <span className="jp-OrchestSidebar-name">
                {trans.__('Run %1', run.number + 1)}
              </span>
              <span className="jp-OrchestSidebar-detail">
                {run.slot ? new Date(run.slot).toLocaleString() : ''}
                {seconds !== null && ` · ${formatDuration(seconds)}`}
              </span>
            </button>
            {!isRunActive(run) && (
              <button
                className="jp-OrchestSidebar-action"
                title={trans.__(
                  'Copy the files of this run into a new folder you can edit'
                )}
                onClick={() => props.restoreRun(job, run)}
              >
                {trans.__('Copy…')}
              </button>
            )}
          </li>
        );
      })}
    </ul>
  );
}
