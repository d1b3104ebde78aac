/**
 * Environment variables as the pipeline panel edits them: rows of names and values, checked
 * as the server checks them (POSIX names, none of the engine's), and the objects the REST API
 * takes.
 */

/** One row of a variables editor; `id` keeps React's rows apart while names change. */
export interface IVariableRow {
  id: number;
  name: string;
  value: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_PREFIX = 'ORCHEST_';

let nextId = 0;

/** Rows for an object of variables, sorted by name. */
export function rowsOf(variables: Record<string, string>): IVariableRow[] {
  return Object.keys(variables)
    .sort()
    .map(name => ({ id: nextId++, name, value: variables[name] }));
}

/** A new, empty row. */
export function emptyRow(): IVariableRow {
  return { id: nextId++, name: '', value: '' };
}

/** The object of variables the rows hold; rows left entirely empty are not variables. */
export function variablesOf(
  rows: readonly IVariableRow[]
): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const row of rows) {
    if (row.name !== '' || row.value !== '') {
      variables[row.name] = row.value;
    }
  }
  return variables;
}

/** What is wrong with a row, given every row of its editor; null when nothing is. */
export function rowProblem(
  row: IVariableRow,
  rows: readonly IVariableRow[]
): string | null {
  if (row.name === '' && row.value === '') {
    return null;
  }
  if (!NAME.test(row.name)) {
    return 'A name is letters, digits and _, not starting with a digit.';
  }
  if (row.name === 'PATH' || row.name.startsWith(RESERVED_PREFIX)) {
    return `${row.name} is the engine’s: choose another name.`;
  }
  if (rows.some(other => other !== row && other.name === row.name)) {
    return `${row.name} is there twice.`;
  }
  if (row.value.includes('\0')) {
    return 'A value cannot hold a NUL character.';
  }
  return null;
}

/** Whether two objects of variables are the same. */
export function sameVariables(
  a: Record<string, string>,
  b: Record<string, string>
): boolean {
  const names = Object.keys(a);
  return (
    names.length === Object.keys(b).length &&
    names.every(name => name in b && a[name] === b[name])
  );
}
