import * as React from 'react';

import { IEnvironment, OrchestClient } from '../api';
import { IPipelineJSON, isStepFile, IStepJSON } from '../model/definition';
import { formatParameters, parseParameters } from '../model/parameters';
import { AttemptFields } from './AttemptFields';
import { EnvVariables } from './EnvVariables';
import { PipelineEditorModel } from './model';
import { useTrans } from '../translation';

/** A kernel a notebook step can run in. */
export interface IKernelChoice {
  name: string;
  display_name: string;
}

export interface IPropertiesProps {
  model: PipelineEditorModel;
  pipeline: IPipelineJSON;
  /** The project's environments, or null when the server cannot list them. */
  environments: readonly IEnvironment[] | null;
  kernels: readonly IKernelChoice[];
  client: OrchestClient;
  /** The pipeline file, relative to the server's root. */
  pipelinePath: string;
  onPickFile: (uuid: string) => void;
  onOpenStep: (uuid: string) => void;
}

/**
 * The side panel: the selected step's properties, or the pipeline's when no single step
 * is selected. Fields apply as soon as what they hold is valid, so the definition never
 * holds a value the server would refuse.
 */
export function Properties(props: IPropertiesProps): JSX.Element {
  const { model, pipeline } = props;
  const selected = [...model.selection].filter(uuid => uuid in pipeline.steps);
  if (selected.length === 1) {
    return (
      <StepProperties
        {...props}
        key={selected[0]}
        step={pipeline.steps[selected[0]]}
      />
    );
  }
  return <PipelineProperties {...props} selectedCount={selected.length} />;
}

function StepProperties(
  props: IPropertiesProps & { step: IStepJSON }
): JSX.Element {
  const { model, step, environments, kernels } = props;
  const trans = useTrans();
  const update = (patch: Parameters<PipelineEditorModel['updateStep']>[1]) =>
    model.updateStep(step.uuid, patch);
  const kernelName = step.kernel?.name ?? '';
  const kernelChoices = kernels.some(kernel => kernel.name === kernelName)
    ? kernels
    : [
        ...kernels,
        {
          name: kernelName,
          display_name: step.kernel?.display_name || kernelName
        }
      ];
  return (
    <div
      className="jp-OrchestProperties"
      aria-label={trans.__('Step properties')}
    >
      <h2 className="jp-OrchestProperties-heading">{trans.__('Step')}</h2>
      <Field label={trans.__('Title')}>
        <input
          className="jp-mod-styled"
          value={step.title}
          onChange={event => update({ title: event.target.value })}
        />
      </Field>
      <Field label={trans.__('File path')}>
        <div className="jp-OrchestProperties-row">
          <ValidatedInput
            value={step.file_path}
            validate={text =>
              isStepFile(text)
                ? null
                : trans.__(
                    'A step runs a notebook or a script: .ipynb, .py, .sh, .R, .jl or .js.'
                  )
            }
            onValid={file_path => update({ file_path })}
          />
          <button
            className="jp-mod-styled jp-mod-reject"
            onClick={() => props.onPickFile(step.uuid)}
          >
            {trans.__('Choose…')}
          </button>
        </div>
        <button
          className="jp-OrchestProperties-link"
          onClick={() => props.onOpenStep(step.uuid)}
        >
          {trans.__('Open the file')}
        </button>
      </Field>
      <Field label={trans.__('Environment')}>
        {environments === null ? (
          <ValidatedInput
            value={step.environment ?? ''}
            validate={text =>
              /^[A-Za-z0-9_-]*$/.test(text)
                ? null
                : trans.__(
                    'An environment uuid is made of letters, digits, - and _.'
                  )
            }
            onValid={environment => update({ environment })}
          />
        ) : (
          <select
            className="jp-mod-styled"
            value={step.environment ?? ''}
            onChange={event => update({ environment: event.target.value })}
          >
            <option value="">
              {trans.__('None (the server’s own Python)')}
            </option>
            {environments.map(environment => (
              <option key={environment.uuid} value={environment.uuid}>
                {environment.name}
              </option>
            ))}
            {step.environment &&
              !environments.some(e => e.uuid === step.environment) && (
                <option value={step.environment}>
                  {trans.__('%1 (not in this project)', step.environment)}
                </option>
              )}
          </select>
        )}
      </Field>
      <Field label={trans.__('Kernel')}>
        <select
          className="jp-mod-styled"
          value={kernelName}
          onChange={event => {
            const kernel = kernelChoices.find(
              k => k.name === event.target.value
            );
            if (kernel) {
              update({ kernel: { ...step.kernel, ...kernel } });
            }
          }}
        >
          {kernelChoices.map(kernel => (
            <option key={kernel.name} value={kernel.name}>
              {kernel.display_name}
            </option>
          ))}
        </select>
      </Field>
      <Field label={trans.__('Parameters (JSON)')}>
        <JsonObjectField
          value={step.parameters ?? {}}
          onValid={parameters => update({ parameters })}
        />
      </Field>
      <AttemptFields step={step} onChange={update} />
    </div>
  );
}

function PipelineProperties(
  props: IPropertiesProps & { selectedCount: number }
): JSX.Element {
  const { model, pipeline, selectedCount } = props;
  const trans = useTrans();
  const settings = pipeline.settings ?? {};
  const setSetting = (patch: Record<string, unknown>) =>
    model.updatePipeline({ settings: { ...settings, ...patch } });
  return (
    <div
      className="jp-OrchestProperties"
      aria-label={trans.__('Pipeline properties')}
    >
      {selectedCount > 1 && (
        <p className="jp-OrchestProperties-hint">
          {trans.__(
            '%1 steps selected. Select one step to see its properties.',
            selectedCount
          )}
        </p>
      )}
      <h2 className="jp-OrchestProperties-heading">{trans.__('Pipeline')}</h2>
      <Field label={trans.__('Name')}>
        <input
          className="jp-mod-styled"
          value={pipeline.name}
          onChange={event => model.updatePipeline({ name: event.target.value })}
        />
      </Field>
      <Field label={trans.__('Parameters (JSON)')}>
        <JsonObjectField
          value={pipeline.parameters ?? {}}
          onValid={parameters => model.updatePipeline({ parameters })}
        />
      </Field>
      <h3 className="jp-OrchestProperties-subheading">
        {trans.__('Settings')}
      </h3>
      <Field
        label={trans.__(
          'Steps run at once (0: as many as the machine has cores)'
        )}
      >
        <ValidatedInput
          value={String(settings.max_steps_parallelism ?? 0)}
          validate={text =>
            /^\d+$/.test(text.trim())
              ? null
              : trans.__('A whole number, 0 or more.')
          }
          onValid={text => setSetting({ max_steps_parallelism: Number(text) })}
        />
      </Field>
      <Field label={trans.__('Memory for passing data between steps')}>
        <ValidatedInput
          value={settings.data_passing_memory_size ?? '1GB'}
          validate={text =>
            /^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB)$/.test(text)
              ? null
              : trans.__('A size such as 1GB, 500MB or 0.5GB.')
          }
          onValid={data_passing_memory_size =>
            setSetting({ data_passing_memory_size })
          }
        />
      </Field>
      <label className="jp-OrchestProperties-check">
        <input
          type="checkbox"
          checked={settings.auto_eviction ?? false}
          onChange={event =>
            setSetting({ auto_eviction: event.target.checked })
          }
        />
        {trans.__('Remove a step’s outputs once its children have read them')}
      </label>
      <EnvVariables
        key={props.pipelinePath}
        client={props.client}
        pipelinePath={props.pipelinePath}
      />
    </div>
  );
}

export function Field({
  label,
  children
}: {
  label: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <label className="jp-OrchestProperties-field">
      <span className="jp-OrchestProperties-label">{label}</span>
      {children}
    </label>
  );
}

/**
 * A text input that applies its value only when it is valid, and says what is wrong
 * while it is not. It follows outside changes (undo) of the value it edits.
 */
export function ValidatedInput(props: {
  value: string;
  validate: (text: string) => string | null;
  onValid: (text: string) => void;
}): JSX.Element {
  const [text, setText] = useDraft(props.value, draft => draft === props.value);
  const problem = props.validate(text);
  return (
    <span className="jp-OrchestProperties-validated">
      <input
        className="jp-mod-styled"
        value={text}
        aria-invalid={problem !== null}
        onChange={event => {
          setText(event.target.value);
          if (props.validate(event.target.value) === null) {
            props.onValid(event.target.value);
          }
        }}
      />
      {problem !== null && (
        <span className="jp-OrchestProperties-error">{problem}</span>
      )}
    </span>
  );
}

/** A JSON editor for parameters that validates as you type. */
function JsonObjectField(props: {
  value: Record<string, unknown>;
  onValid: (value: Record<string, unknown>) => void;
}): JSX.Element {
  const serialized = JSON.stringify(props.value);
  const [text, setText] = useDraft(formatParameters(props.value), draft => {
    const parsed = parseParameters(draft);
    return parsed.ok && JSON.stringify(parsed.value) === serialized;
  });
  const parsed = parseParameters(text);
  return (
    <span className="jp-OrchestProperties-validated">
      <textarea
        className="jp-OrchestProperties-json jp-mod-styled"
        value={text}
        spellCheck={false}
        rows={Math.min(12, Math.max(3, text.split('\n').length))}
        aria-invalid={!parsed.ok}
        onChange={event => {
          setText(event.target.value);
          const next = parseParameters(event.target.value);
          if (next.ok && JSON.stringify(next.value) !== serialized) {
            props.onValid(next.value);
          }
        }}
      />
      {!parsed.ok && (
        <span className="jp-OrchestProperties-error">{parsed.message}</span>
      )}
    </span>
  );
}

/**
 * What a field holds while it is being typed: reset to `initial` when the value it edits
 * changes to something the draft does not already say (an undo, another step).
 */
function useDraft(
  initial: string,
  agrees: (draft: string) => boolean
): [string, (text: string) => void] {
  const [draft, setDraft] = React.useState(initial);
  const [seen, setSeen] = React.useState(initial);
  if (seen !== initial) {
    setSeen(initial);
    if (!agrees(draft)) {
      setDraft(initial);
    }
  }
  return [draft, setDraft];
}
