import Badge from 'react-bootstrap/Badge';
import type { SSEState } from '../sse';
import { useSSE } from '../sse';

const STATE_LABEL: Record<SSEState, string> = {
  idle: 'Offline',
  connecting: 'Connecting',
  open: 'Live',
  error: 'Error',
  closed: 'Offline',
};

const STATE_BG: Record<SSEState, string> = {
  idle: 'secondary',
  connecting: 'warning',
  open: 'success',
  error: 'danger',
  closed: 'secondary',
};

/** Shown when a newer stream with this tab's client id made the server close ours. */
export const SUPERSEDED_TEXT = 'Replaced by another tab/window';

/**
 * The tab's stream state: Live / Connecting / Error / Refused (the server
 * answered with an HTTP error: the status is in the title) / Offline /
 * Replaced.
 */
export function LiveBadge({ className }: { className?: string }) {
  const { state, lastError, nextRetryAt, closedReason, problem } = useSSE();
  const superseded = state === 'closed' && closedReason === 'superseded';
  const refused = state === 'error' && problem?.kind === 'http';
  const label = superseded ? 'Replaced' : refused ? 'Refused' : STATE_LABEL[state];
  const why = refused ? `HTTP ${problem.status}: ${problem.message}` : (lastError ?? 'Connection lost');
  const detail = superseded
    ? `${SUPERSEDED_TEXT}; not reconnecting`
    : state === 'error' && nextRetryAt
      ? `${why}; retrying at ${new Date(nextRetryAt).toLocaleTimeString()}`
      : `Live event stream: ${label}`;
  return (
    <Badge
      bg={refused ? 'warning' : STATE_BG[state]}
      text={state === 'connecting' || refused ? 'dark' : undefined}
      className={`live-badge d-inline-flex align-items-center gap-1 ${className ?? ''}`}
      role="status"
      aria-live="polite"
      aria-label={`Live connection: ${superseded ? SUPERSEDED_TEXT : label}`}
      title={detail}
      data-testid="live-badge"
      data-state={state}
      data-reason={closedReason ?? undefined}
      data-status={refused ? problem.status : undefined}
    >
      <span className={`live-dot live-dot-${state}`} aria-hidden="true" />
      {label}
    </Badge>
  );
}
