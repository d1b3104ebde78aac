/**
 * Pipeline definitions (`*.orchest` files, Orchest format 1.0.0) as plain JSON, and the
 * edits the editor makes to them.
 *
 * Definitions are treated as immutable: every edit returns a new definition that shares
 * the parts it did not change, so undo history is cheap and React can compare by identity.
 * Keys this code does not know are kept as they are, because Orchest and other tools may
 * add their own.
 */

import { PathExt } from '@jupyterlab/coreutils';

import { AttemptKey } from './attempts';

/** A pipeline step as stored in the file. */
export interface IStepJSON {
  uuid: string;
  title: string;
  file_path: string;
  /** UUIDs of the steps whose outputs this step receives. */
  incoming_connections: string[];
  environment?: string;
  kernel?: { name?: string; display_name?: string; [key: string]: unknown };
  parameters?: Record<string, unknown>;
  meta_data?: {
    hidden?: boolean;
    position?: [number, number];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** The settings Orchest keeps for a pipeline. */
export interface IPipelineSettings {
  auto_eviction?: boolean;
  data_passing_memory_size?: string;
  max_steps_parallelism?: number;
  [key: string]: unknown;
}

/** A pipeline definition as stored in the file. */
export interface IPipelineJSON {
  name: string;
  uuid: string;
  version: string;
  settings?: IPipelineSettings;
  parameters?: Record<string, unknown>;
  services?: Record<string, unknown>;
  steps: Record<string, IStepJSON>;
  [key: string]: unknown;
}

/** A position on the canvas, as Orchest stores it: `[x, y]`. */
export type Position = [number, number];

/** The file extensions a step can run, as the server accepts them. */
export const STEP_EXTENSIONS = [
  '.ipynb',
  '.py',
  '.sh',
  '.R',
  '.r',
  '.jl',
  '.js'
];

/** The kernel Orchest gives Python steps. */
export const DEFAULT_KERNEL = { name: 'python', display_name: 'Python 3' };

export type ParseResult =
  { ok: true; pipeline: IPipelineJSON } | { ok: false; message: string };

/**
 * Parse the text of a pipeline file far enough for the editor to show and edit it.
 *
 * Full validation is the server's job; this only refuses what the canvas cannot draw,
 * with a message a person can act on, because the file may be edited by hand.
 */
export function parsePipeline(text: string): ParseResult {
  if (text.trim() === '') {
    return { ok: false, message: 'The file is empty.' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      message: `The file is not valid JSON: ${(error as Error).message}`
    };
  }
  if (!isObject(parsed)) {
    return {
      ok: false,
      message: 'A pipeline definition must be a JSON object.'
    };
  }
  const steps = parsed.steps ?? {};
  if (!isObject(steps)) {
    return {
      ok: false,
      message: '"steps" must be a JSON object that maps step UUIDs to steps.'
    };
  }
  for (const [key, step] of Object.entries(steps)) {
    if (!isObject(step)) {
      return { ok: false, message: `Step "${key}" must be a JSON object.` };
    }
    const incoming = step.incoming_connections ?? [];
    if (
      !Array.isArray(incoming) ||
      !incoming.every(parent => typeof parent === 'string')
    ) {
      return {
        ok: false,
        message: `The incoming connections of step "${key}" must be a list of step UUIDs.`
      };
    }
  }
  return { ok: true, pipeline: parsed as unknown as IPipelineJSON };
}

/**
 * The text the server writes for a definition: what Python's
 * `json.dumps(doc, indent=4, sort_keys=True)` gives, so that saving through the server
 * leaves the file byte for byte as the editor's model holds it.
 */
export function serializePipeline(pipeline: IPipelineJSON): string {
  return dumpValue(pipeline, '');
}

function dumpValue(value: unknown, indent: string): string {
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return '[]';
    }
    const inner = indent + '    ';
    const items = value.map(item => inner + dumpValue(item, inner));
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  if (isObject(value)) {
    const keys = Object.keys(value)
      .filter(key => value[key] !== undefined)
      .sort();
    if (keys.length === 0) {
      return '{}';
    }
    const inner = indent + '    ';
    const items = keys.map(
      key => `${inner}${dumpString(key)}: ${dumpValue(value[key], inner)}`
    );
    return `{\n${items.join(',\n')}\n${indent}}`;
  }
  if (typeof value === 'string') {
    return dumpString(value);
  }
  return JSON.stringify(value ?? null);
}

/** A JSON string with every non-ASCII character escaped, as Python's `ensure_ascii`. */
function dumpString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\uffff]/g,
    char => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
  );
}

/** The steps of a pipeline, in file order. */
export function stepsOf(pipeline: IPipelineJSON): IStepJSON[] {
  return Object.values(pipeline.steps);
}

/** Where a step sits on the canvas, or null when the file does not say. */
export function positionOf(step: IStepJSON): Position | null {
  const position = step.meta_data?.position;
  return Array.isArray(position) &&
    position.length === 2 &&
    position.every(coordinate => Number.isFinite(coordinate))
    ? [position[0], position[1]]
    : null;
}

/** Whether a file can be a step: a notebook or a script the server can run. */
export function isStepFile(path: string): boolean {
  return STEP_EXTENSIONS.includes(PathExt.extname(path));
}

/** A step's title for a file: its name without the extension (`get-data.ipynb` → `get-data`). */
export function titleForFile(path: string): string {
  return PathExt.basename(path, PathExt.extname(path));
}

/** What a new step needs besides its file. */
export interface INewStep {
  uuid: string;
  /** Path of the file relative to the pipeline's folder. */
  filePath: string;
  position: Position;
  environment: string;
}

/** Add a step that runs `filePath`, with no connections. */
export function addStep(
  pipeline: IPipelineJSON,
  step: INewStep
): IPipelineJSON {
  const created: IStepJSON = {
    uuid: step.uuid,
    title: titleForFile(step.filePath),
    file_path: step.filePath,
    incoming_connections: [],
    environment: step.environment,
    kernel: { ...DEFAULT_KERNEL },
    parameters: {},
    meta_data: { hidden: false, position: roundPosition(step.position) }
  };
  return { ...pipeline, steps: { ...pipeline.steps, [step.uuid]: created } };
}

/** Remove steps, and every connection from or to them. */
export function removeSteps(
  pipeline: IPipelineJSON,
  uuids: Iterable<string>
): IPipelineJSON {
  const removed = new Set(uuids);
  const steps: Record<string, IStepJSON> = {};
  for (const [key, step] of Object.entries(pipeline.steps)) {
    if (removed.has(key)) {
      continue;
    }
    const kept = step.incoming_connections.filter(
      parent => !removed.has(parent)
    );
    steps[key] =
      kept.length === step.incoming_connections.length
        ? step
        : { ...step, incoming_connections: kept };
  }
  return { ...pipeline, steps };
}

/** A connection from a parent step to a child step. */
export interface IConnection {
  parent: string;
  child: string;
}

/** Every connection of a pipeline, children in file order, parents in their list's order. */
export function connectionsOf(pipeline: IPipelineJSON): IConnection[] {
  return stepsOf(pipeline).flatMap(step =>
    step.incoming_connections
      .filter(parent => parent in pipeline.steps)
      .map(parent => ({ parent, child: step.uuid }))
  );
}

/** Remove connections; connections that do not exist are ignored. */
export function removeConnections(
  pipeline: IPipelineJSON,
  connections: readonly IConnection[]
): IPipelineJSON {
  let steps = pipeline.steps;
  for (const { parent, child } of connections) {
    const step = steps[child];
    if (step?.incoming_connections.includes(parent)) {
      steps = {
        ...steps,
        [child]: {
          ...step,
          incoming_connections: step.incoming_connections.filter(
            p => p !== parent
          )
        }
      };
    }
  }
  return steps === pipeline.steps ? pipeline : { ...pipeline, steps };
}

/** Move steps to new positions (whole pixels, as Orchest writes them). */
export function moveSteps(
  pipeline: IPipelineJSON,
  positions: ReadonlyMap<string, Position>
): IPipelineJSON {
  const steps = { ...pipeline.steps };
  for (const [uuid, position] of positions) {
    const step = steps[uuid];
    if (step !== undefined) {
      steps[uuid] = {
        ...step,
        meta_data: {
          hidden: false,
          ...step.meta_data,
          position: roundPosition(position)
        }
      };
    }
  }
  return { ...pipeline, steps };
}

/** The fields of a step the properties panel edits. */
export type StepPatch = Partial<
  Pick<
    IStepJSON,
    'title' | 'file_path' | 'environment' | 'kernel' | 'parameters'
  > &
    Record<AttemptKey, number | undefined>
>;

export function updateStep(
  pipeline: IPipelineJSON,
  uuid: string,
  patch: StepPatch
): IPipelineJSON {
  const step = pipeline.steps[uuid];
  if (step === undefined) {
    return pipeline;
  }
  const next: IStepJSON = { ...step, ...patch };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) {
      delete next[key]; // a setting cleared: the step no longer names it
    }
  }
  return { ...pipeline, steps: { ...pipeline.steps, [uuid]: next } };
}

/** The fields of a pipeline its settings panel edits. */
export type PipelinePatch = Partial<
  Pick<IPipelineJSON, 'name' | 'parameters' | 'settings'>
>;

export function updatePipeline(
  pipeline: IPipelineJSON,
  patch: PipelinePatch
): IPipelineJSON {
  return { ...pipeline, ...patch };
}

/**
 * The path of a step's file relative to the server's root, from the pipeline's path and
 * the step's `file_path` (relative to the pipeline's folder).
 */
export function stepFileFromRoot(
  pipelinePath: string,
  filePath: string
): string {
  return PathExt.normalize(
    PathExt.join(PathExt.dirname(pipelinePath), filePath)
  );
}

/**
 * The `file_path` a step gets for a file (both relative to the server's root), or null
 * when the file is outside the project, where steps cannot reach it.
 */
export function stepFileFromPipeline(
  pipelinePath: string,
  project: string,
  file: string
): string | null {
  const inProject = PathExt.relative(project || '.', file);
  if (inProject.startsWith('..')) {
    return null;
  }
  return PathExt.relative(PathExt.dirname(pipelinePath) || '.', file);
}

function roundPosition([x, y]: Position): Position {
  return [Math.round(x), Math.round(y)];
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
