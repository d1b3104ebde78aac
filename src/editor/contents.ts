import { TextModelFactory } from '@jupyterlab/docregistry';
import { Contents, IContentProvider } from '@jupyterlab/services';

import { OrchestApiError, OrchestClient } from '../api';
import { parsePipeline } from '../model/definition';

/** The content provider that saves pipeline files through the server's validation. */
export const PIPELINE_CONTENT_PROVIDER = 'orchest-pipeline';

/**
 * The document model of pipeline editors: text, like the file editor's, but a model of
 * its own, so that a pipeline open in the file editor too gets a context (and a save
 * path) of its own, and each view follows the other through the file on disk.
 */
export class PipelineModelFactory extends TextModelFactory {
  get name(): string {
    return 'orchest-pipeline';
  }
}

/**
 * Reads pipeline files like any file, and saves them with `PUT /orchest/api/pipelines`,
 * so that what the editor writes is always validated by the server first: an invalid
 * definition is refused with the reasons, and the file on disk is left as it was.
 */
export class PipelineContentProvider implements IContentProvider {
  constructor(
    private readonly drive: Contents.IDrive,
    private readonly client: OrchestClient
  ) {}

  get(
    localPath: string,
    options?: Contents.IFetchOptions
  ): Promise<Contents.IModel> {
    return this.drive.get(localPath, {
      ...options,
      contentProviderId: undefined
    });
  }

  async save(
    localPath: string,
    options: Partial<Contents.IModel> = {}
  ): Promise<Contents.IModel> {
    const parsed = parsePipeline(String(options.content ?? ''));
    if (!parsed.ok) {
      throw new Error(`The pipeline was not saved: ${parsed.message}`);
    }
    try {
      try {
        await this.client.savePipeline(localPath, parsed.pipeline);
      } catch (error) {
        if (!(error instanceof OrchestApiError && error.status === 404)) {
          throw error;
        }
        // "Save As" a new file: the server only replaces files that exist.
        await this.drive.save(localPath, options);
        await this.client.savePipeline(localPath, parsed.pipeline);
      }
    } catch (error) {
      if (error instanceof OrchestApiError && error.issues.length > 0) {
        const reasons = error.issues.map(issue => issue.message).join(' ');
        throw new Error(`The pipeline was not saved: ${reasons}`);
      }
      throw error;
    }
    return this.drive.get(localPath, { content: false });
  }
}
