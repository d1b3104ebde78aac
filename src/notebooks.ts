/**
 * Notebooks open in JupyterLab that are steps of pipelines: they show the outputs a run
 * writes into them, and they run in the kernel of their step's environment.
 */

import { Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Contents, KernelSpec } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import { OrchestApiError, OrchestClient } from './api';
import { OrchestEvents } from './events';
import { stepFileFromRoot } from './model/definition';
import { isStepFinished, OrchestEvent } from './model/runs';

/** How often an open notebook whose step is running is checked for new outputs. */
const RUNNING_CHECK_MS = 1500;

/**
 * Reloads open notebooks from disk as a run writes outputs into them (after every cell),
 * as long as they have no unsaved edits; a notebook with unsaved edits is left alone and
 * the user is warned once per run.
 */
export class NotebookOutputFollower {
  constructor(
    private readonly client: OrchestClient,
    events: OrchestEvents,
    private readonly notebooks: INotebookTracker,
    private readonly contents: Contents.IManager,
    private readonly trans: TranslationBundle
  ) {
    events.received.connect((_, event) => this.onEvent(event));
  }

  private onEvent(event: OrchestEvent): void {
    if (event.type !== 'step' && event.type !== 'log') {
      return;
    }
    const key = `${event.run_id}/${event.step_uuid}`;
    if (event.type === 'step' && event.state === 'RUNNING') {
      void this.follow(event.run_id, event.step_uuid, key);
    } else if (event.type === 'step' && isStepFinished(event.state)) {
      const path = this.running.get(key);
      this.running.delete(key);
      if (path) {
        void this.reload(path, event.run_id);
      }
      this.updateTimer();
    }
  }

  /** Start watching the notebook a running step writes into, if it is open. */
  private async follow(
    runId: string,
    stepUuid: string,
    key: string
  ): Promise<void> {
    try {
      const run = await this.client.getRun(runId);
      const step = run.steps.find(s => s.uuid === stepUuid);
      if (step?.file_path.endsWith('.ipynb')) {
        this.running.set(
          key,
          stepFileFromRoot(run.pipeline_path, step.file_path)
        );
        this.runOf.set(key, runId);
        this.updateTimer();
      }
    } catch {
      // The run is gone; nothing to follow.
    }
  }

  private updateTimer(): void {
    if (this.running.size > 0 && this.timer === 0) {
      this.timer = window.setInterval(() => {
        for (const [key, path] of this.running) {
          void this.reload(path, this.runOf.get(key) ?? '');
        }
      }, RUNNING_CHECK_MS);
    } else if (this.running.size === 0 && this.timer !== 0) {
      window.clearInterval(this.timer);
      this.timer = 0;
    }
  }

  /**
   * Reload an open notebook if the file on disk is newer than what it shows.
   *
   * A notebook is often "dirty" only because its kernel filled in metadata when it
   * started; it is reloaded all the same when its cells hold the code the file holds.
   * Only edited cells keep it from reloading.
   */
  private async reload(path: string, runId: string): Promise<void> {
    const panel = this.notebooks.find(
      widget => widget.context.localPath === path && widget.context.isReady
    );
    const known = panel?.context.contentsModel?.last_modified;
    if (panel === undefined || !known || this.reloading.has(path)) {
      return;
    }
    this.reloading.add(path);
    try {
      const disk = await this.contents.get(path, { content: false });
      if (Date.parse(disk.last_modified) <= Date.parse(known)) {
        return;
      }
      if (!panel.context.model.dirty || (await this.sameCode(panel, path))) {
        await panel.context.revert();
      } else if (!this.warned.has(`${runId}/${path}`)) {
        this.warned.add(`${runId}/${path}`);
        Notification.warning(
          this.trans.__(
            'A run wrote new outputs into %1, whose cells have unsaved edits here. Your edits are kept; reload the notebook from disk (File > Reload Notebook from Disk) to see the outputs.',
            path
          ),
          { autoClose: false }
        );
      }
    } catch {
      // Deleted or renamed meanwhile: nothing to show.
    } finally {
      this.reloading.delete(path);
    }
  }

  /** Whether the open notebook's cells hold the code of the file on disk. */
  private async sameCode(panel: NotebookPanel, path: string): Promise<boolean> {
    const disk = await this.contents.get(path, {
      type: 'notebook',
      content: true
    });
    const cells = (disk.content?.cells ?? []) as {
      source: string | string[];
    }[];
    const onDisk = cells.map(cell =>
      Array.isArray(cell.source) ? cell.source.join('') : cell.source
    );
    const open = panel.context.model.sharedModel.cells.map(cell =>
      cell.getSource()
    );
    return JSON.stringify(onDisk) === JSON.stringify(open);
  }

  private running = new Map<string, string>();
  private runOf = new Map<string, string>();
  private reloading = new Set<string>();
  private warned = new Set<string>();
  private timer = 0;
}

/**
 * When a notebook that is a step opens, switch it to the kernel of its step's
 * environment, so that interactive work runs where the pipeline runs.
 */
export async function switchToStepKernel(
  client: OrchestClient,
  panel: NotebookPanel,
  kernelspecs: KernelSpec.IManager
): Promise<void> {
  await panel.sessionContext.ready;
  let kernelName: string | null;
  try {
    kernelName = (await client.kernelForNotebook(panel.context.localPath))
      .kernel_name;
  } catch (error) {
    if (!(error instanceof OrchestApiError)) {
      console.warn(
        'jupyter-orchest: cannot ask for the kernel of a step',
        error
      );
    }
    return; // not a step, or a server without environments
  }
  await kernelspecs.ready;
  const known = () =>
    kernelName !== null && kernelName in (kernelspecs.specs?.kernelspecs ?? {});
  if (kernelName !== null && !known()) {
    // The environment may have been built since the lab read its kernels.
    await kernelspecs.refreshSpecs();
  }
  const session = panel.sessionContext;
  if (
    kernelName !== null &&
    known() &&
    session.session?.kernel?.name !== kernelName
  ) {
    await session.changeKernel({ name: kernelName });
  }
}
