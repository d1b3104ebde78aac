import * as nbformat from '@jupyterlab/nbformat';
import { OutputAreaModel, SimplifiedOutputArea } from '@jupyterlab/outputarea';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Contents } from '@jupyterlab/services';
import { Panel, Widget } from '@lumino/widgets';
import * as React from 'react';

import { useTrans } from '../translation';

/**
 * The outputs of a notebook's code cells, rendered as JupyterLab renders them, read-only.
 *
 * Outputs are shown untrusted: HTML is sanitized and scripts do not run, as for any
 * notebook the user has not trusted.
 */
export function NotebookOutputs(props: {
  path: string;
  contents: Contents.IManager;
  rendermime: IRenderMimeRegistry;
  /** Reads the notebook's text elsewhere than the contents API (a job's run folder). */
  readFile?: (path: string) => Promise<string>;
}): JSX.Element {
  const { path, contents, rendermime, readFile } = props;
  const trans = useTrans();
  const host = React.useRef<HTMLDivElement>(null);
  const [state, setState] = React.useState<
    'loading' | 'empty' | 'shown' | string
  >('loading');
  React.useEffect(() => {
    let shown: Panel | null = null;
    let current = true;
    setState('loading');
    const read = readFile
      ? readFile(path).then(
          text => JSON.parse(text) as nbformat.INotebookContent
        )
      : contents
          .get(path, { type: 'notebook', content: true })
          .then(model => model.content as nbformat.INotebookContent | null);
    read.then(
      notebook => {
        const cells = (notebook?.cells ?? []) as nbformat.ICell[];
        const outputs = cells
          .filter(nbformat.isCode)
          .map(cell => cell.outputs)
          .filter(cellOutputs => cellOutputs.length > 0);
        if (!current || host.current === null) {
          return;
        }
        if (outputs.length === 0) {
          setState('empty');
          return;
        }
        shown = new Panel();
        for (const values of outputs) {
          shown.addWidget(
            new SimplifiedOutputArea({
              model: new OutputAreaModel({ values, trusted: false }),
              rendermime
            })
          );
        }
        Widget.attach(shown, host.current);
        setState('shown');
      },
      error => current && setState((error as Error).message)
    );
    return () => {
      current = false;
      shown?.dispose();
    };
  }, [path, contents, rendermime, readFile]);
  return (
    <div className="jp-OrchestRunView-notebook">
      {state === 'loading' && <p>{trans.__('Reading the notebook…')}</p>}
      {state === 'empty' && <p>{trans.__('The notebook holds no outputs.')}</p>}
      {!['loading', 'empty', 'shown'].includes(state) && (
        <p className="jp-OrchestLog-error">{state}</p>
      )}
      <div ref={host} />
    </div>
  );
}
