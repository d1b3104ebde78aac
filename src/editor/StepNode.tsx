import { Handle, Node, NodeHandle, NodeProps, Position } from '@xyflow/react';
import * as React from 'react';

import { IStepJSON } from '../model/definition';
import { STEP_HEIGHT, STEP_WIDTH } from '../model/layout';
import { IStepRunJSON, stepBadge } from '../model/runs';
import { useTrans } from '../translation';

/** What a step node shows. */
export type StepNodeData = {
  step: IStepJSON;
  /** The step in the run shown, if it is part of it. */
  status: IStepRunJSON | null;
  environmentName: string;
  /** The clock for a running step's elapsed time; 0 when the step is not running. */
  now: number;
};

export type StepNode = Node<StepNodeData, 'step'>;

/** The size of a connection handle, as the CSS draws it. */
const HANDLE_SIZE = 10;

/**
 * Where the handles are, given up front so the canvas can draw edges without measuring
 * every node first (which makes large pipelines open fast).
 */
export const STEP_HANDLES: NodeHandle[] = [
  {
    type: 'target',
    position: Position.Left,
    x: -HANDLE_SIZE / 2,
    y: STEP_HEIGHT / 2 - HANDLE_SIZE / 2,
    width: HANDLE_SIZE,
    height: HANDLE_SIZE
  },
  {
    type: 'source',
    position: Position.Right,
    x: STEP_WIDTH - HANDLE_SIZE / 2,
    y: STEP_HEIGHT / 2 - HANDLE_SIZE / 2,
    width: HANDLE_SIZE,
    height: HANDLE_SIZE
  }
];

/**
 * A step on the canvas: its title, file, environment and state in the run shown.
 */
export const StepNodeView = React.memo(function StepNodeView({
  data,
  selected
}: NodeProps<StepNode>) {
  const { step, status, environmentName, now } = data;
  const trans = useTrans();
  const state = status?.state ?? 'READY';
  const className = [
    'jp-OrchestStep',
    `jp-mod-${state.toLowerCase()}`,
    selected ? 'jp-mod-selected' : ''
  ].join(' ');
  return (
    <div
      className={className}
      data-step-uuid={step.uuid}
      data-step-title={step.title}
      title={status?.message || step.file_path}
    >
      <Handle type="target" position={Position.Left} />
      <div className="jp-OrchestStep-title">
        {step.title || trans.__('Untitled step')}
      </div>
      <div className="jp-OrchestStep-file">
        {step.file_path || trans.__('No file')}
      </div>
      <div className="jp-OrchestStep-footer">
        <span className="jp-OrchestStep-environment">{environmentName}</span>
        {status?.cached && (
          <span
            className="jp-OrchestStep-cached"
            title={trans.__(
              'Restored from the cache: nothing it depends on changed'
            )}
          >
            {trans.__('cached')}
          </span>
        )}
        {status !== null && (
          <span className="jp-OrchestStep-state">{stepBadge(status, now)}</span>
        )}
      </div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
});
