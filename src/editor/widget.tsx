import { Notification, ReactWidget } from '@jupyterlab/apputils';
import {
  ABCWidgetFactory,
  DocumentRegistry,
  DocumentWidget,
  IDocumentWidget
} from '@jupyterlab/docregistry';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { PathExt } from '@jupyterlab/coreutils';
import { FileDialog } from '@jupyterlab/filebrowser';
import { TranslationBundle } from '@jupyterlab/translation';
import { UUID } from '@lumino/coreutils';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { IEnvironment, OrchestClient, RunType } from '../api';
import { OrchestEvents } from '../events';
import { pipelineIcon } from '../icons';
import {
  INewStep,
  isStepFile,
  Position,
  serializePipeline,
  stepFileFromPipeline,
  stepFileFromRoot,
  stepsOf
} from '../model/definition';
import { DEFAULT_KERNEL } from '../model/definition';
import { ancestorsOf } from '../model/graph';
import { STEP_HEIGHT } from '../model/layout';
import { isRunActive, OrchestEvent } from '../model/runs';
import { TranslationContext } from '../translation';
import { PIPELINE_CONTENT_PROVIDER } from './contents';
import { EditorView } from './EditorView';
import { PipelineEditorModel } from './model';
import { IKernelChoice } from './Properties';

type PipelineContext = DocumentRegistry.IContext<DocumentRegistry.ICodeModel>;

/** The user's settings that the editor follows (see schema/plugin.json). */
export interface IEditorSettings {
  autoSave: boolean;
  defaultEnvironment: string;
}

/** What every pipeline editor shares. */
export interface IEditorServices {
  trans: TranslationBundle;
  client: OrchestClient;
  events: OrchestEvents;
  docManager: IDocumentManager;
  settings: () => IEditorSettings;
  kernels: () => IKernelChoice[];
}

/** How often an editor on screen checks whether its file changed on disk. */
const DISK_CHECK_MS = 2000;

/** How long auto-save waits after the last edit. */
const AUTO_SAVE_MS = 1000;

/** The document widget of a pipeline file. */
export type PipelineDocument = IDocumentWidget<
  PipelineEditor,
  DocumentRegistry.ICodeModel
>;

/**
 * The visual editor of a pipeline file.
 *
 * The document's text model holds the file; the editor model holds it parsed. Edits go
 * from the editor to the text (so JupyterLab's dirty marker, save and revert work as for
 * any document), and changes of the text made elsewhere (revert, the file changing on
 * disk) come back into the editor.
 */
export class PipelineEditor extends ReactWidget {
  readonly model = new PipelineEditorModel();

  constructor(
    readonly context: PipelineContext,
    private readonly services: IEditorServices
  ) {
    super();
    this.addClass('jp-OrchestEditor');
    this.node.tabIndex = -1;
    this.model.edited.connect((_, pipeline) => {
      this.writtenText = serializePipeline(pipeline);
      context.model.sharedModel.setSource(this.writtenText);
      // Replacing the whole text does not mark a document dirty; an edit does.
      context.model.dirty = true;
      this.scheduleAutoSave();
    });
    this.model.changed.connect(() => this.update());
    context.model.contentChanged.connect(this.onTextChanged, this);
    context.fileChanged.connect(() => void this.readFileState(), this);
    context.pathChanged.connect(() => {
      void this.readFileState();
      void this.readLatestRun();
    }, this);
    context.saveState.connect((_, state) => {
      this.saving = state === 'started';
    }, this);
    services.events.received.connect(this.onEvent, this);
    services.events.reconnected.connect(() => void this.readLatestRun(), this);
    void context.ready.then(() => {
      this.onTextChanged();
      return Promise.all([this.readFileState(), this.readLatestRun()]);
    });
  }

  private get trans(): TranslationBundle {
    return this.services.trans;
  }

  /** The path of the pipeline file, relative to the server's root. */
  get path(): string {
    return this.context.localPath;
  }

  /**
   * The project folder of the pipeline, relative to the server's root; null until the
   * server has said which it is.
   */
  get project(): string | null {
    return this._project;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearInterval(this.diskTimer);
    window.clearTimeout(this.autoSaveTimer);
    this.services.events.received.disconnect(this.onEvent, this);
    super.dispose();
  }

  /**
   * Run the pipeline: every step, the selected steps, or those and their ancestors;
   * `force` recomputes them rather than restoring unchanged steps from the cache.
   */
  async run(type: RunType, force = false): Promise<void> {
    const steps = [...this.model.selection];
    if (type !== 'all' && steps.length === 0) {
      this.model.notify(
        'info',
        this.trans.__('Select the steps to run first.')
      );
      return;
    }
    // A run reads the file on disk: unsaved edits would not be part of it.
    if (this.context.model.dirty) {
      try {
        await this.context.save();
      } catch {
        return; // the context has shown why
      }
    }
    try {
      const run = await this.services.client.startRun(
        this.path,
        type,
        steps,
        force
      );
      if (this.model.run?.id !== run.id) {
        this.model.setRun(run);
      }
    } catch (error) {
      this.model.notify('error', (error as Error).message);
    }
  }

  async cancel(): Promise<void> {
    const run = this.model.run;
    if (run === null || !isRunActive(run)) {
      return;
    }
    try {
      await this.services.client.cancelRun(run.id);
    } catch (error) {
      this.model.notify('error', (error as Error).message);
    }
  }

  /** Open the files of the selected steps (or of `uuid`) in JupyterLab. */
  openSteps(uuids: Iterable<string> = this.model.selection): void {
    const pipeline = this.model.pipeline;
    for (const uuid of uuids) {
      const step = pipeline?.steps[uuid];
      if (step?.file_path) {
        this.services.docManager.openOrReveal(
          stepFileFromRoot(this.path, step.file_path)
        );
      }
    }
  }

  /** Show the output of the selected step in the log panel. */
  showLogs(): void {
    const [first] = this.model.selection;
    if (first === undefined) {
      this.model.notify(
        'info',
        this.trans.__('Select a step to see its output.')
      );
      return;
    }
    this.model.showLog(first);
  }

  /** Select the selected steps' ancestors too, as a run of incoming steps would run them. */
  selectIncoming(): void {
    if (this.model.pipeline) {
      const ancestors = ancestorsOf(this.model.pipeline, this.model.selection);
      this.model.select([...this.model.selection, ...ancestors]);
    }
  }

  /** Add steps for files (paths from the server's root), the first one at `position`. */
  addFiles(paths: readonly string[], position: Position): void {
    const contents = this.services.docManager.services.contents;
    const added: INewStep[] = [];
    const refused: string[] = [];
    for (const path of paths.map(p => contents.localPath(p))) {
      const filePath = stepFileFromPipeline(
        this.path,
        this.projectFolder,
        path
      );
      if (!isStepFile(path)) {
        refused.push(this.trans.__('%1 is not a notebook or a script', path));
      } else if (filePath === null) {
        refused.push(
          this.trans.__('%1 is outside the pipeline’s project', path)
        );
      } else {
        const offset = added.length * (STEP_HEIGHT + 40);
        added.push({
          uuid: UUID.uuid4(),
          filePath,
          position: [position[0], position[1] + offset] as Position,
          environment: this.defaultEnvironment()
        });
      }
    }
    this.model.addSteps(added);
    if (refused.length > 0) {
      this.model.notify(
        'error',
        this.trans.__('Not added: %1.', refused.join('; '))
      );
    }
  }

  /** Give the keyboard to the canvas, where the editor's shortcuts apply. */
  focusCanvas(): void {
    this.node.querySelector<HTMLElement>('.jp-OrchestEditor-canvas')?.focus({
      preventScroll: true
    });
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    this.focusCanvas();
  }

  protected render(): JSX.Element {
    return (
      <TranslationContext.Provider value={this.services.trans}>
        <EditorView
          model={this.model}
          client={this.services.client}
          pipelinePath={this.path}
          events={this.services.events}
          environments={this._environments}
          kernels={this.services.kernels()}
          onOpenStep={uuid => this.openSteps([uuid])}
          onPickFile={uuid => void this.pickFile(uuid)}
          onDropFiles={this.onDropFiles}
        />
      </TranslationContext.Provider>
    );
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    window.clearInterval(this.diskTimer);
    this.diskTimer = window.setInterval(
      () => void this.checkDisk(),
      DISK_CHECK_MS
    );
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    window.clearInterval(this.diskTimer);
  }

  private readonly onDropFiles = (paths: string[], position: Position) =>
    this.addFiles(paths, position);

  private onTextChanged(): void {
    if (!this.context.isReady) {
      return;
    }
    const text = this.context.model.sharedModel.getSource();
    if (text !== this.writtenText) {
      this.writtenText = text;
      this.model.load(text);
    }
  }

  /** Read the server's view of the file: its project and what is wrong with it. */
  private async readFileState(): Promise<void> {
    try {
      const file = await this.services.client.getPipeline(this.path);
      this.model.setIssues(file.issues);
      if (file.project !== this._project || this._environments === null) {
        this._project = file.project;
        await this.readEnvironments();
      }
    } catch (error) {
      this.model.notify('error', (error as Error).message);
    }
  }

  /** The project, or while the server has not named it, the pipeline's own folder. */
  private get projectFolder(): string {
    return this._project ?? PathExt.dirname(this.path);
  }

  private async readEnvironments(): Promise<void> {
    if (this._project === null) {
      return; // read with the file, once the server has named the project
    }
    try {
      this._environments = await this.services.client.listEnvironments(
        this._project
      );
    } catch {
      // A server without environments: steps keep the environment uuids they have.
      this._environments = null;
    }
    this.update();
  }

  private async readLatestRun(): Promise<void> {
    try {
      const runs = await this.services.client.listRuns(this.path);
      // Runs of jobs run copies of the pipeline, elsewhere: not what this file shows.
      this.model.setRun(
        runs.find(run => run.pipeline_path === this.path) ?? null
      );
    } catch {
      // The file may not be a valid pipeline yet; its issues say why.
    }
  }

  private onEvent(_: OrchestEvents, event: OrchestEvent): void {
    if (event.type === 'build') {
      void this.readEnvironments();
      return;
    }
    if (!this.model.applyEvent(event) && event.type === 'run') {
      // A run of this pipeline started elsewhere (the file browser, another window).
      void this.adoptRun(event.run_id);
    }
  }

  private async adoptRun(id: string): Promise<void> {
    try {
      const run = await this.services.client.getRun(id);
      if (run.pipeline_path === this.path) {
        this.model.setRun(run);
      }
    } catch {
      // Gone already; the next event will tell.
    }
  }

  private async pickFile(uuid: string): Promise<void> {
    const result = await FileDialog.getOpenFiles({
      manager: this.services.docManager,
      title: this.trans.__('Choose the file this step runs'),
      // Steps run files of their project only.
      defaultPath: PathExt.dirname(this.path),
      root: this.projectFolder,
      filter: model =>
        model.type === 'directory' || isStepFile(model.path) ? {} : null
    });
    const [chosen] = result.value ?? [];
    if (!result.button.accept || chosen === undefined) {
      return;
    }
    const filePath = stepFileFromPipeline(
      this.path,
      this.projectFolder,
      chosen.path
    );
    if (filePath === null || !isStepFile(chosen.path)) {
      this.model.notify(
        'error',
        this.trans.__(
          '%1 cannot be a step: choose a notebook or a script in the pipeline’s project.',
          chosen.path
        )
      );
      return;
    }
    this.model.updateStep(uuid, { file_path: filePath });
  }

  /**
   * The environment new steps get: the one the settings name, else the one most steps
   * use, else the project's first.
   */
  private defaultEnvironment(): string {
    const wanted = this.services.settings().defaultEnvironment;
    const environments = this._environments ?? [];
    const named = environments.find(
      e => e.uuid === wanted || e.name === wanted
    );
    if (named !== undefined) {
      return named.uuid;
    }
    const counts = new Map<string, number>();
    for (const step of this.model.pipeline
      ? stepsOf(this.model.pipeline)
      : []) {
      if (step.environment) {
        counts.set(step.environment, (counts.get(step.environment) ?? 0) + 1);
      }
    }
    const [mostUsed] = [...counts].sort((a, b) => b[1] - a[1]);
    return mostUsed?.[0] ?? environments[0]?.uuid ?? '';
  }

  private scheduleAutoSave(): void {
    window.clearTimeout(this.autoSaveTimer);
    if (this.services.settings().autoSave) {
      this.autoSaveTimer = window.setTimeout(() => {
        if (this.context.model.dirty && !this.isDisposed) {
          void this.context.save();
        }
      }, AUTO_SAVE_MS);
    }
  }

  /**
   * Reload the file when it changed on disk (another editor, git), unless it has unsaved
   * edits here: then saving will ask which version to keep.
   */
  private async checkDisk(): Promise<void> {
    const known = this.context.contentsModel?.last_modified;
    if (!this.context.isReady || this.saving || this.checkingDisk || !known) {
      return;
    }
    this.checkingDisk = true;
    try {
      const disk = await this.services.docManager.services.contents.get(
        this.context.path,
        { content: false }
      );
      if (Date.parse(disk.last_modified) <= Date.parse(known) || this.saving) {
        return;
      }
      if (!this.context.model.dirty) {
        await this.context.revert();
      } else if (this.warnedAbout !== disk.last_modified) {
        this.warnedAbout = disk.last_modified;
        Notification.warning(
          this.trans.__(
            '%1 changed on disk. Your unsaved edits are kept; saving will ask which version to keep.',
            this.context.localPath
          ),
          { autoClose: 8000 }
        );
      }
    } catch {
      // Deleted or renamed: the document manager deals with that.
    } finally {
      this.checkingDisk = false;
    }
  }

  private _project: string | null = null;
  private _environments: IEnvironment[] | null = null;
  private writtenText: string | null = null;
  private saving = false;
  private checkingDisk = false;
  private warnedAbout = '';
  private diskTimer = 0;
  private autoSaveTimer = 0;
}

/**
 * Creates pipeline editors for `*.orchest` files.
 */
export class PipelineEditorFactory extends ABCWidgetFactory<
  PipelineDocument,
  DocumentRegistry.ICodeModel
> {
  constructor(
    options: DocumentRegistry.IWidgetFactoryOptions<PipelineDocument>,
    private readonly services: IEditorServices
  ) {
    super({ ...options, contentProviderId: PIPELINE_CONTENT_PROVIDER });
  }

  protected createNewWidget(context: PipelineContext): PipelineDocument {
    const content = new PipelineEditor(context, this.services);
    const widget = new DocumentWidget({ content, context });
    widget.addClass('jp-OrchestEditor-document');
    widget.title.icon = pipelineIcon;
    return widget;
  }
}

/** The kernels a step can choose: Orchest's Python kernel and the server's kernels. */
export function kernelChoices(
  specs:
    | Record<string, { name: string; display_name: string } | undefined>
    | undefined
): IKernelChoice[] {
  const installed = Object.values(specs ?? {})
    .filter(
      (spec): spec is { name: string; display_name: string } =>
        spec !== undefined
    )
    .map(spec => ({ name: spec.name, display_name: spec.display_name }));
  return [
    DEFAULT_KERNEL,
    ...installed.filter(kernel => kernel.name !== DEFAULT_KERNEL.name)
  ];
}
