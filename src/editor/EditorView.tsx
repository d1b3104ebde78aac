import { ReactFlowProvider } from '@xyflow/react';
import * as React from 'react';

import { IEnvironment, IValidationIssue, OrchestClient } from '../api';
import { OrchestEvents } from '../events';
import { IPipelineJSON, Position } from '../model/definition';
import {
  formatDuration,
  isRunActive,
  IRunJSON,
  secondsBetween
} from '../model/runs';
import { Canvas } from './Canvas';
import { useClock, useModelVersion } from './hooks';
import { LogPanel } from './LogPanel';
import { PipelineEditorModel } from './model';
import { IKernelChoice, Properties } from './Properties';
import { useTrans } from '../translation';

export interface IEditorViewProps {
  model: PipelineEditorModel;
  client: OrchestClient;
  /** The pipeline file, relative to the server's root. */
  pipelinePath: string;
  events: OrchestEvents;
  environments: readonly IEnvironment[] | null;
  kernels: readonly IKernelChoice[];
  onOpenStep: (uuid: string) => void;
  onPickFile: (uuid: string) => void;
  onDropFiles: (paths: string[], position: Position) => void;
}

/**
 * The whole editor: the canvas, the properties panel on its right and the log panel
 * under it; or what is wrong with the file when it cannot be drawn.
 */
export function EditorView(props: IEditorViewProps): JSX.Element {
  const { model, environments } = props;
  const trans = useTrans();
  useModelVersion(model);
  const environmentName = React.useCallback(
    (uuid: string) =>
      uuid === ''
        ? ''
        : (environments?.find(environment => environment.uuid === uuid)?.name ??
          uuid),
    [environments]
  );
  const pipeline = model.pipeline;
  if (pipeline === null) {
    return (
      <div className="jp-OrchestEditor-malformed">
        <h2>{trans.__('This pipeline cannot be shown')}</h2>
        <p className="jp-OrchestEditor-error">
          {model.parseError ?? trans.__('Loading…')}
        </p>
        <p>
          {trans.__(
            'Fix the file in a text editor (right-click it in the file browser: Open With > Editor); this view follows when it is saved.'
          )}
        </p>
      </div>
    );
  }
  const logStep = model.logStep;
  return (
    <div className="jp-OrchestEditor-body">
      <div className="jp-OrchestEditor-center">
        <RunStatus run={model.run} />
        <Issues issues={model.issues} pipeline={pipeline} />
        {Object.keys(pipeline.steps).length === 0 && (
          <div className="jp-OrchestEditor-empty">
            {trans.__(
              'Drag notebooks and scripts here from the file browser to add steps, then drag from a step’s right handle to another step to connect them.'
            )}
          </div>
        )}
        <ReactFlowProvider>
          <Canvas
            model={model}
            pipeline={pipeline}
            environmentName={environmentName}
            onOpenStep={props.onOpenStep}
            onDropFiles={props.onDropFiles}
          />
        </ReactFlowProvider>
        {logStep !== null && (
          <LogPanel
            client={props.client}
            events={props.events}
            run={model.run}
            stepUuid={logStep}
            stepTitle={pipeline.steps[logStep]?.title ?? logStep}
            onClose={() => model.showLog(null)}
          />
        )}
      </div>
      <Properties
        model={model}
        pipeline={pipeline}
        environments={environments}
        kernels={props.kernels}
        client={props.client}
        pipelinePath={props.pipelinePath}
        onPickFile={props.onPickFile}
        onOpenStep={props.onOpenStep}
      />
    </div>
  );
}

function RunStatus({ run }: { run: IRunJSON | null }): JSX.Element | null {
  const trans = useTrans();
  const active = isRunActive(run);
  const now = useClock(active);
  if (run === null) {
    return null;
  }
  const seconds = secondsBetween(run.started_at, run.finished_at, now);
  return (
    <div
      className={`jp-OrchestEditor-runStatus jp-mod-${run.state.toLowerCase()}`}
    >
      {active
        ? trans.__('Running: %1', run.state)
        : trans.__('Latest run: %1', run.state)}
      {seconds !== null && ` · ${formatDuration(seconds)}`}
      {run.message && ` · ${run.message}`}
    </div>
  );
}

/** What the server's validation found in the file on disk, by step title. */
function Issues({
  issues,
  pipeline
}: {
  issues: readonly IValidationIssue[];
  pipeline: IPipelineJSON;
}): JSX.Element | null {
  const trans = useTrans();
  if (issues.length === 0) {
    return null;
  }
  return (
    <ul
      className="jp-OrchestEditor-issues"
      aria-label={trans.__('Problems in the file')}
    >
      {issues.map((issue, index) => (
        <li key={index}>
          {issue.step !== null && pipeline.steps[issue.step] && (
            <strong>{pipeline.steps[issue.step].title}: </strong>
          )}
          {issue.message}
        </li>
      ))}
    </ul>
  );
}
