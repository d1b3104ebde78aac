/** Notebooks the UI tests upload. */

/** A Python notebook of one code cell with this source. */
export function notebookOf(source: string): string {
  return JSON.stringify({
    cells: [
      {
        cell_type: 'code',
        execution_count: null,
        id: 'c0ffee00',
        metadata: {},
        outputs: [],
        source: [source]
      }
    ],
    metadata: {
      kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  });
}
