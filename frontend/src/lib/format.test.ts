import { describe, expect, it } from 'vitest';
import { formatAgo, formatDuration, parseTime } from './format';

describe('format', () => {
  it('humanises durations', () => {
    expect(formatDuration(-3)).toBe('0s');
    expect(formatDuration(42.9)).toBe('42s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(3_840)).toBe('1h 04m');
    expect(formatDuration(2 * 86_400 + 3 * 3_600 + 59)).toBe('2d 3h');
  });

  it('says how long ago', () => {
    expect(formatAgo(null, 0)).toBe('—');
    expect(formatAgo(10_000, 10_400)).toBe('just now');
    expect(formatAgo(0, 65_000)).toBe('1m 05s ago');
  });

  it('parses ISO 8601 UTC with milliseconds', () => {
    expect(parseTime('2026-11-29T12:00:00.250Z')).toBe(Date.UTC(2026, 10, 29, 12, 0, 0, 250));
    expect(parseTime('nonsense')).toBeNull();
    expect(parseTime(null)).toBeNull();
  });
});
