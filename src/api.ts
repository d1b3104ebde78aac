import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IValidationIssue } from './pipeline';

/** Where the server extension serves its REST API, under the server's base URL. */
const API_ROOT = 'orchest/api';

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

/**
 * An error answered by the server extension, carrying the message it wrote for people.
 */
export class OrchestApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'OrchestApiError';
  }
}

/**
 * Client of the server extension's pipeline resources.
 */
export class PipelinesClient {
  constructor(
    private readonly serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

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
    return this.request<IPipelineFile>(
      `pipelines/${URLExt.encodeParts(path)}`,
      {
        method: 'GET'
      }
    );
  }

  private async request<T>(endpoint: string, init: RequestInit): Promise<T> {
    const url = URLExt.join(this.serverSettings.baseUrl, API_ROOT, endpoint);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        init,
        this.serverSettings
      );
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    const body = await readJson(response);
    if (!response.ok) {
      throw new OrchestApiError(errorMessage(response, body), response.status);
    }
    return body as T;
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

function errorMessage(response: Response, body: unknown): string {
  if (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { message?: unknown }).message === 'string'
  ) {
    return (body as { message: string }).message;
  }
  const reason = response.statusText ? ` ${response.statusText}` : '';
  return `The server answered ${response.status}${reason}.`;
}
