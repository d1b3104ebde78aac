import { Drag } from '@lumino/dragdrop';
import {
  Background,
  Connection,
  Controls,
  Edge,
  EdgeChange,
  MiniMap,
  NodeChange,
  ReactFlow,
  useReactFlow
} from '@xyflow/react';
import * as React from 'react';

import {
  connectionsOf,
  IPipelineJSON,
  IStepJSON,
  Position,
  positionOf
} from '../model/definition';
import { STEP_HEIGHT, STEP_WIDTH } from '../model/layout';
import { IRunJSON, IStepRunJSON } from '../model/runs';
import { useClock } from './hooks';
import { connectionId, PipelineEditorModel } from './model';
import { STEP_HANDLES, StepNode, StepNodeView } from './StepNode';

/** What the file browser puts in a drag: the paths of the dragged files. */
const CONTENTS_MIME = 'application/x-jupyter-icontents';

const NODE_TYPES = { step: StepNodeView };

const FIT_VIEW_OPTIONS = { maxZoom: 1, padding: 0.15 };

/** Small enough to leave room for the steps on narrow screens. */
const MINIMAP_STYLE = { width: 150, height: 100 };

/** Keys that add to the selection when clicking a step. */
const MULTI_SELECTION_KEYS = ['Shift', 'Meta', 'Control'];

export interface ICanvasProps {
  model: PipelineEditorModel;
  pipeline: IPipelineJSON;
  environmentName: (uuid: string) => string;
  onOpenStep: (uuid: string) => void;
  /** Files dropped on the canvas, with where the first one should go. */
  onDropFiles: (paths: string[], position: Position) => void;
}

/**
 * The DAG: steps as nodes, connections as edges, in React Flow.
 *
 * Nodes come from the model on every render; only the positions of steps being dragged
 * live here until the drag ends, so a drag is one edit of the definition.
 */
export function Canvas(props: ICanvasProps): JSX.Element {
  const { model, pipeline } = props;
  const flow = useReactFlow();
  const wrapper = React.useRef<HTMLDivElement>(null);
  const [dragged, setDragged] = React.useState<ReadonlyMap<string, Position>>(
    () => new Map()
  );
  const draggedRef = React.useRef(new Map<string, Position>());
  const run = model.run;
  const running = run?.steps.some(step => step.state === 'RUNNING') ?? false;
  const now = useClock(running);

  const nodes = useStepNodes(
    pipeline,
    model.selection,
    run,
    dragged,
    props.environmentName,
    now
  );
  const edges = React.useMemo(
    () => connectionEdges(pipeline, model.selectedConnections, run),
    [pipeline, model.selectedConnections, run]
  );

  const onNodesChange = React.useCallback(
    (changes: NodeChange<StepNode>[]) => {
      let selection: Set<string> | null = null;
      let moved = false;
      let dropped = false;
      for (const change of changes) {
        if (change.type === 'select') {
          selection ??= new Set(model.selection);
          if (change.selected) {
            selection.add(change.id);
          } else {
            selection.delete(change.id);
          }
        } else if (change.type === 'position' && change.position) {
          draggedRef.current.set(change.id, [
            change.position.x,
            change.position.y
          ]);
          moved = true;
          dropped ||= !change.dragging;
        }
      }
      if (selection !== null) {
        model.select(selection, model.selectedConnections);
      }
      if (dropped) {
        const positions = draggedRef.current;
        draggedRef.current = new Map();
        setDragged(new Map());
        model.moveSteps(positions);
      } else if (moved) {
        setDragged(new Map(draggedRef.current));
      }
    },
    [model]
  );

  const onEdgesChange = React.useCallback(
    (changes: EdgeChange[]) => {
      const selected = new Set(model.selectedConnections);
      let changed = false;
      for (const change of changes) {
        if (change.type === 'select') {
          changed = true;
          if (change.selected) {
            selected.add(change.id);
          } else {
            selected.delete(change.id);
          }
        }
      }
      if (changed) {
        model.select(model.selection, selected);
      }
    },
    [model]
  );

  const onConnect = React.useCallback(
    (connection: Connection) =>
      model.connect(connection.source, connection.target),
    [model]
  );

  // Files dragged from JupyterLab's file browser arrive as Lumino drag events.
  const { onDropFiles } = props;
  React.useEffect(() => {
    const node = wrapper.current;
    if (node === null) {
      return;
    }
    const handle = (event: Event) => {
      const drag = event as Drag.Event;
      if (!drag.mimeData?.hasData(CONTENTS_MIME)) {
        return;
      }
      // Keep the main area's dock panel from offering to open the files as tabs.
      event.preventDefault();
      event.stopPropagation();
      if (event.type === 'lm-dragover') {
        drag.dropAction = drag.proposedAction;
      } else if (event.type === 'lm-drop') {
        drag.dropAction = drag.proposedAction;
        const paths = drag.mimeData.getData(CONTENTS_MIME) as string[];
        const at = flow.screenToFlowPosition({
          x: drag.clientX,
          y: drag.clientY
        });
        onDropFiles(paths, [at.x - STEP_WIDTH / 2, at.y - STEP_HEIGHT / 2]);
        node.focus();
      }
    };
    const types = ['lm-dragenter', 'lm-dragleave', 'lm-dragover', 'lm-drop'];
    types.forEach(type => node.addEventListener(type, handle));
    return () => types.forEach(type => node.removeEventListener(type, handle));
  }, [flow, onDropFiles]);

  // A right-click selects the step under it first, so the context menu acts on it.
  const onPointerDown = (event: React.PointerEvent) => {
    wrapper.current?.focus({ preventScroll: true });
    if (event.button !== 2) {
      return;
    }
    const target = (event.target as HTMLElement).closest('.react-flow__node');
    const uuid = target?.getAttribute('data-id');
    if (uuid && !model.selection.has(uuid)) {
      model.select([uuid]);
    }
  };

  return (
    <div
      ref={wrapper}
      className="jp-OrchestEditor-canvas"
      tabIndex={0}
      onPointerDownCapture={onPointerDown}
    >
      <ReactFlow<StepNode, Edge>
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onNodeDoubleClick={(_, node) => props.onOpenStep(node.id)}
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={MULTI_SELECTION_KEYS}
        zoomOnDoubleClick={false}
        minZoom={0.05}
        maxZoom={2}
        onInit={instance => {
          // Fit once, on opening: fitting when the first step of an empty pipeline
          // arrives would move the canvas away from where the step was dropped.
          if (instance.getNodes().length > 0) {
            void instance.fitView(FIT_VIEW_OPTIONS);
          }
        }}
        onlyRenderVisibleElements
      >
        <Background gap={20} />
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable style={MINIMAP_STYLE} />
      </ReactFlow>
      <Notice model={model} />
    </div>
  );
}

/**
 * The canvas's nodes, reusing the node object of every step that did not change, so that
 * React Flow and the node components skip it.
 */
function useStepNodes(
  pipeline: IPipelineJSON,
  selection: ReadonlySet<string>,
  run: IRunJSON | null,
  dragged: ReadonlyMap<string, Position>,
  environmentName: (uuid: string) => string,
  now: number
): StepNode[] {
  const cache = React.useRef(new Map<string, StepNode>());
  return React.useMemo(() => {
    const statuses = new Map<string, IStepRunJSON>(
      (run?.steps ?? []).map(step => [step.uuid, step])
    );
    const next = new Map<string, StepNode>();
    const nodes = Object.values(pipeline.steps).map(step => {
      const status = statuses.get(step.uuid) ?? null;
      const [x, y] = dragged.get(step.uuid) ?? positionOf(step) ?? [0, 0];
      const data = {
        step,
        status,
        environmentName: environmentName(step.environment ?? ''),
        now: status?.state === 'RUNNING' ? now : 0
      };
      const previous = cache.current.get(step.uuid);
      const node =
        previous !== undefined &&
        sameNode(previous, data, x, y, selection.has(step.uuid))
          ? previous
          : stepNode(step, data, x, y, selection.has(step.uuid));
      next.set(step.uuid, node);
      return node;
    });
    cache.current = next;
    return nodes;
  }, [pipeline, selection, run, dragged, environmentName, now]);
}

function stepNode(
  step: IStepJSON,
  data: StepNode['data'],
  x: number,
  y: number,
  selected: boolean
): StepNode {
  return {
    id: step.uuid,
    type: 'step',
    position: { x, y },
    data,
    selected,
    width: STEP_WIDTH,
    height: STEP_HEIGHT,
    measured: { width: STEP_WIDTH, height: STEP_HEIGHT },
    handles: STEP_HANDLES
  };
}

function sameNode(
  node: StepNode,
  data: StepNode['data'],
  x: number,
  y: number,
  selected: boolean
): boolean {
  return (
    node.data.step === data.step &&
    node.data.status === data.status &&
    node.data.environmentName === data.environmentName &&
    node.data.now === data.now &&
    node.position.x === x &&
    node.position.y === y &&
    node.selected === selected
  );
}

function connectionEdges(
  pipeline: IPipelineJSON,
  selected: ReadonlySet<string>,
  run: IRunJSON | null
): Edge[] {
  const running = new Set(
    (run?.steps ?? [])
      .filter(step => step.state === 'RUNNING')
      .map(step => step.uuid)
  );
  return connectionsOf(pipeline).map(connection => {
    const id = connectionId(connection);
    return {
      id,
      source: connection.parent,
      target: connection.child,
      selected: selected.has(id),
      animated: running.has(connection.child),
      className: 'jp-OrchestConnection'
    };
  });
}

/** How long a notice stays over the canvas. */
const NOTICE_MS = 5000;

function Notice({ model }: { model: PipelineEditorModel }): JSX.Element | null {
  const notice = model.notice;
  React.useEffect(() => {
    if (notice === null) {
      return;
    }
    const timer = window.setTimeout(() => model.dismissNotice(), NOTICE_MS);
    return () => window.clearTimeout(timer);
  }, [model, notice?.serial]);
  if (notice === null) {
    return null;
  }
  return (
    <div
      className={`jp-OrchestEditor-notice jp-mod-${notice.kind}`}
      role={notice.kind === 'error' ? 'alert' : 'status'}
      onClick={() => model.dismissNotice()}
    >
      {notice.text}
    </div>
  );
}
