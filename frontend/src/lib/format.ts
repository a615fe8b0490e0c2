/** Formatting helpers: ISO times in the viewer's locale, humanised durations. */

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** "12s", "3m 05s", "1h 04m", "2d 3h". Negative values count as 0. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  const d = Math.floor(h / 24);
  return `${d}d ${h % 24}h`;
}

/** "just now", "12s ago", "3m 05s ago". */
export function formatAgo(ms: number | null, now: number): string {
  if (ms === null) return '—';
  const s = (now - ms) / 1000;
  if (s < 1) return 'just now';
  return `${formatDuration(s)} ago`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** Local date and time, e.g. "Nov 29, 2026, 1:02:03 PM". */
export function formatLocalDateTime(ms: number | null): string {
  return ms === null ? '—' : dateTime.format(ms);
}

/** Local time of day, e.g. "1:02:03 PM". */
export function formatLocalTime(ms: number | null): string {
  return ms === null ? '—' : timeOnly.format(ms);
}

const shortDateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' });

/** Time of day when `ms` is today (as of `now`), else a short date and time. */
export function formatWhen(ms: number | null, now: number): string {
  if (ms === null) return '—';
  return new Date(ms).toDateString() === new Date(now).toDateString() ? timeOnly.format(ms) : shortDateTime.format(ms);
}

/** A round-trip time in ms: "0.4 ms", "12 ms", "1.25 s". */
export function formatRtt(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 0) return '0 ms';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** "512 B", "3.4 KiB", "1.2 MiB". */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
