import * as React from 'react';

import { OrchestClient } from '../api';
import { IStepRunJSON } from '../model/runs';
import { IStepFilesJSON, shownFiles } from '../model/writtenFiles';
import { useTrans } from '../translation';

/**
 * The files a finished step wrote, read from its provenance once it is computed (again when
 * it is computed anew); null until then, or when the server has none.
 */
export function useStepFiles(
  client: OrchestClient,
  runId: string | null,
  step: IStepRunJSON | null
): IStepFilesJSON | null {
  const [files, setFiles] = React.useState<IStepFilesJSON | null>(null);
  const uuid = step?.uuid ?? null;
  const computed = step?.state === 'COMPUTED';
  React.useEffect(() => {
    setFiles(null);
    if (runId === null || uuid === null || !computed) {
      return;
    }
    let current = true;
    client.stepProvenance(runId, uuid).then(
      found => current && setFiles(found),
      () => undefined // no provenance (recorded before it existed): nothing to list
    );
    return () => {
      current = false;
    };
  }, [client, runId, uuid, computed]);
  return files;
}

/** The files a step wrote, folded to one line: how many, and their size. */
export function StepFiles(props: {
  client: OrchestClient;
  runId: string | null;
  step: IStepRunJSON | null;
}): JSX.Element | null {
  const trans = useTrans();
  const found = useStepFiles(props.client, props.runId, props.step);
  if (found === null || found.files.length === 0) {
    return null;
  }
  const { shown, more, total } = shownFiles(found.files);
  return (
    <details className="jp-OrchestStepFiles">
      <summary>
        {trans._n(
          'Wrote %1 file (%2)',
          'Wrote %1 files (%2)',
          found.files.length,
          total
        )}
      </summary>
      <ul>
        {shown.map(file => (
          <li key={file.path}>
            <code>{file.path}</code>{' '}
            <span className="jp-OrchestStepFiles-size">{file.size}</span>
            {file.sharedWith.length > 0 && (
              <span className="jp-OrchestStepFiles-shared">
                {' '}
                {trans.__(
                  '· also written while %1 ran: not kept in the cache',
                  file.sharedWith.join(', ')
                )}
              </span>
            )}
          </li>
        ))}
        {more > 0 && <li>{trans.__('… and %1 more', more)}</li>}
      </ul>
    </details>
  );
}
