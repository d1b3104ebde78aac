import {
  attemptSettings,
  attemptText,
  attemptValue,
  isAttemptText
} from '../model/attempts';

describe("a step's retries, retry delay and timeout as typed", () => {
  it('takes what the server takes, and empty for not set', () => {
    for (const text of ['', '0', '3', '100', ' 2 ']) {
      expect(isAttemptText('retries', text)).toBe(true);
    }
    for (const text of ['-1', '1.5', '101', 'two', '1e2']) {
      expect(isAttemptText('retries', text)).toBe(false);
    }
    expect(isAttemptText('retry_delay', '0')).toBe(true);
    expect(isAttemptText('retry_delay', '2.5')).toBe(true);
    expect(isAttemptText('retry_delay', '86401')).toBe(false);
    expect(isAttemptText('retry_delay', '1.')).toBe(false);
    expect(isAttemptText('timeout', '0.5')).toBe(true);
    expect(isAttemptText('timeout', '0')).toBe(false);
    expect(isAttemptText('timeout', '-3')).toBe(false);
    expect(isAttemptText('timeout', '')).toBe(true);
  });

  it('turns texts into values and back', () => {
    expect(attemptValue(' 2.5 ')).toBe(2.5);
    expect(attemptValue('')).toBeUndefined();
    expect(attemptText(60)).toBe('60');
    expect(attemptText(undefined)).toBe('');
  });

  it("makes a job's defaults of the fields that are set, or null", () => {
    expect(
      attemptSettings({ retries: '2', retry_delay: '', timeout: '600' })
    ).toEqual({ retries: 2, timeout: 600 });
    expect(
      attemptSettings({ retries: '', retry_delay: '', timeout: '' })
    ).toEqual({});
    expect(
      attemptSettings({ retries: 'x', retry_delay: '', timeout: '' })
    ).toBeNull();
  });
});
