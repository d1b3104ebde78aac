/**
 * Which files of the workspace are steps of which pipelines, for the file browser's
 * context menu ("Run Step", "Run Step with Incoming").
 */

import { OrchestClient } from './api';
import {
  IPipelineJSON,
  isObject,
  stepFileFromRoot,
  stepsOf
} from './model/definition';

/** A step of a pipeline that runs a given file. */
export interface IStepOfFile {
  pipelinePath: string;
  pipelineName: string;
  stepUuid: string;
  title: string;
}

/**
 * Map every step file (path from the server's root) to the steps that run it.
 */
export function indexStepFiles(
  pipelines: ReadonlyArray<{ path: string; definition: IPipelineJSON }>
): Map<string, IStepOfFile[]> {
  const index = new Map<string, IStepOfFile[]>();
  for (const { path, definition } of pipelines) {
    for (const step of stepsOf(definition)) {
      if (!step.file_path) {
        continue;
      }
      const file = stepFileFromRoot(path, step.file_path);
      const steps = index.get(file) ?? [];
      steps.push({
        pipelinePath: path,
        pipelineName: definition.name,
        stepUuid: step.uuid,
        title: step.title
      });
      index.set(file, steps);
    }
  }
  return index;
}

/**
 * The index of step files, read from the server and read again on demand (debounced),
 * so that context menus can ask synchronously.
 */
export class StepFiles {
  constructor(private readonly client: OrchestClient) {}

  /** The steps that run a file, as last read. */
  stepsOf(path: string): readonly IStepOfFile[] {
    return this.index.get(path) ?? [];
  }

  /** Read the pipelines again, shortly (several requests in a row make one read). */
  refresh(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.read(), 500);
  }

  async read(): Promise<void> {
    try {
      const summaries = await this.client.listPipelines();
      const files = await Promise.all(
        summaries
          .filter(summary => summary.valid)
          .map(summary =>
            this.client.getPipeline(summary.path).catch(() => null)
          )
      );
      this.index = indexStepFiles(
        files
          .filter(file => file !== null && isObject(file.definition?.steps))
          .map(file => ({
            path: file!.path,
            definition: file!.definition as unknown as IPipelineJSON
          }))
      );
    } catch {
      // Keep the last index: the menu is a shortcut, the editor still runs steps.
    }
  }

  private index = new Map<string, IStepOfFile[]>();
  private timer = 0;
}
