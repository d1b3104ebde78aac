import { MainAreaWidget, ReactWidget } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { useAttemptWords } from '../editor/AttemptFields';
import { pipelineIcon } from '../icons';
import {
  ATTEMPT_KEYS,
  AttemptKey,
  attemptSettings,
  isAttemptText
} from '../model/attempts';
import { TranslationContext, useTrans } from '../translation';
import { IJobDetailJSON, JobsClient } from './api';
import {
  axesFromGrid,
  axisValues,
  combinationCount,
  combinations,
  gridToJSON,
  IGridAxis,
  parseValues
} from './grid';

/** The most combinations listed with checkboxes; bigger grids are sent whole. */
const MAX_LISTED_COMBINATIONS = 200;

/** How long the schedule preview waits for the typing to pause. */
const PREVIEW_DEBOUNCE_MS = 300;

export interface ICreateJobOptions {
  trans: TranslationBundle;
  client: JobsClient;
  pipelinePath: string;
  onCreated: (job: IJobDetailJSON) => void;
}

/** The form that creates a job of a pipeline, in the main area. */
export function createJobForm(options: ICreateJobOptions): MainAreaWidget {
  const content = ReactWidget.create(
    <TranslationContext.Provider value={options.trans}>
      <CreateJobForm {...options} />
    </TranslationContext.Provider>
  );
  content.addClass('jp-OrchestJobForm');
  const widget = new MainAreaWidget({ content });
  widget.id = `jp-orchest-new-job-${options.pipelinePath}`;
  widget.title.label = options.trans.__('New Job');
  widget.title.caption = options.trans.__(
    'New job of %1',
    options.pipelinePath
  );
  widget.title.icon = pipelineIcon;
  widget.title.closable = true;
  return widget;
}

/** `KEY=value` lines as variables; blank lines are skipped. */
function parseVariables(text: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (line.trim() && at > 0) {
      variables[line.slice(0, at).trim()] = line.slice(at + 1);
    }
  }
  return variables;
}

function CreateJobForm(props: ICreateJobOptions): JSX.Element {
  const { client, pipelinePath } = props;
  const trans = useTrans();
  const [name, setName] = React.useState('');
  const [axes, setAxes] = React.useState<IGridAxis[]>([]);
  const [stepTitles, setStepTitles] = React.useState<Record<string, string>>(
    {}
  );
  const [excluded, setExcluded] = React.useState(new Set<number>());
  const [scheduled, setScheduled] = React.useState(false);
  const [cron, setCron] = React.useState('0 * * * *');
  const [timezone, setTimezone] = React.useState(
    Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
  );
  const [preview, setPreview] = React.useState<{
    next: string[];
    error: string | null;
  }>({ next: [], error: null });
  const [startAt, setStartAt] = React.useState('');
  const [variables, setVariables] = React.useState('');
  const [retained, setRetained] = React.useState(0);
  const [attempts, setAttempts] = React.useState<Record<AttemptKey, string>>({
    retries: '',
    retry_delay: '',
    timeout: ''
  });
  const [error, setError] = React.useState<string | null>(null);
  const [sending, setSending] = React.useState(false);

  React.useEffect(() => {
    client.jobDefaults(pipelinePath).then(
      defaults => {
        setName(defaults.name);
        setAxes(axesFromGrid(defaults.parameters));
      },
      failure => setError((failure as Error).message)
    );
    client.getPipeline(pipelinePath).then(
      file => {
        const steps = (file.definition?.steps ?? {}) as Record<
          string,
          { title?: string }
        >;
        setStepTitles(
          Object.fromEntries(
            Object.entries(steps).map(([uuid, step]) => [
              uuid,
              step.title ?? uuid
            ])
          )
        );
      },
      () => undefined // the step's uuid labels its parameters then
    );
  }, [client, pipelinePath]);

  React.useEffect(() => {
    if (!scheduled) {
      return;
    }
    let current = true;
    const timer = window.setTimeout(() => {
      client.previewSchedule(cron, timezone).then(
        next => current && setPreview({ next, error: null }),
        failure =>
          current && setPreview({ next: [], error: (failure as Error).message })
      );
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [client, scheduled, cron, timezone]);

  const values = axisValues(axes);
  const count = values === null ? 0 : combinationCount(values);
  const listed =
    values !== null && count <= MAX_LISTED_COMBINATIONS
      ? combinations(values)
      : [];
  const runCount = count - [...excluded].filter(i => i < count).length;
  const grid = gridToJSON(axes, excluded);
  const stepDefaults = attemptSettings(attempts);
  const canSend =
    grid !== null &&
    stepDefaults !== null &&
    runCount > 0 &&
    name.trim() !== '' &&
    !(scheduled && preview.error) &&
    !sending;

  const setAxisText = (index: number, text: string) => {
    setAxes(axes.map((axis, i) => (i === index ? { ...axis, text } : axis)));
    // Indices name other combinations once the values change.
    setExcluded(new Set());
  };
  const toggle = (index: number) => {
    const next = new Set(excluded);
    if (!next.delete(index)) {
      next.add(index);
    }
    setExcluded(next);
  };
  const axisLabel = (axis: IGridAxis) =>
    axis.step === null
      ? trans.__('pipeline · %1', axis.name)
      : `${stepTitles[axis.step] ?? axis.step} · ${axis.name}`;

  const submit = async () => {
    if (grid === null || stepDefaults === null) {
      return;
    }
    setSending(true);
    setError(null);
    try {
      const job = await client.createJob({
        pipeline_path: pipelinePath,
        name: name.trim(),
        parameters: grid,
        cron: scheduled ? cron : null,
        timezone,
        start_at: startAt ? new Date(startAt).toISOString() : null,
        env_variables: parseVariables(variables),
        max_retained_runs: retained,
        step_defaults: stepDefaults
      });
      props.onCreated(job);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setSending(false);
    }
  };

  return (
    <form
      className="jp-OrchestJobForm-body"
      onSubmit={event => {
        event.preventDefault();
        void submit();
      }}
    >
      <h2>{trans.__('New job of %1', pipelinePath)}</h2>
      <label>
        {trans.__('Name')}
        <input
          name="name"
          value={name}
          onChange={event => setName(event.target.value)}
        />
      </label>

      <fieldset>
        <legend>{trans.__('Parameters')}</legend>
        {axes.length === 0 && (
          <p>{trans.__('The pipeline has no parameters: one run.')}</p>
        )}
        {axes.map((axis, index) => {
          const parsed = parseValues(axis.text);
          return (
            <label key={`${axis.step}/${axis.name}`}>
              {axisLabel(axis)}
              <input
                className="jp-OrchestJobForm-values"
                aria-label={trans.__('Values of %1', axisLabel(axis))}
                aria-invalid={parsed.error !== null}
                value={axis.text}
                onChange={event => setAxisText(index, event.target.value)}
              />
              {parsed.error && (
                <span className="jp-OrchestJobForm-error">{parsed.error}</span>
              )}
            </label>
          );
        })}
        <p className="jp-OrchestJobForm-count">
          {values === null
            ? trans.__('Fix the values above to see the runs.')
            : trans._n('%1 run', '%1 runs', runCount)}
        </p>
        {listed.length > 1 && (
          <ul className="jp-OrchestJobForm-combinations">
            {listed.map((combination, index) => (
              <li key={index}>
                <label>
                  <input
                    type="checkbox"
                    checked={!excluded.has(index)}
                    onChange={() => toggle(index)}
                  />
                  {combination
                    .map(
                      (value, axis) =>
                        `${axes[axis].name}=${JSON.stringify(value)}`
                    )
                    .join(', ')}
                </label>
              </li>
            ))}
          </ul>
        )}
      </fieldset>

      <fieldset>
        <legend>{trans.__('When')}</legend>
        <label>
          <input
            type="radio"
            name="when"
            checked={!scheduled}
            onChange={() => setScheduled(false)}
          />
          {trans.__('Run now')}
        </label>
        <label>
          <input
            type="radio"
            name="when"
            checked={scheduled}
            onChange={() => setScheduled(true)}
          />
          {trans.__('Schedule')}
        </label>
        {scheduled && (
          <>
            <label>
              {trans.__('Cron schedule')}
              <input
                name="cron"
                value={cron}
                onChange={event => setCron(event.target.value)}
              />
            </label>
            <label>
              {trans.__('Time zone')}
              <input
                name="timezone"
                value={timezone}
                onChange={event => setTimezone(event.target.value)}
              />
            </label>
            <div
              className="jp-OrchestJobForm-preview"
              aria-label={trans.__('Next runs')}
            >
              {preview.error ? (
                <span className="jp-OrchestJobForm-error">{preview.error}</span>
              ) : (
                <>
                  {trans.__('Next runs:')}
                  <ul>
                    {preview.next.map(slot => (
                      <li key={slot}>{new Date(slot).toString()}</li>
                    ))}
                  </ul>
                </>
              )}
            </div>
          </>
        )}
        <label>
          {scheduled ? trans.__('Not before') : trans.__('Start at (optional)')}
          <input
            type="datetime-local"
            name="start_at"
            value={startAt}
            onChange={event => setStartAt(event.target.value)}
          />
        </label>
      </fieldset>

      <label>
        {trans.__('Environment variables (KEY=value, one a line)')}
        <textarea
          name="env_variables"
          value={variables}
          onChange={event => setVariables(event.target.value)}
        />
      </label>
      <label>
        {trans.__('Runs to keep (0 keeps every run)')}
        <input
          type="number"
          name="max_retained_runs"
          min={0}
          value={retained}
          onChange={event =>
            setRetained(Math.max(0, Math.floor(Number(event.target.value))))
          }
        />
      </label>
      <StepDefaultsFields
        texts={attempts}
        onChange={(key, text) => setAttempts({ ...attempts, [key]: text })}
      />
      {error && <p className="jp-OrchestJobForm-error">{error}</p>}
      <button
        type="submit"
        className="jp-mod-styled jp-mod-accept"
        disabled={!canSend}
      >
        {trans.__('Create Job')}
      </button>
    </form>
  );
}

/** The job's retries, retry delay and timeout for steps that set none, checked as typed. */
function StepDefaultsFields(props: {
  texts: Record<AttemptKey, string>;
  onChange: (key: AttemptKey, text: string) => void;
}): JSX.Element {
  const trans = useTrans();
  const labels = useAttemptWords();
  return (
    <fieldset>
      <legend>{trans.__('Retries and timeout')}</legend>
      <p>{trans.__('For the steps that do not set their own.')}</p>
      {ATTEMPT_KEYS.map(key => {
        const valid = isAttemptText(key, props.texts[key]);
        return (
          <label key={key}>
            {labels[key][0]}
            <input
              name={`step_defaults.${key}`}
              value={props.texts[key]}
              aria-invalid={!valid}
              onChange={event => props.onChange(key, event.target.value)}
            />
            {!valid && (
              <span className="jp-OrchestJobForm-error">{labels[key][1]}</span>
            )}
          </label>
        );
      })}
    </fieldset>
  );
}
