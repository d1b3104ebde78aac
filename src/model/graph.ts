/**
 * The graph side of a pipeline: which connections are allowed, and which steps a run of
 * "incoming" steps includes.
 */

import { IPipelineJSON } from './definition';

/** Why a connection is refused, in words for the person who drew it; null when allowed. */
export function connectionRefusal(
  pipeline: IPipelineJSON,
  parent: string,
  child: string
): string | null {
  const from = pipeline.steps[parent];
  const to = pipeline.steps[child];
  if (from === undefined || to === undefined) {
    return 'Both ends of a connection must be steps of this pipeline.';
  }
  if (parent === child) {
    return 'A step cannot be connected to itself.';
  }
  if (to.incoming_connections.includes(parent)) {
    return `"${from.title}" is already connected to "${to.title}".`;
  }
  if (ancestorsOf(pipeline, [parent]).has(child)) {
    return `Connecting "${from.title}" to "${to.title}" would make a cycle: "${to.title}" already runs before "${from.title}".`;
  }
  return null;
}

/** Add a connection, or say why it cannot be made. */
export function connect(
  pipeline: IPipelineJSON,
  parent: string,
  child: string
): { ok: true; pipeline: IPipelineJSON } | { ok: false; message: string } {
  const refusal = connectionRefusal(pipeline, parent, child);
  if (refusal !== null) {
    return { ok: false, message: refusal };
  }
  const step = pipeline.steps[child];
  return {
    ok: true,
    pipeline: {
      ...pipeline,
      steps: {
        ...pipeline.steps,
        [child]: {
          ...step,
          incoming_connections: [...step.incoming_connections, parent]
        }
      }
    }
  };
}

/**
 * Every step that runs before any of `uuids` (their parents, their parents' parents, ...),
 * without the steps themselves unless one is its own ancestor.
 */
export function ancestorsOf(
  pipeline: IPipelineJSON,
  uuids: Iterable<string>
): Set<string> {
  const found = new Set<string>();
  const pending = [...uuids];
  while (pending.length > 0) {
    const step = pipeline.steps[pending.pop() as string];
    for (const parent of step?.incoming_connections ?? []) {
      if (!found.has(parent) && parent in pipeline.steps) {
        found.add(parent);
        pending.push(parent);
      }
    }
  }
  return found;
}

/**
 * Order steps so that every step comes after its parents; steps on a cycle (possible in a
 * file edited by hand) and after one come last, in file order.
 *
 * Kahn's algorithm, with ties broken by file order so the order is stable while editing.
 */
export function orderSteps(pipeline: IPipelineJSON): string[] {
  const uuids = Object.keys(pipeline.steps);
  const waitingFor = new Map<string, number>();
  const children = new Map<string, string[]>(uuids.map(uuid => [uuid, []]));
  for (const uuid of uuids) {
    const parents = new Set(
      pipeline.steps[uuid].incoming_connections.filter(p => p in pipeline.steps)
    );
    waitingFor.set(uuid, parents.size);
    for (const parent of parents) {
      children.get(parent)?.push(uuid);
    }
  }
  const indexOf = new Map(uuids.map((uuid, index) => [uuid, index]));
  const ready = uuids.filter(uuid => waitingFor.get(uuid) === 0);
  const ordered: string[] = [];
  while (ready.length > 0) {
    ready.sort(
      (a, b) => (indexOf.get(a) as number) - (indexOf.get(b) as number)
    );
    const next = ready.shift() as string;
    ordered.push(next);
    for (const child of children.get(next) ?? []) {
      const left = (waitingFor.get(child) as number) - 1;
      waitingFor.set(child, left);
      if (left === 0) {
        ready.push(child);
      }
    }
  }
  const placed = new Set(ordered);
  return [...ordered, ...uuids.filter(uuid => !placed.has(uuid))];
}
