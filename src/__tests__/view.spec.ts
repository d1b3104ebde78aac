import { PipelineView } from '../pipeline';
import { renderPipelineView } from '../view';

function rowsOf(root: HTMLElement): string[][] {
  return Array.from(root.querySelectorAll('tbody tr')).map(row =>
    Array.from(row.querySelectorAll('td')).map(cell => cell.textContent ?? '')
  );
}

describe('renderPipelineView', () => {
  it('renders the name, the ordered steps and the issues', () => {
    const view: PipelineView = {
      kind: 'pipeline',
      name: 'ETL',
      steps: [
        {
          uuid: 'a',
          title: 'Load',
          filePath: 'load.py',
          parents: [],
          blocked: false
        },
        {
          uuid: 'b',
          title: 'Clean',
          filePath: 'clean.ipynb',
          parents: ['Load'],
          blocked: false
        }
      ],
      cycle: [],
      validation: {
        status: 'checked',
        issues: [{ subject: 'Step "Load"', message: 'load.py does not exist.' }]
      }
    };
    const root = renderPipelineView(view);
    expect(root.querySelector('h1')?.textContent).toBe('ETL');
    expect(rowsOf(root)).toEqual([
      ['1', 'Load', 'load.py', ''],
      ['2', 'Clean', 'clean.ipynb', 'Load']
    ]);
    expect(root.querySelector('.jp-OrchestPipeline-issues')?.textContent).toBe(
      'Step "Load": load.py does not exist.'
    );
  });

  it('marks a cycle and the steps it blocks', () => {
    const root = renderPipelineView({
      kind: 'pipeline',
      name: 'Loop',
      steps: [
        {
          uuid: 'a',
          title: 'Ping',
          filePath: 'ping.py',
          parents: ['Pong'],
          blocked: true
        },
        {
          uuid: 'b',
          title: 'Pong',
          filePath: 'pong.py',
          parents: ['Ping'],
          blocked: true
        }
      ],
      cycle: ['Ping', 'Pong'],
      validation: { status: 'checking' }
    });
    expect(
      root.querySelector('.jp-OrchestPipeline-error')?.textContent
    ).toContain('Ping → Pong → Ping');
    expect(root.querySelectorAll('tr.jp-mod-blocked')).toHaveLength(2);
    expect(root.querySelector('.jp-OrchestPipeline-pending')?.textContent).toBe(
      'Checking…'
    );
  });

  it('shows the message of a malformed file as text, not markup', () => {
    const root = renderPipelineView({
      kind: 'malformed',
      message: 'The file is not valid JSON: <img src=x onerror=alert(1)>'
    });
    expect(root.querySelector('img')).toBeNull();
    expect(root.querySelector('.jp-OrchestPipeline-error')?.textContent).toBe(
      'The file is not valid JSON: <img src=x onerror=alert(1)>'
    );
    expect(root.querySelector('table')).toBeNull();
  });

  it('says so when a pipeline has no steps or no issues', () => {
    const root = renderPipelineView({
      kind: 'pipeline',
      name: 'Empty',
      steps: [],
      cycle: [],
      validation: { status: 'checked', issues: [] }
    });
    expect(root.querySelector('.jp-OrchestPipeline-empty')?.textContent).toBe(
      'No steps yet.'
    );
    expect(root.querySelector('.jp-OrchestPipeline-valid')?.textContent).toBe(
      'No issues found.'
    );
  });
});
