/**
 * Automatic layout of a pipeline's steps, left to right in the order they run (dagre).
 */

import { Graph, layout } from '@dagrejs/dagre';

import { IPipelineJSON, Position, positionOf, stepsOf } from './definition';
import { orderSteps } from './graph';

/** The size a step takes on the canvas; the step node's CSS keeps to it. */
export const STEP_WIDTH = 200;
export const STEP_HEIGHT = 72;

const RANK_GAP = 80;
const STEP_GAP = 40;

/**
 * Above this many steps, opening a file whose steps have no positions uses the quick
 * layered layout: dagre's crossing reduction takes seconds on hundreds of steps.
 */
const DAGRE_MAX_STEPS = 150;

/**
 * Positions (top-left corners) for every step, parents left of their children.
 *
 * Dagre centres nodes on their position; the canvas and Orchest place them by their
 * top-left corner, so the result is shifted by half a step.
 */
export function layoutSteps(pipeline: IPipelineJSON): Map<string, Position> {
  const graph = new Graph();
  graph.setGraph({
    rankdir: 'LR',
    ranksep: RANK_GAP,
    nodesep: STEP_GAP,
    marginx: STEP_GAP,
    marginy: STEP_GAP
  });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const step of stepsOf(pipeline)) {
    graph.setNode(step.uuid, { width: STEP_WIDTH, height: STEP_HEIGHT });
  }
  for (const step of stepsOf(pipeline)) {
    for (const parent of step.incoming_connections) {
      if (parent in pipeline.steps && parent !== step.uuid) {
        graph.setEdge(parent, step.uuid);
      }
    }
  }
  layout(graph);
  const positions = new Map<string, Position>();
  for (const uuid of graph.nodes()) {
    const { x, y } = graph.node(uuid);
    positions.set(uuid, [
      Math.round(x - STEP_WIDTH / 2),
      Math.round(y - STEP_HEIGHT / 2)
    ]);
  }
  return positions;
}

/**
 * Positions for the steps the file gives none (a file written by hand or by a script):
 * laid out together, below every step that has a position, so nothing overlaps.
 */
export function positionsForUnplaced(
  pipeline: IPipelineJSON
): Map<string, Position> {
  const unplaced = stepsOf(pipeline).filter(step => positionOf(step) === null);
  if (unplaced.length === 0) {
    return new Map();
  }
  const placedBottoms = stepsOf(pipeline)
    .map(positionOf)
    .filter((position): position is Position => position !== null)
    .map(([, y]) => y + STEP_HEIGHT + STEP_GAP);
  const top = placedBottoms.length > 0 ? Math.max(...placedBottoms) : 0;
  const steps = Object.fromEntries(unplaced.map(step => [step.uuid, step]));
  const positions =
    unplaced.length > DAGRE_MAX_STEPS
      ? layerSteps({ ...pipeline, steps })
      : layoutSteps({ ...pipeline, steps });
  for (const [uuid, [x, y]] of positions) {
    positions.set(uuid, [x, y + top]);
  }
  return positions;
}

/**
 * A quick layered layout, in time linear in the size of the pipeline: each step one
 * column right of its furthest parent, and in its column near the average row of its
 * parents (one barycenter pass, no further crossing reduction).
 */
export function layerSteps(pipeline: IPipelineJSON): Map<string, Position> {
  const column = new Map<string, number>();
  const columns: string[][] = [];
  for (const uuid of orderSteps(pipeline)) {
    const parents = pipeline.steps[uuid].incoming_connections.filter(p =>
      column.has(p)
    );
    const at =
      parents.length === 0
        ? 0
        : 1 + Math.max(...parents.map(p => column.get(p) as number));
    column.set(uuid, at);
    (columns[at] ??= []).push(uuid);
  }
  const row = new Map<string, number>();
  const positions = new Map<string, Position>();
  columns.forEach((uuids, index) => {
    const weight = (uuid: string): number => {
      const rows = pipeline.steps[uuid].incoming_connections
        .filter(p => row.has(p))
        .map(p => row.get(p) as number);
      return rows.length === 0
        ? Infinity
        : rows.reduce((a, b) => a + b, 0) / rows.length;
    };
    const placed = uuids
      .map((uuid, order) => ({ uuid, order, weight: weight(uuid) }))
      .sort((a, b) => a.weight - b.weight || a.order - b.order);
    placed.forEach(({ uuid }, position) => {
      row.set(uuid, position);
      positions.set(uuid, [
        STEP_GAP + index * (STEP_WIDTH + RANK_GAP),
        STEP_GAP + position * (STEP_HEIGHT + STEP_GAP)
      ]);
    });
  });
  return positions;
}
