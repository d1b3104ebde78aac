import { MainAreaWidget, ReactWidget } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Contents } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import {
  Edge,
  MiniMap,
  Controls,
  ReactFlow,
  ReactFlowProvider
} from '@xyflow/react';
import * as React from 'react';

import { IEnvironment, OrchestClient } from '../api';
import { useClock } from '../editor/hooks';
import { LogView, StepCacheNote, useStepLog } from '../editor/LogPanel';
import { StepFiles } from '../editor/StepFiles';
import { STEP_HANDLES, StepNode, StepNodeView } from '../editor/StepNode';
import { OrchestEvents } from '../events';
import { pipelineIcon } from '../icons';
import { NotebookOutputs } from './NotebookOutputs';
import { TranslationContext, useTrans } from '../translation';
import {
  connectionsOf,
  IPipelineJSON,
  isObject,
  positionOf,
  stepFileFromRoot
} from '../model/definition';
import { layoutSteps, STEP_HEIGHT, STEP_WIDTH } from '../model/layout';
import {
  applyRunEvent,
  formatDuration,
  isRunActive,
  IRunJSON,
  OrchestEvent,
  secondsBetween
} from '../model/runs';

const NODE_TYPES = { step: StepNodeView };

export interface IRunViewOptions {
  trans: TranslationBundle;
  /** For the outputs of notebook steps; without it, their log only. */
  notebooks: {
    contents: Contents.IManager;
    rendermime: IRenderMimeRegistry;
  } | null;
  client: OrchestClient;
  events: OrchestEvents;
  run: IRunJSON;
  openFile: (path: string) => void;
  /**
   * For a job's run, whose files are its own copy of the project: reads a file as the run
   * left it, by its path from the server's root, and copies the run into an editable folder.
   */
  jobRun?: {
    readFile: (path: string) => Promise<string>;
    restore: () => void;
  };
}

/**
 * A read-only view of one run: its steps on the pipeline's DAG with their states, and the
 * output of the step clicked. It follows the run live while it is going.
 */
export function createRunView(options: IRunViewOptions): MainAreaWidget {
  const content = ReactWidget.create(
    <TranslationContext.Provider value={options.trans}>
      <RunView {...options} />
    </TranslationContext.Provider>
  );
  content.addClass('jp-OrchestRunView');
  const widget = new MainAreaWidget({ content });
  widget.id = `jp-orchest-run-${options.run.id}`;
  widget.title.label = options.trans.__('Run %1', options.run.id.slice(0, 8));
  widget.title.caption = options.trans.__(
    'Run %1 of %2',
    options.run.id,
    options.run.pipeline_path
  );
  widget.title.icon = pipelineIcon;
  widget.title.closable = true;
  return widget;
}

function RunView(props: IRunViewOptions): JSX.Element {
  const { client, events } = props;
  const trans = useTrans();
  const [run, setRun] = React.useState(props.run);
  const [pipeline, setPipeline] = React.useState<IPipelineJSON | null>(null);
  const [selected, setSelected] = React.useState<string | null>(null);
  const [showNotebook, setShowNotebook] = React.useState(false);

  React.useEffect(() => {
    const onEvent = (_: OrchestEvents, event: OrchestEvent) =>
      setRun(current => applyRunEvent(current, event));
    events.received.connect(onEvent);
    // Read the run again once listening, so no event falls between the two.
    void client.getRun(props.run.id).then(setRun, () => undefined);
    return () => {
      events.received.disconnect(onEvent);
    };
  }, [client, events, props.run.id]);

  React.useEffect(() => {
    // The DAG comes from the pipeline file as it is now; steps it lost are shown alone.
    const readFile = props.jobRun?.readFile;
    const read = readFile
      ? readFile(props.run.pipeline_path).then(text => JSON.parse(text))
      : client
          .getPipeline(props.run.pipeline_path)
          .then(file => file.definition);
    read.then(
      definition =>
        isObject(definition?.steps) && setPipeline(definition as IPipelineJSON),
      () => setPipeline(null)
    );
  }, [client, props.run.pipeline_path, props.jobRun]);

  const now = useClock(isRunActive(run));
  const nodes = React.useMemo(
    () => runNodes(run, pipeline, selected, now),
    [run, pipeline, selected, now]
  );
  const edges = React.useMemo<Edge[]>(
    () =>
      pipeline === null
        ? []
        : connectionsOf(pipeline)
            .filter(
              c =>
                nodes.some(n => n.id === c.parent) &&
                nodes.some(n => n.id === c.child)
            )
            .map(c => ({
              id: `${c.parent}->${c.child}`,
              source: c.parent,
              target: c.child
            })),
    [pipeline, nodes]
  );
  const seconds = secondsBetween(run.started_at, run.finished_at, now);
  const step = run.steps.find(s => s.uuid === selected) ?? null;
  const notebookPath = step?.file_path.endsWith('.ipynb')
    ? stepFileFromRoot(run.pipeline_path, step.file_path)
    : null;
  const log = useStepLog(client, events, run.id, selected);

  return (
    <div className="jp-OrchestRunView-body">
      <header className="jp-OrchestRunView-header">
        <span
          className={`jp-OrchestSidebar-badge jp-mod-${run.state.toLowerCase()}`}
        >
          {run.state}
        </span>
        <span>
          {run.pipeline_path} · {run.type} ·{' '}
          {run.created_at ? new Date(run.created_at).toLocaleString() : ''}
          {seconds !== null && ` · ${formatDuration(seconds)}`}
        </span>
        {run.message && (
          <span className="jp-OrchestRunView-message">{run.message}</span>
        )}
        {props.jobRun && !isRunActive(run) && (
          <button
            className="jp-OrchestSidebar-action"
            onClick={props.jobRun.restore}
          >
            {trans.__('Copy into an editable folder')}
          </button>
        )}
      </header>
      <div className="jp-OrchestRunView-canvas">
        <ReactFlowProvider>
          <ReactFlow<StepNode, Edge>
            nodes={nodes}
            edges={edges}
            nodeTypes={NODE_TYPES}
            nodesDraggable={false}
            nodesConnectable={false}
            onNodeClick={(_, node) => setSelected(node.id)}
            onPaneClick={() => setSelected(null)}
            fitView
            fitViewOptions={{ maxZoom: 1 }}
            minZoom={0.05}
          >
            <Controls showInteractive={false} />
            <MiniMap pannable zoomable />
          </ReactFlow>
        </ReactFlowProvider>
      </div>
      <div className="jp-OrchestLog">
        <div className="jp-OrchestLog-header">
          <span className="jp-OrchestLog-title">
            {step ? (
              <>
                {trans.__('Output of')} <strong>{step.title}</strong> ·{' '}
                {step.state}
                {step.message && ` · ${step.message}`}
              </>
            ) : (
              trans.__('Click a step to see its output.')
            )}
          </span>
          {step?.file_path.endsWith('.ipynb') && props.notebooks && (
            <button
              className="jp-OrchestSidebar-action"
              aria-pressed={showNotebook}
              onClick={() => setShowNotebook(!showNotebook)}
            >
              {showNotebook
                ? trans.__('Show the log')
                : trans.__('Show the notebook’s outputs')}
            </button>
          )}
          {step?.file_path && !props.jobRun && (
            <button
              className="jp-OrchestSidebar-action"
              title={trans.__(
                'Open the file; a notebook holds the outputs of the latest run that ran it'
              )}
              onClick={() =>
                props.openFile(
                  stepFileFromRoot(run.pipeline_path, step.file_path)
                )
              }
            >
              {trans.__('Open %1', step.file_path)}
            </button>
          )}
        </div>
        {step && showNotebook && notebookPath && props.notebooks ? (
          <>
            <p className="jp-OrchestRunView-note">
              {props.jobRun
                ? trans.__(
                    'The outputs this run wrote into %1.',
                    step.file_path
                  )
                : trans.__(
                    'The outputs %1 holds now: those of the latest run that ran it, unless it was edited since.',
                    step.file_path
                  )}
            </p>
            <NotebookOutputs
              path={notebookPath}
              {...props.notebooks}
              readFile={props.jobRun?.readFile}
            />
          </>
        ) : (
          step && (
            <>
              <StepCacheNote step={step} />
              <StepFiles client={client} runId={run.id} step={step} />
              <LogView
                text={log.text}
                error={log.error}
                empty={trans.__('No output.')}
              />
            </>
          )
        )}
      </div>
    </div>
  );
}

function runNodes(
  run: IRunJSON,
  pipeline: IPipelineJSON | null,
  selected: string | null,
  now: number
): StepNode[] {
  const steps = pipeline?.steps ?? {};
  // Steps the pipeline no longer has get places of their own, below the rest.
  const lost = run.steps.filter(step => !(step.uuid in steps));
  const lostPlaces = layoutSteps({
    name: '',
    uuid: '',
    version: '',
    steps: Object.fromEntries(
      lost.map(step => [
        step.uuid,
        {
          uuid: step.uuid,
          title: step.title,
          file_path: step.file_path,
          incoming_connections: []
        }
      ])
    )
  });
  const bottom = Math.max(
    0,
    ...Object.values(steps).map(
      step => (positionOf(step)?.[1] ?? 0) + STEP_HEIGHT * 2
    )
  );
  return run.steps.map(status => {
    const step = steps[status.uuid] ?? {
      uuid: status.uuid,
      title: status.title,
      file_path: status.file_path,
      incoming_connections: []
    };
    const [lostX, lostY] = lostPlaces.get(status.uuid) ?? [0, 0];
    const [x, y] = positionOf(step) ?? [lostX, lostY + bottom];
    return {
      id: status.uuid,
      type: 'step',
      position: { x, y },
      data: {
        step,
        status,
        environmentName: '',
        now: status.state === 'RUNNING' ? now : 0
      },
      selected: status.uuid === selected,
      width: STEP_WIDTH,
      height: STEP_HEIGHT,
      measured: { width: STEP_WIDTH, height: STEP_HEIGHT },
      handles: STEP_HANDLES
    };
  });
}

/** The id of the view of an environment's build log, one per environment. */
export function buildLogViewId(
  environment: Pick<IEnvironment, 'uuid'>
): string {
  return `jp-orchest-build-${environment.uuid}`;
}

/**
 * The log of an environment's latest build, read again as the build goes on.
 */
export function createBuildLogView(options: {
  trans: TranslationBundle;
  client: OrchestClient;
  events: OrchestEvents;
  project: string;
  environment: IEnvironment;
}): MainAreaWidget {
  const content = ReactWidget.create(
    <TranslationContext.Provider value={options.trans}>
      <BuildLog {...options} />
    </TranslationContext.Provider>
  );
  content.addClass('jp-OrchestRunView');
  const widget = new MainAreaWidget({ content });
  widget.id = buildLogViewId(options.environment);
  widget.title.label = options.trans.__(
    'Build of %1',
    options.environment.name
  );
  widget.title.icon = pipelineIcon;
  widget.title.closable = true;
  return widget;
}

/** How long the build log waits after an event before reading again. */
const BUILD_LOG_DEBOUNCE_MS = 300;

function BuildLog(props: {
  trans: TranslationBundle;
  client: OrchestClient;
  events: OrchestEvents;
  project: string;
  environment: IEnvironment;
}): JSX.Element {
  const { client, events, project, environment } = props;
  const trans = useTrans();
  const [text, setText] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    let timer = 0;
    const read = async () => {
      try {
        const environments = await client.listEnvironments(project);
        const build = environments.find(
          e => e.uuid === environment.uuid
        )?.build;
        setText(
          build
            ? await client.buildLog(project, environment.uuid, build.number)
            : ''
        );
        setError(null);
      } catch (failure) {
        setError((failure as Error).message);
      }
    };
    const onEvent = (_: OrchestEvents, event: OrchestEvent) => {
      if (
        event.type === 'build' ||
        event.type === 'build_log' ||
        event.type === 'build_log_skipped'
      ) {
        window.clearTimeout(timer);
        timer = window.setTimeout(() => void read(), BUILD_LOG_DEBOUNCE_MS);
      }
    };
    events.received.connect(onEvent);
    void read();
    return () => {
      window.clearTimeout(timer);
      events.received.disconnect(onEvent);
    };
  }, [client, events, project, environment.uuid]);
  return (
    <div className="jp-OrchestRunView-body">
      <LogView
        text={text}
        error={error}
        empty={trans.__('This environment has no build log yet.')}
      />
    </div>
  );
}
