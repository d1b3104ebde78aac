/**
 * Parameters as a person types them: JSON text that must hold an object.
 */

import { isObject } from './definition';

export type ParametersResult =
  { ok: true; value: Record<string, unknown> } | { ok: false; message: string };

/** Read parameters typed in the JSON editor; an empty text means no parameters. */
export function parseParameters(text: string): ParametersResult {
  if (text.trim() === '') {
    return { ok: true, value: {} };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      message: `Not valid JSON: ${(error as Error).message}`
    };
  }
  if (!isObject(value)) {
    return {
      ok: false,
      message: 'Parameters must be a JSON object, such as {"n_rows": 100}.'
    };
  }
  return { ok: true, value };
}

/** The text the JSON editor starts from for some parameters. */
export function formatParameters(
  value: Record<string, unknown> | undefined
): string {
  return JSON.stringify(value ?? {}, null, 2);
}
