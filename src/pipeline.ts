/**
 * Pure logic over pipeline definitions (`*.orchest` files, Orchest format 1.0.0):
 * parsing, ordering steps, and the view-model of the placeholder document view.
 *
 * Nothing here touches the DOM or the server, so it is tested directly with jest.
 * Full validation is the server's job (it ships the JSON Schema); parsing here only
 * checks what the view needs to show something sensible.
 */

/**
 * One step of a pipeline, as much of it as the lab plugin reads.
 */
export interface IPipelineStep {
  uuid: string;
  title: string;
  filePath: string;
  /** UUIDs of the steps whose outputs this step receives. */
  parents: string[];
}

/**
 * A parsed pipeline definition, steps in the order the file lists them.
 */
export interface IPipelineDefinition {
  name: string;
  steps: IPipelineStep[];
}

/**
 * A validation issue, as the server reports it for a pipeline file.
 */
export interface IValidationIssue {
  /** JSON pointer into the definition, e.g. `/steps/<uuid>/file_path`. */
  pointer: string;
  message: string;
  rule: string;
  /** UUID of the step the issue is about, or null for the pipeline as a whole. */
  step: string | null;
}

export type ParseResult =
  | { ok: true; definition: IPipelineDefinition }
  | { ok: false; message: string };

/**
 * Parse the text of a `*.orchest` file.
 *
 * Returns a message a person can act on instead of throwing, because the file may be
 * edited by hand (or half-written by another editor) while the view is open.
 */
export function parsePipelineDefinition(text: string): ParseResult {
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
  if (!isJsonObject(parsed)) {
    return {
      ok: false,
      message: 'A pipeline definition must be a JSON object.'
    };
  }
  const rawSteps = parsed.steps ?? {};
  if (!isJsonObject(rawSteps)) {
    return {
      ok: false,
      message: '"steps" must be a JSON object that maps step UUIDs to steps.'
    };
  }
  const steps: IPipelineStep[] = [];
  for (const [uuid, rawStep] of Object.entries(rawSteps)) {
    if (!isJsonObject(rawStep)) {
      return {
        ok: false,
        message: `Step "${uuid}" must be a JSON object.`
      };
    }
    const incoming = rawStep.incoming_connections;
    steps.push({
      uuid,
      title: typeof rawStep.title === 'string' ? rawStep.title : '',
      filePath: typeof rawStep.file_path === 'string' ? rawStep.file_path : '',
      parents: Array.isArray(incoming)
        ? incoming.filter(
            (parent): parent is string => typeof parent === 'string'
          )
        : []
    });
  }
  return {
    ok: true,
    definition: {
      name: typeof parsed.name === 'string' ? parsed.name : '',
      steps
    }
  };
}

/**
 * The result of ordering a pipeline's steps.
 */
export interface IStepOrder {
  /** UUIDs of the steps that can run, each after all of its parents. */
  ordered: string[];
  /** UUIDs of the steps that cannot be ordered: on a cycle or downstream of one. */
  blocked: string[];
  /**
   * One cycle, if there is any: each step is a parent of the next and the last is a
   * parent of the first. Empty when the pipeline is a DAG.
   */
  cycle: string[];
}

/**
 * Order steps so that every step comes after its parents (a topological order).
 *
 * Among the steps that are ready at the same time, the one listed first in the file
 * comes first, so the order is stable while a person edits the file. Parents that are
 * not steps of the pipeline are ignored here (the server reports them as issues).
 * Pipelines have tens of steps, so the quadratic scan is simpler than a priority queue
 * and fast enough.
 */
export function orderSteps(steps: readonly IPipelineStep[]): IStepOrder {
  const known = new Set(steps.map(step => step.uuid));
  const placed = new Set<string>();
  const ordered: string[] = [];
  let pending = [...steps];
  for (;;) {
    const ready = pending.find(step =>
      step.parents.every(parent => placed.has(parent) || !known.has(parent))
    );
    if (ready === undefined) {
      break;
    }
    placed.add(ready.uuid);
    ordered.push(ready.uuid);
    pending = pending.filter(step => step !== ready);
  }
  return {
    ordered,
    blocked: pending.map(step => step.uuid),
    cycle: findCycle(pending)
  };
}

/**
 * Find one cycle among steps that could not be ordered.
 *
 * Each of those steps has at least one parent that could not be ordered either, so
 * walking from parent to parent must eventually revisit a step: the walk from that
 * step's first visit on is a cycle.
 */
function findCycle(blocked: readonly IPipelineStep[]): string[] {
  if (blocked.length === 0) {
    return [];
  }
  const byUuid = new Map(blocked.map(step => [step.uuid, step]));
  const walk: string[] = [];
  let current = blocked[0];
  while (!walk.includes(current.uuid)) {
    walk.push(current.uuid);
    const parent = current.parents.find(uuid => byUuid.has(uuid)) as string;
    current = byUuid.get(parent) as IPipelineStep;
  }
  // The walk goes from child to parent; a cycle reads from parent to child.
  return walk.slice(walk.indexOf(current.uuid)).reverse();
}

/**
 * One row of the placeholder's step list.
 */
export interface IStepRow {
  uuid: string;
  title: string;
  filePath: string;
  /** Parents by title, or by UUID for a parent that is not a step of the pipeline. */
  parents: string[];
  /** True when the step is on a cycle or downstream of one, so it has no place in the order. */
  blocked: boolean;
}

/**
 * One row of the placeholder's list of validation issues.
 */
export interface IIssueRow {
  /** What the issue is about: a step's title, or where in the file. */
  subject: string;
  message: string;
}

/**
 * How far the server's validation of the file has got.
 */
export type ValidationState =
  | { status: 'checking' }
  | { status: 'checked'; issues: readonly IValidationIssue[] }
  | { status: 'unavailable'; message: string };

/**
 * The validation part of the view: issues are described for people.
 */
export type ValidationView =
  | { status: 'checking' }
  | { status: 'checked'; issues: IIssueRow[] }
  | { status: 'unavailable'; message: string };

/**
 * What the placeholder document view shows for a pipeline file.
 */
export type PipelineView =
  | { kind: 'malformed'; message: string }
  | {
      kind: 'pipeline';
      name: string;
      /** Steps in topological order, blocked steps last. */
      steps: IStepRow[];
      /** Step titles along a cycle, empty when there is none. */
      cycle: string[];
      validation: ValidationView;
    };

/** Shown for a pipeline or a step whose name is empty. */
export const UNTITLED_PIPELINE = 'Untitled pipeline';
export const UNTITLED_STEP = 'Untitled step';

/**
 * Build the view-model of the placeholder view from the file's text and the state of
 * the server's validation of it.
 *
 * A malformed file shows only what is wrong with its text: the server's issues for it
 * would say the same.
 */
export function buildPipelineView(
  text: string,
  validation: ValidationState
): PipelineView {
  const result = parsePipelineDefinition(text);
  if (!result.ok) {
    return { kind: 'malformed', message: result.message };
  }
  const { definition } = result;
  const byUuid = new Map(definition.steps.map(step => [step.uuid, step]));
  const titleOf = (uuid: string): string => {
    const step = byUuid.get(uuid);
    if (step === undefined) {
      return `${uuid} (not a step of this pipeline)`;
    }
    return step.title || UNTITLED_STEP;
  };
  const toRow = (uuid: string, blocked: boolean): IStepRow => {
    const step = byUuid.get(uuid) as IPipelineStep;
    return {
      uuid,
      title: titleOf(uuid),
      filePath: step.filePath,
      parents: step.parents.map(titleOf),
      blocked
    };
  };
  const describeIssue = (issue: IValidationIssue): IIssueRow => ({
    subject:
      issue.step !== null && byUuid.has(issue.step)
        ? `Step "${titleOf(issue.step)}"`
        : issue.pointer || 'Pipeline',
    message: issue.message
  });
  const order = orderSteps(definition.steps);
  return {
    kind: 'pipeline',
    name: definition.name || UNTITLED_PIPELINE,
    steps: [
      ...order.ordered.map(uuid => toRow(uuid, false)),
      ...order.blocked.map(uuid => toRow(uuid, true))
    ],
    cycle: order.cycle.map(titleOf),
    validation:
      validation.status === 'checked'
        ? { status: 'checked', issues: validation.issues.map(describeIssue) }
        : validation
  };
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
