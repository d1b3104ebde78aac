import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  MainAreaWidget,
  showErrorMessage
} from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ServerConnection } from '@jupyterlab/services';
import { ISignal } from '@lumino/signaling';

import { OrchestEvents } from '../events';
import { IRunViewOptions } from '../runview/RunView';
import { IJobJSON, IJobRunJSON, JobsClient } from './api';
import { createJobForm } from './CreateJob';
import { JobsPanel } from './JobsPanel';

export const CREATE_JOB_COMMAND = 'orchest:create-job';
const OPEN_JOBS_COMMAND = 'orchest:open-jobs';

export interface IJobsSetup {
  serverSettings: ServerConnection.ISettings;
  trans: TranslationBundle;
  events: OrchestEvents;
  palette: ICommandPalette | null;
  fileBrowser: IDefaultFileBrowser | null;
  /** The path of the pipeline of the editor last active, or null. */
  currentPipeline: () => string | null;
  /** Emitted when `currentPipeline` may have changed. */
  currentChanged: ISignal<unknown, unknown>;
  /** Opens the read-only view of a run. */
  openRun: (
    run: IRunViewOptions['run'],
    jobRun: IRunViewOptions['jobRun']
  ) => void;
}

/**
 * The jobs part of the lab plugin: the Jobs panel of the left sidebar, the Create Job form
 * and its command, and the views of the jobs' runs.
 */
export function setUpJobs(app: JupyterFrontEnd, setup: IJobsSetup): void {
  const { trans } = setup;
  const client = new JobsClient(setup.serverSettings);

  /** The run's path from its project: its folder is a copy of the project. */
  const pathInRun = async (job: IJobJSON, path: string) => {
    const project = (await client.getPipeline(job.pipeline_path)).project;
    return project && path.startsWith(`${project}/`)
      ? path.slice(project.length + 1)
      : path;
  };

  const restoreRun = async (job: IJobJSON, run: IJobRunJSON) => {
    const result = await InputDialog.getText({
      title: trans.__('Copy the run into an editable folder'),
      label: trans.__('New folder (from the server’s root)'),
      text: `${job.name}-run-${run.number + 1}`.replace(/[^\w.-]+/g, '-')
    });
    if (!result.button.accept || !result.value) {
      return;
    }
    try {
      const restored = await client.restoreRun(job.id, run.id, result.value);
      await setup.fileBrowser?.model.cd(`/${restored.folder}`);
    } catch (error) {
      await showErrorMessage(trans.__('Cannot copy the run'), error as Error);
    }
  };

  const panel = new JobsPanel({
    trans,
    client,
    events: setup.events,
    createJob: () => void app.commands.execute(CREATE_JOB_COMMAND),
    openRun: (job, run) =>
      setup.openRun(run, {
        readFile: async path =>
          client.runFile(job.id, run.id, await pathInRun(job, path)),
        restore: () => void restoreRun(job, run)
      }),
    restoreRun: (job, run) => void restoreRun(job, run)
  });
  app.shell.add(panel, 'left', { rank: 660 });

  app.commands.addCommand(OPEN_JOBS_COMMAND, {
    describedBy: { args: { type: 'object', properties: {} } },
    label: trans.__('Show Jobs'),
    caption: trans.__('The jobs of the workspace and their runs'),
    execute: () => app.shell.activateById(panel.id)
  });

  app.commands.addCommand(CREATE_JOB_COMMAND, {
    describedBy: {
      args: {
        type: 'object',
        properties: {
          pipeline: {
            type: 'string',
            description: trans.__(
              'The pipeline file the job runs; by default the open pipeline'
            )
          },
          toolbar: { type: 'boolean' }
        }
      }
    },
    label: args => (args.toolbar ? trans.__('Job') : trans.__('Create Job')),
    caption: trans.__(
      'Create a job: run the pipeline for a grid of parameters, now or on a schedule'
    ),
    isEnabled: args =>
      typeof args.pipeline === 'string' || setup.currentPipeline() !== null,
    execute: args => {
      const pipelinePath =
        typeof args.pipeline === 'string'
          ? args.pipeline
          : setup.currentPipeline();
      if (pipelinePath === null) {
        return;
      }
      const form: MainAreaWidget = createJobForm({
        trans,
        client,
        pipelinePath,
        onCreated: () => {
          form.dispose();
          panel.refresh();
          app.shell.activateById(panel.id);
        }
      });
      app.shell.add(form, 'main');
      app.shell.activateById(form.id);
    }
  });

  setup.currentChanged.connect(() =>
    app.commands.notifyCommandChanged(CREATE_JOB_COMMAND)
  );

  const category = trans.__('Orchest');
  setup.palette?.addItem({ command: CREATE_JOB_COMMAND, category });
  setup.palette?.addItem({ command: OPEN_JOBS_COMMAND, category });
}
