import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IRunJSON } from './model/runs';
import { ISessionJSON } from './model/sessions';
import { IStepFilesJSON } from './model/writtenFiles';

/** Where the server extension serves its REST API, under the server's base URL. */
export const API_ROOT = 'orchest/api';

/**
 * A validation issue, as the server reports it for a pipeline file.
 */
export interface IValidationIssue {
  /** JSON pointer into the definition, e.g. `/steps/<uuid>/file_path`. */
  pointer: string;
  message: string;
  rule: string;
  /** UUID of the step the issue is about, or null for the pipeline as a whole. */
  step: string | null;
}

/**
 * A pipeline file as the server reads it.
 */
export interface IPipelineFile {
  /** Path of the file relative to the server's root folder, as in the contents API. */
  path: string;
  /** Path of the project folder the pipeline belongs to. */
  project: string;
  /** The parsed definition, or null when the file is not valid JSON. */
  definition: Record<string, unknown> | null;
  valid: boolean;
  issues: IValidationIssue[];
}

/** A pipeline found in the workspace. */
export interface IPipelineSummary {
  path: string;
  project: string;
  name: string;
  uuid: string | null;
  valid: boolean;
}

/** What runs: every step, the selected steps, or the selected steps and their ancestors. */
export type RunType = 'all' | 'selection' | 'incoming';

export type BuildState =
  'PENDING' | 'BUILDING' | 'SUCCESS' | 'FAILURE' | 'ABORTED';

/** An environment of a project, with its latest build. */
export interface IEnvironment {
  uuid: string;
  name: string;
  base_image: string;
  language: string;
  gpu_support: boolean;
  setup_script: string;
  build: { number: number; state: BuildState; [key: string]: unknown } | null;
}

/** An environment as the server lists it: its latest build under either name. */
type IEnvironmentJSON = Omit<IEnvironment, 'build'> & {
  build?: IEnvironment['build'];
  latest_build?: IEnvironment['build'];
};

/** A page of a log: its bytes, and how long the whole log was when it was read. */
export interface ILogPage {
  bytes: Uint8Array;
  size: number;
}

/** The environment variables of a pipeline and of its project (names to values). */
export interface IPipelineVariables {
  project: string;
  project_env_variables: Record<string, string>;
  pipeline_path: string;
  pipeline_uuid: string;
  pipeline_env_variables: Record<string, string>;
}

/**
 * An error answered by the server extension, carrying the message it wrote for people.
 */
export class OrchestApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly issues: IValidationIssue[] = []
  ) {
    super(message);
    this.name = 'OrchestApiError';
  }
}

/**
 * Client of the server extension's REST API.
 */
export class OrchestClient {
  constructor(
    readonly serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  listPipelines(): Promise<IPipelineSummary[]> {
    return this.request<{ pipelines: IPipelineSummary[] }>('pipelines').then(
      body => body.pipelines
    );
  }

  /**
   * Create a pipeline file in `folder` (relative to the server's root, '' for the root).
   * The server derives a free file name from `name`.
   */
  createPipeline(folder: string, name: string): Promise<IPipelineFile> {
    return this.request<IPipelineFile>('pipelines', {
      method: 'POST',
      body: JSON.stringify({ folder, name })
    });
  }

  /**
   * Read a pipeline file with the issues the server's validation finds in it.
   */
  getPipeline(path: string): Promise<IPipelineFile> {
    return this.request<IPipelineFile>(`pipelines/${URLExt.encodeParts(path)}`);
  }

  /**
   * Validate a definition and write it to the file; refused (400, with the issues) when
   * the definition is not valid, leaving the file as it was.
   */
  savePipeline(path: string, definition: unknown): Promise<IPipelineFile> {
    return this.request<IPipelineFile>(
      `pipelines/${URLExt.encodeParts(path)}`,
      {
        method: 'PUT',
        body: JSON.stringify({ definition })
      }
    );
  }

  /** Start a run; `force` recomputes the steps instead of restoring them from the cache. */
  startRun(
    pipeline: string,
    type: RunType,
    steps: string[],
    force = false
  ): Promise<IRunJSON> {
    return this.request<IRunJSON>('runs', {
      method: 'POST',
      body: JSON.stringify({ pipeline, type, steps, force })
    });
  }

  listRuns(pipeline: string): Promise<IRunJSON[]> {
    const query = URLExt.objectToQueryString({ pipeline });
    return this.request<{ runs: IRunJSON[] }>(`runs${query}`).then(
      body => body.runs
    );
  }

  getRun(id: string): Promise<IRunJSON> {
    return this.request<IRunJSON>(`runs/${id}`);
  }

  cancelRun(id: string): Promise<IRunJSON> {
    return this.request<IRunJSON>(`runs/${id}/cancel`, { method: 'POST' });
  }

  /**
   * A page of a step's output in a run: at most `limit` bytes from byte `offset` on (a
   * page never cuts a character), and the size of the whole log.
   */
  async stepLog(
    runId: string,
    stepUuid: string,
    offset: number,
    limit: number
  ): Promise<ILogPage> {
    const query = URLExt.objectToQueryString({ offset, limit });
    const response = await this.fetch(
      `runs/${runId}/steps/${encodeURIComponent(stepUuid)}/log${query}`,
      {}
    );
    if (!response.ok) {
      throw apiError(response, await readJson(response));
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    const size = Number(response.headers.get('X-Orchest-Log-Size') ?? 0);
    return { bytes, size: Math.max(size, offset + bytes.length) };
  }

  /** The files a step wrote in a run (from its provenance), and why it was not cached. */
  stepProvenance(runId: string, stepUuid: string): Promise<IStepFilesJSON> {
    return this.request<IStepFilesJSON>(
      `runs/${runId}/steps/${encodeURIComponent(stepUuid)}/provenance`
    );
  }

  listEnvironments(project: string): Promise<IEnvironment[]> {
    const query = URLExt.objectToQueryString({ project });
    return this.request<{ environments: IEnvironmentJSON[] }>(
      `environments${query}`
    ).then(body =>
      body.environments.map(({ latest_build, ...environment }) => ({
        ...environment,
        build: environment.build ?? latest_build ?? null
      }))
    );
  }

  buildEnvironment(project: string, uuid: string): Promise<unknown> {
    const query = URLExt.objectToQueryString({ project });
    return this.request(
      `environments/${encodeURIComponent(uuid)}/builds${query}`,
      { method: 'POST' }
    );
  }

  buildLog(project: string, uuid: string, build: number): Promise<string> {
    const query = URLExt.objectToQueryString({ project });
    return this.requestText(
      `environments/${encodeURIComponent(uuid)}/builds/${build}/log${query}`
    );
  }

  /** The kernel a notebook's pipeline step runs in, when its environment has one. */
  kernelForNotebook(path: string): Promise<{ kernel_name: string | null }> {
    const query = URLExt.objectToQueryString({ path });
    return this.request<{ kernel_name: string | null }>(
      `environments/kernel${query}`
    );
  }

  /** The interactive sessions the server holds, of every pipeline. */
  listSessions(): Promise<ISessionJSON[]> {
    return this.request<{ sessions: ISessionJSON[] }>('pipeline-sessions').then(
      body => body.sessions
    );
  }

  /**
   * Start the pipeline's session (it launches in the background); answers the running one
   * when there is one already.
   */
  startSession(pipelinePath: string): Promise<ISessionJSON> {
    return this.request<ISessionJSON>('pipeline-sessions', {
      method: 'POST',
      body: JSON.stringify({ pipeline_path: pipelinePath })
    });
  }

  /** Stop the pipeline's session: its run, kernels and services. */
  async stopSession(pipelinePath: string): Promise<void> {
    await this.request(
      `pipeline-sessions/${URLExt.encodeParts(pipelinePath)}`,
      {
        method: 'DELETE'
      }
    );
  }

  /** The environment variables of a pipeline and of its project. */
  getVariables(pipelinePath: string): Promise<IPipelineVariables> {
    const query = URLExt.objectToQueryString({ pipeline: pipelinePath });
    return this.request<IPipelineVariables>(`env-variables${query}`);
  }

  /** Replace the project's and/or the pipeline's variables; the variables as saved. */
  saveVariables(
    pipelinePath: string,
    variables: Partial<
      Pick<
        IPipelineVariables,
        'project_env_variables' | 'pipeline_env_variables'
      >
    >
  ): Promise<IPipelineVariables> {
    const query = URLExt.objectToQueryString({ pipeline: pipelinePath });
    return this.request<IPipelineVariables>(`env-variables${query}`, {
      method: 'PUT',
      body: JSON.stringify(variables)
    });
  }

  protected async request<T>(
    endpoint: string,
    init: RequestInit = {}
  ): Promise<T> {
    const response = await this.fetch(endpoint, init);
    const body = await readJson(response);
    if (!response.ok) {
      throw apiError(response, body);
    }
    return body as T;
  }

  protected async requestText(endpoint: string): Promise<string> {
    const response = await this.fetch(endpoint, {});
    if (!response.ok) {
      throw apiError(response, await readJson(response));
    }
    return response.text();
  }

  private async fetch(endpoint: string, init: RequestInit): Promise<Response> {
    const url = URLExt.join(this.serverSettings.baseUrl, API_ROOT, endpoint);
    try {
      return await ServerConnection.makeRequest(url, init, this.serverSettings);
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text === '' ? null : JSON.parse(text);
  } catch {
    // Not our handlers (e.g. a proxy's HTML error page): the status tells the story.
    return null;
  }
}

function apiError(response: Response, body: unknown): OrchestApiError {
  const fields = (typeof body === 'object' && body !== null ? body : {}) as {
    message?: unknown;
    issues?: unknown;
  };
  const issues = Array.isArray(fields.issues)
    ? (fields.issues as IValidationIssue[])
    : [];
  if (typeof fields.message === 'string') {
    return new OrchestApiError(fields.message, response.status, issues);
  }
  const reason = response.statusText ? ` ${response.statusText}` : '';
  return new OrchestApiError(
    `The server answered ${response.status}${reason}.`,
    response.status,
    issues
  );
}
