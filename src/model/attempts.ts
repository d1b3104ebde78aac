/**
 * How a step is tried: its retries, the delay between tries and the timeout of each try, as
 * a person types them. The same rules as the server's (the pipeline schema for a step's own
 * values, the job request for a job's defaults); an empty field means "not set".
 */

export type AttemptKey = 'retries' | 'retry_delay' | 'timeout';

export const ATTEMPT_KEYS: readonly AttemptKey[] = [
  'retries',
  'retry_delay',
  'timeout'
];

/** A step's or a job's values, each one set or not. */
export type AttemptSettings = Partial<Record<AttemptKey, number>>;

const WHOLE = /^\d+$/;
const DECIMAL = /^\d+(\.\d+)?$/;

/** Whether the text is a value the key may take (or empty: not set). */
export function isAttemptText(key: AttemptKey, text: string): boolean {
  const trimmed = text.trim();
  if (trimmed === '') {
    return true;
  }
  const value = Number(trimmed);
  switch (key) {
    case 'retries':
      return WHOLE.test(trimmed) && value <= 100;
    case 'retry_delay':
      return DECIMAL.test(trimmed) && value <= 86400;
    case 'timeout':
      return DECIMAL.test(trimmed) && value > 0;
  }
}

/** The value of a valid text; undefined when it is empty. */
export function attemptValue(text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text.trim());
}

/** The text a field shows for a value. */
export function attemptText(value: unknown): string {
  return typeof value === 'number' ? String(value) : '';
}

/** The values of valid texts, leaving out the empty ones; null if one is not valid. */
export function attemptSettings(
  texts: Record<AttemptKey, string>
): AttemptSettings | null {
  const settings: AttemptSettings = {};
  for (const key of ATTEMPT_KEYS) {
    if (!isAttemptText(key, texts[key])) {
      return null;
    }
    const value = attemptValue(texts[key]);
    if (value !== undefined) {
      settings[key] = value;
    }
  }
  return settings;
}
