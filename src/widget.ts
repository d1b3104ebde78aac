import {
  ABCWidgetFactory,
  DocumentRegistry,
  DocumentWidget,
  IDocumentWidget
} from '@jupyterlab/docregistry';
import { Widget } from '@lumino/widgets';

import { PipelinesClient } from './api';
import { pipelineIcon } from './icons';
import { buildPipelineView, ValidationState } from './pipeline';
import { renderPipelineView } from './view';

type PipelineContext = DocumentRegistry.IContext<DocumentRegistry.ICodeModel>;

/**
 * The document widget of a pipeline file.
 */
export type PipelineDocument = IDocumentWidget<
  PipelinePlaceholder,
  DocumentRegistry.ICodeModel
>;

/**
 * A read-only overview of a pipeline file, standing in until the DAG editor exists.
 *
 * It renders from the document's text model, so it follows edits made in any other
 * view of the same file (e.g. "Open With > Editor"), and asks the server to validate
 * the file whenever the file on disk changes (load, save, revert, rename).
 */
export class PipelinePlaceholder extends Widget {
  constructor(
    private readonly context: PipelineContext,
    private readonly client: PipelinesClient
  ) {
    super();
    this.addClass('jp-OrchestPipeline');
    context.model.contentChanged.connect(this.render, this);
    context.fileChanged.connect(this.onFileChanged, this);
    context.pathChanged.connect(this.onFileChanged, this);
    void context.ready.then(() => this.validate());
  }

  private onFileChanged(): void {
    // Before the context is ready, `ready` will validate the file once it has loaded.
    if (this.context.isReady) {
      void this.validate();
    }
  }

  private async validate(): Promise<void> {
    const request = ++this.latestValidation;
    this.validation = { status: 'checking' };
    this.render();
    let validation: ValidationState;
    try {
      const file = await this.client.getPipeline(this.context.localPath);
      validation = { status: 'checked', issues: file.issues };
    } catch (error) {
      validation = { status: 'unavailable', message: (error as Error).message };
    }
    // A save or rename during the request started a newer one: its answer wins.
    if (request === this.latestValidation && !this.isDisposed) {
      this.validation = validation;
      this.render();
    }
  }

  private render(): void {
    if (!this.context.isReady) {
      return;
    }
    const view = buildPipelineView(
      this.context.model.toString(),
      this.validation
    );
    this.node.replaceChildren(renderPipelineView(view));
  }

  private validation: ValidationState = { status: 'checking' };
  private latestValidation = 0;
}

/**
 * Creates placeholder views for pipeline files.
 */
export class PipelinePlaceholderFactory extends ABCWidgetFactory<
  PipelineDocument,
  DocumentRegistry.ICodeModel
> {
  constructor(
    options: DocumentRegistry.IWidgetFactoryOptions<PipelineDocument>,
    private readonly client: PipelinesClient
  ) {
    super(options);
  }

  protected createNewWidget(context: PipelineContext): PipelineDocument {
    const content = new PipelinePlaceholder(context, this.client);
    const widget = new DocumentWidget({ content, context });
    widget.title.icon = pipelineIcon;
    return widget;
  }
}
