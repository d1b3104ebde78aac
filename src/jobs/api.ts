import { URLExt } from '@jupyterlab/coreutils';

import { OrchestClient } from '../api';
import { AttemptSettings } from '../model/attempts';
import { IRunJSON } from '../model/runs';
import { IGridJSON } from './grid';

export type JobStatus =
  | 'DRAFT'
  | 'PENDING'
  | 'STARTED'
  | 'PAUSED'
  | 'SUCCESS'
  | 'ABORTED'
  | 'FAILURE';

/** A job as the REST API lists it. */
export interface IJobJSON {
  id: string;
  name: string;
  pipeline_uuid: string;
  pipeline_path: string;
  status: JobStatus;
  message: string;
  cron: string | null;
  timezone: string;
  start_at: string | null;
  next_fire_at: string | null;
  max_retained_runs: number;
  created_at: string | null;
  finished_at: string | null;
}

/** A run of a job: a run with its combination number, schedule slot and folder. */
export interface IJobRunJSON extends IRunJSON {
  number: number;
  slot: string | null;
  /** The run's copy of the project, relative to the server's root (a hidden folder). */
  folder: string;
}

/** A job read alone: with its grid, its coming slots and its runs. */
export interface IJobDetailJSON extends IJobJSON {
  grid: IGridJSON;
  env_variables: Record<string, string>;
  next_runs_at: string[];
  runs: IJobRunJSON[];
}

/** What the form sends to create a job. */
export interface INewJob {
  pipeline_path: string;
  name: string;
  parameters: IGridJSON;
  cron: string | null;
  timezone: string;
  start_at: string | null;
  env_variables: Record<string, string>;
  max_retained_runs: number;
  /** Retries, retry delay and timeout for the steps that do not set their own. */
  step_defaults: AttemptSettings;
}

export type JobAction = 'start' | 'pause' | 'resume' | 'cancel';

/** The jobs part of the server extension's REST API. */
export class JobsClient extends OrchestClient {
  listJobs(pipeline?: string): Promise<IJobJSON[]> {
    const query = pipeline ? URLExt.objectToQueryString({ pipeline }) : '';
    return this.request<{ jobs: IJobJSON[] }>(`jobs${query}`).then(
      body => body.jobs
    );
  }

  getJob(id: string): Promise<IJobDetailJSON> {
    return this.request<IJobDetailJSON>(`jobs/${id}`);
  }

  createJob(job: INewJob): Promise<IJobDetailJSON> {
    return this.request<IJobDetailJSON>('jobs', {
      method: 'POST',
      body: JSON.stringify(job)
    });
  }

  changeJob(id: string, action: JobAction): Promise<IJobDetailJSON> {
    return this.request<IJobDetailJSON>(`jobs/${id}/${action}`, {
      method: 'POST'
    });
  }

  deleteJob(id: string): Promise<unknown> {
    return this.request(`jobs/${id}`, { method: 'DELETE' });
  }

  /** A file of a job's run as the run left it; `path` is relative to the run's folder. */
  runFile(jobId: string, runId: string, path: string): Promise<string> {
    return this.requestText(
      `jobs/${jobId}/runs/${runId}/files/${URLExt.encodeParts(path)}`
    );
  }

  /** Copy a run's files into a new folder, where they make an editable project. */
  restoreRun(
    jobId: string,
    runId: string,
    folder: string
  ): Promise<{ folder: string }> {
    return this.request<{ folder: string }>(
      `jobs/${jobId}/runs/${runId}/restore`,
      { method: 'POST', body: JSON.stringify({ folder }) }
    );
  }

  jobDefaults(
    pipeline: string
  ): Promise<{ name: string; parameters: IGridJSON }> {
    const query = URLExt.objectToQueryString({ pipeline });
    return this.request(`job-defaults${query}`);
  }

  /** The next five slots of a schedule; refused with the reason when it is not valid. */
  previewSchedule(cron: string, timezone: string): Promise<string[]> {
    const query = URLExt.objectToQueryString({ cron, timezone });
    return this.request<{ next: string[] }>(`schedules/preview${query}`).then(
      body => body.next
    );
  }
}
