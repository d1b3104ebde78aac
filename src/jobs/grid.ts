/**
 * The parameter grid of a new job, as the form edits it: one axis per pipeline or step
 * parameter, each a list of values; the runs are the axes' cartesian product, less the
 * combinations left out.
 */

/** The grid as the REST API reads and writes it. */
export interface IGridJSON {
  pipeline: Record<string, unknown[]>;
  steps: Record<string, Record<string, unknown[]>>;
  excluded?: number[];
}

/** One parameter's values, as typed in the form. */
export interface IGridAxis {
  /** The step's uuid, or null for a pipeline parameter. */
  step: string | null;
  name: string;
  /** The values as JSON text, as the user types them. */
  text: string;
}

/** What an axis's text means: its values, or why they are not a list. */
export type ParsedValues =
  { values: unknown[]; error: null } | { values: null; error: string };

export function parseValues(text: string): ParsedValues {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { values: null, error: (error as Error).message };
  }
  if (!Array.isArray(parsed)) {
    return { values: null, error: 'Write a JSON list, e.g. [1, 2, 3].' };
  }
  if (parsed.length === 0) {
    return { values: null, error: 'Give at least one value.' };
  }
  return { values: parsed, error: null };
}

/**
 * The axes of a grid in the server's product order: pipeline parameters first, then each
 * step's, in the order the grid lists them.
 */
export function axesFromGrid(grid: IGridJSON): IGridAxis[] {
  const axis = (step: string | null, name: string, values: unknown[]) => ({
    step,
    name,
    text: JSON.stringify(values)
  });
  return [
    ...Object.entries(grid.pipeline).map(([name, values]) =>
      axis(null, name, values)
    ),
    ...Object.entries(grid.steps).flatMap(([step, parameters]) =>
      Object.entries(parameters).map(([name, values]) =>
        axis(step, name, values)
      )
    )
  ];
}

/** The values of every axis, or null while one of them is not a valid list. */
export function axisValues(axes: IGridAxis[]): unknown[][] | null {
  const parsed = axes.map(axis => parseValues(axis.text).values);
  return parsed.every(values => values !== null)
    ? (parsed as unknown[][])
    : null;
}

/** How many combinations the full product has. */
export function combinationCount(values: unknown[][]): number {
  return values.reduce((count, axis) => count * axis.length, 1);
}

/**
 * Every combination as the values it takes on each axis, the first axis varying slowest,
 * so that a combination's index is the one the server numbers it with.
 */
export function combinations(values: unknown[][]): unknown[][] {
  return values.reduce<unknown[][]>(
    (product, axis) =>
      product.flatMap(prefix => axis.map(value => [...prefix, value])),
    [[]]
  );
}

/** The excluded indices that still name a combination, sorted. */
export function validExcluded(excluded: Set<number>, count: number): number[] {
  return [...excluded].filter(index => index < count).sort((a, b) => a - b);
}

/** The grid to send, or null while an axis is invalid. */
export function gridToJSON(
  axes: IGridAxis[],
  excluded: Set<number>
): IGridJSON | null {
  const values = axisValues(axes);
  if (values === null) {
    return null;
  }
  const grid: IGridJSON = {
    pipeline: {},
    steps: {},
    excluded: validExcluded(excluded, combinationCount(values))
  };
  axes.forEach((axis, index) => {
    const target =
      axis.step === null
        ? grid.pipeline
        : (grid.steps[axis.step] = grid.steps[axis.step] ?? {});
    target[axis.name] = values[index];
  });
  return grid;
}
