import {
  emptyRow,
  rowProblem,
  rowsOf,
  sameVariables,
  variablesOf
} from '../model/variables';

describe('the environment variables editor', () => {
  it('turns variables into rows sorted by name and back', () => {
    const rows = rowsOf({ TOKEN: 's3cret', API_URL: 'https://x' });
    expect(rows.map(row => row.name)).toEqual(['API_URL', 'TOKEN']);
    expect(variablesOf([...rows, emptyRow()])).toEqual({
      TOKEN: 's3cret',
      API_URL: 'https://x'
    });
  });

  it('says what is wrong with a row as the server would', () => {
    const rows = rowsOf({ A: '1' });
    const check = (name: string, value = 'x') =>
      rowProblem({ id: -1, name, value }, rows);
    expect(check('GOOD_NAME')).toBeNull();
    expect(check('1X')).toMatch('letters, digits');
    expect(check('MY-VAR')).toMatch('letters, digits');
    expect(check('PATH')).toMatch('the engine');
    expect(check('ORCHEST_STEP_UUID')).toMatch('the engine');
    expect(check('A')).toMatch('twice');
    expect(check('B', 'a\0b')).toMatch('NUL');
    expect(rowProblem(emptyRow(), rows)).toBeNull();
  });

  it('tells whether anything changed', () => {
    expect(sameVariables({ A: '1' }, { A: '1' })).toBe(true);
    expect(sameVariables({ A: '1' }, { A: '2' })).toBe(false);
    expect(sameVariables({ A: '1' }, { A: '1', B: '' })).toBe(false);
  });
});
