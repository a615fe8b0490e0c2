import { formatAgo, formatLocalDateTime, parseTime } from '../lib/format';

/** An ISO time as how long ago it was ("3m 05s ago" as of `now`), the local date and time on hover. */
export function TimeAgo({ iso, now }: { iso: string; now: number }) {
  const ms = parseTime(iso);
  return (
    <time dateTime={iso} title={formatLocalDateTime(ms)}>
      {formatAgo(ms, now)}
    </time>
  );
}
