import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

// Activation registers the widget factory, which needs the client and the widget at once.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { PipelinesClient } from './api';
import { pipelineIcon } from './icons';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { PipelinePlaceholderFactory } from './widget';

/** The document registry's name for pipeline files. */
const PIPELINE_FILE_TYPE = 'orchest';

/** The widget factory that opens pipeline files (a placeholder until the DAG editor). */
const PIPELINE_EDITOR_FACTORY = 'Pipeline Editor';

/** The name the server turns into the file name of a new pipeline (`untitled.orchest`). */
const NEW_PIPELINE_NAME = 'Untitled';

namespace CommandIDs {
  export const newPipeline = 'orchest:new-pipeline';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-orchest:plugin',
  description:
    'Pipeline files (*.orchest): their file type and view, and the New Pipeline command.',
  autoStart: true,
  requires: [IDocumentManager],
  optional: [IDefaultFileBrowser, ICommandPalette, ILauncher, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    docManager: IDocumentManager,
    fileBrowser: IDefaultFileBrowser | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    translator: ITranslator | null
  ): void => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('jupyter_orchest');
    // JupyterLab's own words (no extraction needed), so that the launcher card joins its
    // "Other" section in every language.
    // eslint-disable-next-line jupyter/incorrect-translator-usage
    const jupyterlabTrans = translator.load('jupyterlab');
    const client = new PipelinesClient(app.serviceManager.serverSettings);

    app.docRegistry.addFileType({
      name: PIPELINE_FILE_TYPE,
      displayName: trans.__('Pipeline'),
      extensions: ['.orchest'],
      mimeTypes: ['application/json'],
      contentType: 'file',
      fileFormat: 'text',
      icon: pipelineIcon
    });
    app.docRegistry.addWidgetFactory(
      new PipelinePlaceholderFactory(
        {
          name: PIPELINE_EDITOR_FACTORY,
          label: trans.__('Pipeline Editor'),
          modelName: 'text',
          fileTypes: [PIPELINE_FILE_TYPE],
          defaultFor: [PIPELINE_FILE_TYPE],
          translator
        },
        client
      )
    );

    app.commands.addCommand(CommandIDs.newPipeline, {
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
            app.serviceManager.contents.localPath(folder),
            NEW_PIPELINE_NAME
          );
          // The server wrote the file, not the contents manager, so the file browser
          // would only see it at its next poll.
          await fileBrowser?.model.refresh();
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
  }
};

export default plugin;
