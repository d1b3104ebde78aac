import * as React from 'react';

import {
  ATTEMPT_KEYS,
  AttemptKey,
  attemptText,
  attemptValue,
  isAttemptText
} from '../model/attempts';
import { IStepJSON, StepPatch } from '../model/definition';
import { useTrans } from '../translation';
import { Field, ValidatedInput } from './Properties';

/** Each field's label, and what it must hold, in the user's language. */
export function useAttemptWords(): Record<AttemptKey, [string, string]> {
  const trans = useTrans();
  return {
    retries: [
      trans.__('Retries after a failure'),
      trans.__('A whole number from 0 to 100, or empty for none.')
    ],
    retry_delay: [
      trans.__('Seconds between tries'),
      trans.__('A number of seconds from 0 to 86400, or empty for none.')
    ],
    timeout: [
      trans.__('Timeout of a try, in seconds'),
      trans.__('A number of seconds above 0, or empty for no timeout.')
    ]
  };
}

/**
 * A step's retries, delay between tries and timeout of a try, checked as they are typed;
 * an emptied field removes the setting from the step.
 */
export function AttemptFields(props: {
  step: IStepJSON;
  onChange: (patch: StepPatch) => void;
}): JSX.Element {
  const trans = useTrans();
  const words = useAttemptWords();
  return (
    <>
      <h3 className="jp-OrchestProperties-subheading">
        {trans.__('Retries and timeout')}
      </h3>
      {ATTEMPT_KEYS.map(key => (
        <Field key={key} label={words[key][0]}>
          <ValidatedInput
            value={attemptText(props.step[key])}
            validate={text => (isAttemptText(key, text) ? null : words[key][1])}
            onValid={text => props.onChange({ [key]: attemptValue(text) })}
          />
        </Field>
      ))}
    </>
  );
}
