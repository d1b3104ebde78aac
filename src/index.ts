import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  Notification,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Contents, IDefaultDrive } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import {
  CommandToolbarButton,
  deleteIcon,
  fastForwardIcon,
  redoIcon,
  refreshIcon,
  runIcon,
  stopIcon,
  treeViewIcon,
  undoIcon
} from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

// The plugin registers the editor's factory, its content provider and the sidebar at
// activation, so their modules are needed at once.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { OrchestClient, RunType } from './api';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import {
  PIPELINE_CONTENT_PROVIDER,
  PipelineContentProvider,
  PipelineModelFactory
} from './editor/contents';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import {
  IEditorSettings,
  kernelChoices,
  PipelineDocument,
  PipelineEditor,
  PipelineEditorFactory
} from './editor/widget';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { OrchestEvents } from './events';
import { pipelineIcon } from './icons';
import { isRunActive } from './model/runs';
import { sessionAction } from './model/sessions';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { NotebookOutputFollower, switchToStepKernel } from './notebooks';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import {
  buildLogViewId,
  createBuildLogView,
  createRunView,
  IRunViewOptions
} from './runview/RunView';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { CREATE_JOB_COMMAND, setUpJobs } from './jobs/plugin';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { ICurrentPipeline, OrchestSidebar } from './sidebar/Sidebar';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { SessionControl } from './sessions/SessionControl';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { SessionStore } from './sessions/store';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { StepFiles } from './stepfiles';

const PLUGIN_ID = 'jupyter-orchest:plugin';

/** The document registry's name for pipeline files. */
const PIPELINE_FILE_TYPE = 'orchest';

/** The widget factory that opens pipeline files. */
const PIPELINE_EDITOR_FACTORY = 'Pipeline Editor';

/** The name the server turns into the file name of a new pipeline (`untitled.orchest`). */
const NEW_PIPELINE_NAME = 'Untitled';

export namespace CommandIDs {
  export const newPipeline = 'orchest:new-pipeline';
  export const runAll = 'orchest:run-all';
  export const runAllForce = 'orchest:run-all-force';
  export const runSelected = 'orchest:run-selected';
  export const runIncoming = 'orchest:run-incoming';
  export const cancelRun = 'orchest:cancel-run';
  export const undo = 'orchest:undo';
  export const redo = 'orchest:redo';
  export const deleteSelection = 'orchest:delete-selection';
  export const selectAll = 'orchest:select-all';
  export const autoLayout = 'orchest:auto-layout';
  export const openStepFile = 'orchest:open-step-file';
  export const showLogs = 'orchest:show-logs';
  export const runStepFile = 'orchest:run-step-file';
  export const runStepFileIncoming = 'orchest:run-step-file-incoming';
  export const openSidebar = 'orchest:open-sidebar';
  export const startSession = 'orchest:start-session';
  export const stopSession = 'orchest:stop-session';
}

/** Commands whose state follows the current editor's selection and run. */
const EDITOR_COMMANDS = [
  CommandIDs.runAll,
  CommandIDs.runAllForce,
  CommandIDs.runSelected,
  CommandIDs.runIncoming,
  CommandIDs.cancelRun,
  CommandIDs.undo,
  CommandIDs.redo,
  CommandIDs.deleteSelection,
  CommandIDs.openStepFile,
  CommandIDs.showLogs,
  CommandIDs.startSession,
  CommandIDs.stopSession
];

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Pipelines (*.orchest files): the visual editor, runs with live states and logs, the Orchest sidebar and the New Pipeline command.',
  autoStart: true,
  requires: [IDocumentManager, IDefaultDrive],
  optional: [
    IDefaultFileBrowser,
    ICommandPalette,
    ILauncher,
    ITranslator,
    ISettingRegistry,
    ILayoutRestorer,
    INotebookTracker,
    IRenderMimeRegistry,
    IMainMenu
  ],
  activate: (
    app: JupyterFrontEnd,
    docManager: IDocumentManager,
    defaultDrive: Contents.IDrive,
    fileBrowser: IDefaultFileBrowser | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    notebooks: INotebookTracker | null,
    rendermime: IRenderMimeRegistry | null,
    mainMenu: IMainMenu | null
  ): void => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('jupyter_orchest');
    // JupyterLab's own words (no extraction needed), so that the launcher card joins its
    // "Other" section in every language.
    // eslint-disable-next-line jupyter/incorrect-translator-usage
    const jupyterlabTrans = translator.load('jupyterlab');
    const { commands, serviceManager } = app;
    const client = new OrchestClient(serviceManager.serverSettings);
    const events = new OrchestEvents(serviceManager.serverSettings);
    const contents = serviceManager.contents;

    let settings: IEditorSettings = { autoSave: false, defaultEnvironment: '' };
    let startSessionOnOpen = true;
    const settingsLoaded = settingRegistry
      ? settingRegistry.load(PLUGIN_ID).then(
          loaded => {
            const read = () => {
              settings = {
                autoSave: loaded.get('autoSave').composite as boolean,
                defaultEnvironment: loaded.get('defaultEnvironment')
                  .composite as string
              };
              startSessionOnOpen = loaded.get('startSessionOnOpen')
                .composite as boolean;
            };
            read();
            loaded.changed.connect(read);
          },
          // The defaults apply.
          () => undefined
        )
      : Promise.resolve();

    // Interactive sessions: one list for the toolbars and the sidebar.
    const sessions = new SessionStore(client, events);
    sessions.changed.connect(() => {
      commands.notifyCommandChanged(CommandIDs.startSession);
      commands.notifyCommandChanged(CommandIDs.stopSession);
    });
    const startSession = async (path: string) => {
      try {
        await sessions.start(path);
      } catch (error) {
        await showErrorMessage(
          trans.__('Cannot start the session'),
          error as Error
        );
      }
    };
    const stopSession = async (path: string) => {
      try {
        await sessions.stop(path);
      } catch (error) {
        await showErrorMessage(
          trans.__('Cannot stop the session'),
          error as Error
        );
      }
    };

    defaultDrive.contentProviderRegistry?.register(
      PIPELINE_CONTENT_PROVIDER,
      new PipelineContentProvider(defaultDrive, client)
    );
    app.docRegistry.addModelFactory(new PipelineModelFactory());
    app.docRegistry.addFileType({
      name: PIPELINE_FILE_TYPE,
      displayName: trans.__('Pipeline'),
      extensions: ['.orchest'],
      mimeTypes: ['application/json'],
      contentType: 'file',
      fileFormat: 'text',
      icon: pipelineIcon
    });
    const factory = new PipelineEditorFactory(
      {
        name: PIPELINE_EDITOR_FACTORY,
        label: trans.__('Pipeline Editor'),
        modelName: 'orchest-pipeline',
        fileTypes: [PIPELINE_FILE_TYPE],
        defaultFor: [PIPELINE_FILE_TYPE],
        translator
      },
      {
        client,
        events,
        docManager,
        trans,
        settings: () => settings,
        kernels: () =>
          kernelChoices(serviceManager.kernelspecs.specs?.kernelspecs)
      }
    );
    app.docRegistry.addWidgetFactory(factory);

    const tracker = new WidgetTracker<PipelineDocument>({
      namespace: 'orchest-pipelines'
    });
    void restorer?.restore(tracker, {
      command: 'docmanager:open',
      args: widget => ({
        path: widget.context.path,
        factory: PIPELINE_EDITOR_FACTORY
      }),
      name: widget => widget.context.path
    });
    const currentChanged = new Signal<object, void>(tracker);
    let currentKey = '';
    const current = (): PipelineEditor | null =>
      tracker.currentWidget?.content ?? null;
    const currentPipeline = (): ICurrentPipeline | null => {
      const editor = current();
      // Until the server names the project, nothing may be asked about it: listing the
      // environments of a guessed project would create its default environment there.
      return editor && editor.model.pipeline && editor.project !== null
        ? {
            path: editor.path,
            uuid: editor.model.pipeline.uuid,
            project: editor.project
          }
        : null;
    };
    const onEditorChanged = () => {
      EDITOR_COMMANDS.forEach(id => commands.notifyCommandChanged(id));
      const key = JSON.stringify(currentPipeline());
      if (key !== currentKey) {
        currentKey = key;
        currentChanged.emit();
      }
    };
    tracker.currentChanged.connect(onEditorChanged);

    const sessionControlOf = (widget: PipelineDocument) => {
      const control = new SessionControl({
        store: sessions,
        trans,
        path: () => widget.content.path,
        start: path => void startSession(path),
        stop: path => void stopSession(path)
      });
      widget.context.pathChanged.connect(() => control.update());
      return control;
    };
    factory.widgetCreated.connect((_, widget) => {
      widget.context.pathChanged.connect(() => void tracker.save(widget));
      widget.content.model.changed.connect(() => {
        if (widget === tracker.currentWidget) {
          onEditorChanged();
        }
      });
      void tracker.add(widget);
      // Labelled actions and the session switch first: a narrow toolbar folds its last
      // items away, and the icon-only editing tools also have keyboard shortcuts.
      const buttons = [
        CommandIDs.runAll,
        CommandIDs.runSelected,
        CommandIDs.runIncoming,
        CommandIDs.cancelRun,
        CommandIDs.runAllForce,
        CREATE_JOB_COMMAND,
        CommandIDs.undo,
        CommandIDs.redo,
        CommandIDs.deleteSelection,
        CommandIDs.autoLayout
      ];
      for (const id of buttons) {
        widget.toolbar.addItem(
          id.replace('orchest:', ''),
          new CommandToolbarButton({ commands, id, args: { toolbar: true } })
        );
        if (id === CREATE_JOB_COMMAND) {
          widget.toolbar.addItem('session', sessionControlOf(widget));
        }
      }
      // As in Orchest, opening a pipeline starts its session (a setting turns it off). A
      // refusal (e.g. an invalid pipeline) shows in the session control, not in a dialog.
      void Promise.all([widget.context.ready, settingsLoaded]).then(() => {
        if (startSessionOnOpen && !widget.isDisposed) {
          sessions.start(widget.content.path).catch(() => undefined);
        }
      });
    });

    const hasEditor = () => current() !== null;
    const hasSelection = () => (current()?.model.selection.size ?? 0) > 0;
    const addEditorCommand = (
      id: string,
      options: {
        label: string;
        /** The label next to the icon in the editor's toolbar; none when absent. */
        toolbarLabel?: string;
        caption: string;
        icon?: typeof runIcon;
        isEnabled?: () => boolean;
        execute: (editor: PipelineEditor) => unknown;
      }
    ) =>
      commands.addCommand(id, {
        describedBy: {
          args: {
            type: 'object',
            properties: { toolbar: { type: 'boolean' } }
          }
        },
        label: args =>
          args.toolbar ? (options.toolbarLabel ?? '') : options.label,
        caption: options.caption,
        icon: options.icon,
        isEnabled: () => hasEditor() && (options.isEnabled?.() ?? true),
        execute: () => {
          const editor = current();
          return editor ? options.execute(editor) : undefined;
        }
      });
    const run = (type: RunType) => (editor: PipelineEditor) => editor.run(type);
    const runActive = () => isRunActive(current()?.model.run ?? null);

    addEditorCommand(CommandIDs.runAll, {
      label: trans.__('Run All Steps'),
      toolbarLabel: trans.__('Run all'),
      caption: trans.__('Run every step of the pipeline'),
      icon: fastForwardIcon,
      isEnabled: () => !runActive(),
      execute: run('all')
    });
    addEditorCommand(CommandIDs.runAllForce, {
      label: trans.__('Run All Steps (Recompute)'),
      toolbarLabel: trans.__('Recompute'),
      caption: trans.__(
        'Run every step of the pipeline again, even those the cache could restore'
      ),
      icon: refreshIcon,
      isEnabled: () => !runActive(),
      execute: editor => editor.run('all', true)
    });
    addEditorCommand(CommandIDs.runSelected, {
      label: trans.__('Run Selected Steps'),
      toolbarLabel: trans.__('Run selected'),
      caption: trans.__(
        'Run the selected steps, using their parents’ last outputs'
      ),
      icon: runIcon,
      isEnabled: () => hasSelection() && !runActive(),
      execute: run('selection')
    });
    addEditorCommand(CommandIDs.runIncoming, {
      label: trans.__('Run Incoming Steps'),
      toolbarLabel: trans.__('Run incoming'),
      caption: trans.__('Run the selected steps and every step they depend on'),
      icon: runIcon,
      isEnabled: () => hasSelection() && !runActive(),
      execute: run('incoming')
    });
    addEditorCommand(CommandIDs.cancelRun, {
      // Icon only, as the notebook's stop button: the toolbar keeps room for the session.
      label: trans.__('Cancel Run'),
      caption: trans.__('Cancel the pipeline’s run'),
      icon: stopIcon,
      isEnabled: runActive,
      execute: editor => editor.cancel()
    });
    const sessionOfCurrent = () => {
      const editor = current();
      return editor ? sessions.get(editor.path) : null;
    };
    addEditorCommand(CommandIDs.startSession, {
      label: trans.__('Start Pipeline Session'),
      caption: trans.__(
        'Start the pipeline’s interactive session: warm kernels and its services'
      ),
      isEnabled: () => sessionAction(sessionOfCurrent()) === 'start',
      execute: editor => startSession(editor.path)
    });
    addEditorCommand(CommandIDs.stopSession, {
      label: trans.__('Stop Pipeline Session'),
      caption: trans.__(
        'Stop the pipeline’s interactive session: its run, kernels and services'
      ),
      isEnabled: () => sessionAction(sessionOfCurrent()) === 'stop',
      execute: editor => stopSession(editor.path)
    });
    addEditorCommand(CommandIDs.undo, {
      label: trans.__('Undo Pipeline Edit'),
      caption: trans.__('Undo the last change to the pipeline'),
      icon: undoIcon,
      isEnabled: () => current()?.model.canUndo ?? false,
      execute: editor => {
        editor.model.undo();
        editor.focusCanvas();
      }
    });
    addEditorCommand(CommandIDs.redo, {
      label: trans.__('Redo Pipeline Edit'),
      caption: trans.__('Redo the last change undone'),
      icon: redoIcon,
      isEnabled: () => current()?.model.canRedo ?? false,
      execute: editor => {
        editor.model.redo();
        editor.focusCanvas();
      }
    });
    addEditorCommand(CommandIDs.deleteSelection, {
      label: trans.__('Delete'),
      caption: trans.__('Delete the selected steps and connections'),
      icon: deleteIcon,
      isEnabled: () =>
        hasSelection() || (current()?.model.selectedConnections.size ?? 0) > 0,
      execute: editor => {
        editor.model.deleteSelection();
        // The focused step may be gone: keep the keyboard on the canvas.
        editor.focusCanvas();
      }
    });
    addEditorCommand(CommandIDs.selectAll, {
      label: trans.__('Select All Steps'),
      caption: trans.__('Select every step of the pipeline'),
      execute: editor => editor.model.selectAll()
    });
    addEditorCommand(CommandIDs.autoLayout, {
      label: trans.__('Auto Layout'),
      caption: trans.__(
        'Lay the steps out again, parents left of their children'
      ),
      icon: treeViewIcon,
      execute: editor => editor.model.autoLayout()
    });
    addEditorCommand(CommandIDs.openStepFile, {
      label: trans.__('Open File'),
      caption: trans.__('Open the selected steps’ files'),
      isEnabled: hasSelection,
      execute: editor => editor.openSteps()
    });
    addEditorCommand(CommandIDs.showLogs, {
      label: trans.__('Show Logs'),
      caption: trans.__('Show the selected step’s output in the latest run'),
      isEnabled: hasSelection,
      execute: editor => editor.showLogs()
    });

    // Edit > Undo and Redo, Run > Run Selected and Run All act on pipelines too.
    if (mainMenu) {
      const isPipeline = (widget: Widget) => tracker.has(widget);
      mainMenu.editMenu.undoers.undo.add({
        id: CommandIDs.undo,
        isEnabled: isPipeline
      });
      mainMenu.editMenu.undoers.redo.add({
        id: CommandIDs.redo,
        isEnabled: isPipeline
      });
      mainMenu.runMenu.codeRunners.run.add({
        id: CommandIDs.runSelected,
        isEnabled: isPipeline
      });
      mainMenu.runMenu.codeRunners.runAll.add({
        id: CommandIDs.runAll,
        isEnabled: isPipeline
      });
    }

    if (palette) {
      const category = trans.__('Orchest');
      for (const command of [...EDITOR_COMMANDS, CommandIDs.autoLayout]) {
        palette.addItem({ command, category });
      }
    }

    // The file browser: runs of a notebook or script that is a step of a pipeline.
    const stepFiles = new StepFiles(client);
    const pipelinesChanged = new Signal<object, void>(stepFiles);
    contents.fileChanged.connect((_, change: Contents.IChangedArgs) => {
      const paths = [change.oldValue?.path, change.newValue?.path];
      if (paths.some(path => path?.endsWith('.orchest'))) {
        stepFiles.refresh();
        pipelinesChanged.emit();
      }
    });
    void app.restored.then(() => stepFiles.read());
    // Entering a folder is when its files' context menus are about to be used.
    fileBrowser?.model.pathChanged.connect(() => stepFiles.refresh());
    const selectedFileSteps = () => {
      const item = fileBrowser?.selectedItems().next();
      return item && !item.done ? stepFiles.stepsOf(item.value.path) : [];
    };
    const runStepFile = (type: RunType) => async () => {
      const [step] = selectedFileSteps();
      if (step === undefined) {
        return;
      }
      try {
        await client.startRun(step.pipelinePath, type, [step.stepUuid]);
        Notification.info(
          trans.__('Running step "%1" of %2', step.title, step.pipelinePath),
          {
            autoClose: 5000,
            actions: [
              {
                label: trans.__('Open Pipeline'),
                callback: () =>
                  docManager.openOrReveal(
                    step.pipelinePath,
                    PIPELINE_EDITOR_FACTORY
                  )
              }
            ]
          }
        );
      } catch (error) {
        await showErrorMessage(trans.__('Cannot run the step'), error as Error);
      }
    };
    commands.addCommand(CommandIDs.runStepFile, {
      describedBy: { args: { type: 'object', properties: {} } },
      label: () => {
        const [step] = selectedFileSteps();
        return step
          ? trans.__('Run Step of %1', step.pipelineName || step.pipelinePath)
          : trans.__('Run Step');
      },
      caption: trans.__('Run this file’s step of its pipeline'),
      icon: runIcon,
      isVisible: () => selectedFileSteps().length > 0,
      execute: runStepFile('selection')
    });
    commands.addCommand(CommandIDs.runStepFileIncoming, {
      describedBy: { args: { type: 'object', properties: {} } },
      label: trans.__('Run Step with Incoming Steps'),
      caption: trans.__('Run this file’s step and every step it depends on'),
      icon: runIcon,
      isVisible: () => selectedFileSteps().length > 0,
      execute: runStepFile('incoming')
    });

    // The sidebar: pipelines, runs of the open pipeline, environments.
    const openRun = (
      runJson: IRunViewOptions['run'],
      jobRun?: IRunViewOptions['jobRun']
    ) => {
      const id = `jp-orchest-run-${runJson.id}`;
      const open = Array.from(app.shell.widgets('main')).find(w => w.id === id);
      if (open) {
        app.shell.activateById(id);
        return;
      }
      const view = createRunView({
        trans,
        notebooks: rendermime ? { contents, rendermime } : null,
        client,
        events,
        run: runJson,
        openFile: path => docManager.openOrReveal(path),
        jobRun
      });
      app.shell.add(view, 'main');
    };
    const sidebar = new OrchestSidebar({
      trans,
      client,
      events,
      current: currentPipeline,
      currentChanged,
      pipelinesChanged,
      openPipeline: path =>
        docManager.openOrReveal(path, PIPELINE_EDITOR_FACTORY),
      openRun,
      sessions,
      startSession: path => void startSession(path),
      stopSession: path => void stopSession(path),
      openBuildLog: (project, environment) => {
        const id = buildLogViewId(environment);
        if (Array.from(app.shell.widgets('main')).some(w => w.id === id)) {
          app.shell.activateById(id);
          return;
        }
        app.shell.add(
          createBuildLogView({ trans, client, events, project, environment }),
          'main'
        );
      }
    });
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, 'orchest-sidebar');
    commands.addCommand(CommandIDs.openSidebar, {
      describedBy: { args: { type: 'object', properties: {} } },
      label: trans.__('Show Pipelines Sidebar'),
      caption: trans.__('Pipelines, their runs and environments'),
      execute: () => app.shell.activateById(sidebar.id)
    });
    palette?.addItem({
      command: CommandIDs.openSidebar,
      category: trans.__('Orchest')
    });

    // Notebooks that are steps: new outputs as runs write them, and their step's kernel.
    if (notebooks) {
      new NotebookOutputFollower(client, events, notebooks, contents, trans);
      notebooks.widgetAdded.connect((_, panel) => {
        void panel.context.ready.then(() =>
          switchToStepKernel(client, panel, serviceManager.kernelspecs)
        );
      });
    }

    commands.addCommand(CommandIDs.newPipeline, {
      // Menus and the launcher already say "New"; the palette and the file browser's
      // context menu (see schema/plugin.json) need the full phrase.
      label: args =>
        args.isPalette || args.isContextMenu
          ? trans.__('New Pipeline')
          : trans.__('Pipeline'),
      caption: trans.__(
        'Create a pipeline (a .orchest file) in the current folder and open it'
      ),
      icon: args => (args.isPalette ? undefined : pipelineIcon),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            cwd: {
              type: 'string',
              description: trans.__(
                'Folder to create the pipeline in, relative to the server root; defaults to the file browser’s folder'
              )
            },
            isPalette: { type: 'boolean' },
            isContextMenu: { type: 'boolean' },
            isLauncher: { type: 'boolean' }
          }
        }
      },
      execute: async args => {
        const folder =
          typeof args.cwd === 'string'
            ? args.cwd
            : (fileBrowser?.model.path ?? '');
        try {
          const created = await client.createPipeline(
            contents.localPath(folder),
            NEW_PIPELINE_NAME
          );
          // The server wrote the file, not the contents manager, so the file browser
          // would only see it at its next poll.
          await fileBrowser?.model.refresh();
          pipelinesChanged.emit();
          return docManager.openOrReveal(created.path, PIPELINE_EDITOR_FACTORY);
        } catch (error) {
          await showErrorMessage(
            trans.__('Cannot create a pipeline'),
            error as Error
          );
        }
      }
    });

    palette?.addItem({
      command: CommandIDs.newPipeline,
      category: trans.__('Orchest'),
      args: { isPalette: true }
    });
    launcher?.add({
      command: CommandIDs.newPipeline,
      category: jupyterlabTrans.__('Other'),
      rank: 10
    });

    setUpJobs(app, {
      serverSettings: client.serverSettings,
      trans,
      events,
      palette,
      fileBrowser,
      currentPipeline: () => current()?.path ?? null,
      currentChanged,
      openRun
    });
  }
};

export default plugin;
