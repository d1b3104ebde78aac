import * as React from 'react';

import { IPipelineVariables, OrchestClient } from '../api';
import {
  emptyRow,
  IVariableRow,
  rowProblem,
  rowsOf,
  sameVariables,
  variablesOf
} from '../model/variables';
import { useTrans } from '../translation';

export interface IEnvVariablesProps {
  client: OrchestClient;
  /** The pipeline file, relative to the server's root. */
  pipelinePath: string;
}

type Status =
  | { kind: 'loading' }
  | { kind: 'idle' }
  | { kind: 'saving' }
  | { kind: 'saved' }
  | { kind: 'error'; message: string };

/**
 * The environment variables of the pipeline and of its project, as the pipeline panel edits
 * them: kept by the server out of the pipeline file (they hold secrets), so they are read and
 * saved over REST, not with the file. Values are hidden unless shown row by row.
 */
export function EnvVariables(props: IEnvVariablesProps): JSX.Element {
  const { client, pipelinePath } = props;
  const trans = useTrans();
  const [saved, setSaved] = React.useState<IPipelineVariables | null>(null);
  const [project, setProject] = React.useState<IVariableRow[]>([]);
  const [pipeline, setPipeline] = React.useState<IVariableRow[]>([]);
  const [status, setStatus] = React.useState<Status>({ kind: 'loading' });

  const show = (variables: IPipelineVariables) => {
    setSaved(variables);
    setProject(rowsOf(variables.project_env_variables));
    setPipeline(rowsOf(variables.pipeline_env_variables));
  };

  React.useEffect(() => {
    let current = true;
    setStatus({ kind: 'loading' });
    client.getVariables(pipelinePath).then(
      variables => {
        if (current) {
          show(variables);
          setStatus({ kind: 'idle' });
        }
      },
      error => {
        if (current) {
          setStatus({ kind: 'error', message: (error as Error).message });
        }
      }
    );
    return () => {
      current = false;
    };
  }, [client, pipelinePath]);

  const projectVariables = variablesOf(project);
  const pipelineVariables = variablesOf(pipeline);
  const invalid = [project, pipeline].some(rows =>
    rows.some(row => rowProblem(row, rows) !== null)
  );
  const changed =
    saved !== null &&
    (!sameVariables(projectVariables, saved.project_env_variables) ||
      !sameVariables(pipelineVariables, saved.pipeline_env_variables));

  const save = async () => {
    setStatus({ kind: 'saving' });
    try {
      show(
        await client.saveVariables(pipelinePath, {
          project_env_variables: projectVariables,
          pipeline_env_variables: pipelineVariables
        })
      );
      setStatus({ kind: 'saved' });
    } catch (error) {
      setStatus({ kind: 'error', message: (error as Error).message });
    }
  };

  return (
    <section
      className="jp-OrchestVariables"
      aria-label={trans.__('Environment variables')}
    >
      <h3 className="jp-OrchestProperties-subheading">
        {trans.__('Environment variables')}
      </h3>
      <p className="jp-OrchestProperties-hint">
        {trans.__(
          'Every step gets them; the pipeline’s win over the project’s, a job’s over both. They are kept out of the pipeline file and of git, and hidden in logs.'
        )}
      </p>
      {saved !== null && (
        <>
          <VariableRows
            label={trans.__('Project (%1)', saved.project || '/')}
            rows={project}
            onChange={setProject}
          />
          <VariableRows
            label={trans.__('This pipeline')}
            rows={pipeline}
            onChange={setPipeline}
          />
          <div className="jp-OrchestProperties-row">
            <button
              className="jp-mod-styled jp-mod-accept"
              disabled={!changed || invalid || status.kind === 'saving'}
              onClick={() => void save()}
            >
              {trans.__('Save variables')}
            </button>
            {changed && (
              <button
                className="jp-mod-styled jp-mod-reject"
                onClick={() => show(saved)}
              >
                {trans.__('Revert')}
              </button>
            )}
          </div>
        </>
      )}
      {status.kind === 'loading' && (
        <p className="jp-OrchestProperties-hint">{trans.__('Loading…')}</p>
      )}
      {status.kind === 'saved' && !changed && (
        <p className="jp-OrchestProperties-hint" role="status">
          {trans.__('Saved. Runs from now on get them.')}
        </p>
      )}
      {status.kind === 'error' && (
        <p className="jp-OrchestProperties-error" role="alert">
          {status.message}
        </p>
      )}
    </section>
  );
}

/** A key/value editor of one set of variables, values hidden unless shown. */
function VariableRows(props: {
  label: string;
  rows: IVariableRow[];
  onChange: (rows: IVariableRow[]) => void;
}): JSX.Element {
  const { label, rows, onChange } = props;
  const trans = useTrans();
  const [shown, setShown] = React.useState<ReadonlySet<number>>(new Set());
  const update = (id: number, patch: Partial<IVariableRow>) =>
    onChange(rows.map(row => (row.id === id ? { ...row, ...patch } : row)));
  const toggle = (id: number) => {
    const next = new Set(shown);
    if (!next.delete(id)) {
      next.add(id);
    }
    setShown(next);
  };
  return (
    <div className="jp-OrchestVariables-set" role="group" aria-label={label}>
      <span className="jp-OrchestProperties-label">{label}</span>
      {rows.map(row => {
        const problem = rowProblem(row, rows);
        const name = row.name || trans.__('new variable');
        return (
          <div key={row.id} className="jp-OrchestVariables-entry">
            <div className="jp-OrchestVariables-row">
              <input
                className="jp-mod-styled jp-OrchestVariables-name"
                value={row.name}
                placeholder={trans.__('NAME')}
                spellCheck={false}
                aria-label={trans.__('Name of %1', name)}
                aria-invalid={problem !== null}
                onChange={event => update(row.id, { name: event.target.value })}
              />
              <input
                className="jp-mod-styled jp-OrchestVariables-value"
                type={shown.has(row.id) ? 'text' : 'password'}
                autoComplete="new-password"
                value={row.value}
                placeholder={trans.__('value')}
                spellCheck={false}
                aria-label={trans.__('Value of %1', name)}
                onChange={event =>
                  update(row.id, { value: event.target.value })
                }
              />
              <button
                className="jp-OrchestVariables-button"
                aria-label={
                  shown.has(row.id)
                    ? trans.__('Hide %1', name)
                    : trans.__('Show %1', name)
                }
                title={shown.has(row.id) ? trans.__('Hide') : trans.__('Show')}
                onClick={() => toggle(row.id)}
              >
                {shown.has(row.id) ? '◉' : '◎'}
              </button>
              <button
                className="jp-OrchestVariables-button"
                aria-label={trans.__('Remove %1', name)}
                title={trans.__('Remove')}
                onClick={() => onChange(rows.filter(other => other !== row))}
              >
                ×
              </button>
            </div>
            {problem !== null && (
              <span className="jp-OrchestProperties-error">{problem}</span>
            )}
          </div>
        );
      })}
      <button
        className="jp-OrchestProperties-link"
        onClick={() => onChange([...rows, emptyRow()])}
      >
        {trans.__('Add a variable')}
      </button>
    </div>
  );
}
