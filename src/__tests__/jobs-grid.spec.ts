import {
  axesFromGrid,
  axisValues,
  combinationCount,
  combinations,
  gridToJSON,
  parseValues
} from '../jobs/grid';

const grid = {
  pipeline: { n_rows: [100, 200] },
  steps: { clean: { low: [1, 5, 9] } }
};

describe('the parameter grid of a new job', () => {
  it('lists pipeline parameters before step parameters', () => {
    expect(axesFromGrid(grid)).toEqual([
      { step: null, name: 'n_rows', text: '[100,200]' },
      { step: 'clean', name: 'low', text: '[1,5,9]' }
    ]);
  });

  it('counts and orders combinations with the first axis varying slowest', () => {
    const values = axisValues(axesFromGrid(grid)) as unknown[][];
    expect(combinationCount(values)).toBe(6);
    expect(combinations(values)).toEqual([
      [100, 1],
      [100, 5],
      [100, 9],
      [200, 1],
      [200, 5],
      [200, 9]
    ]);
    expect(combinationCount([])).toBe(1);
    expect(combinations([])).toEqual([[]]);
  });

  it('accepts a non-empty JSON list only, saying why', () => {
    expect(parseValues('[1, "a", {"b": 2}]')).toEqual({
      values: [1, 'a', { b: 2 }],
      error: null
    });
    expect(parseValues('[1, ').error).toEqual(expect.any(String));
    expect(parseValues('3').error).toBe('Write a JSON list, e.g. [1, 2, 3].');
    expect(parseValues('[]').error).toBe('Give at least one value.');
  });

  it('sends the grid with its excluded indices, sorted and in range', () => {
    const axes = axesFromGrid(grid);
    expect(gridToJSON(axes, new Set([4, 0, 11]))).toEqual({
      pipeline: { n_rows: [100, 200] },
      steps: { clean: { low: [1, 5, 9] } },
      excluded: [0, 4]
    });
  });

  it('sends nothing while a value list is invalid', () => {
    const axes = axesFromGrid(grid);
    axes[1] = { ...axes[1], text: '[1, 5' };
    expect(axisValues(axes)).toBeNull();
    expect(gridToJSON(axes, new Set())).toBeNull();
  });
});
