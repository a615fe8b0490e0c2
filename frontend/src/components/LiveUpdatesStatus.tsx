import { formatLocalTime } from '../lib/format';
import type { MonitorSnapshot } from '../monitor/store';
import { useSSE, type UseSSEResult } from '../sse';

/** Why live updates are paused, in a few words. */
function pausedReason(sse: Pick<UseSSEResult, 'state' | 'closedReason' | 'problem'>): string {
  if (sse.state === 'closed' && sse.closedReason === 'superseded') return 'this tab was replaced by another tab';
  if (sse.state === 'closed') return "this tab's stream is disconnected";
  if (sse.problem?.kind === 'http') return `the server refused this tab's stream (HTTP ${sse.problem.status}); retrying`;
  return 'reconnecting';
}

/**
 * Whether the monitor is live (pushed by the tab's stream), paused (the
 * stream is down: a slow poll meanwhile), or polling a responder that does
 * not push.
 */
export function LiveUpdatesStatus({ monitor }: { monitor: Pick<MonitorSnapshot, 'mode' | 'pollMs' | 'updatedAt'> }) {
  const sse = useSSE();
  const every = `refreshing every ${Math.round(monitor.pollMs / 1000)} s`;
  if (monitor.mode === 'down') {
    return (
      <span className="badge text-bg-warning text-wrap text-start fw-normal fs-6" role="status" data-testid="live-status" data-mode="down">
        Live updates paused: {pausedReason(sse)}; {every}
      </span>
    );
  }
  if (monitor.mode === 'legacy') {
    return (
      <span className="small text-body-secondary" role="status" data-testid="live-status" data-mode="legacy">
        This server does not push monitor updates; {every}
      </span>
    );
  }
  return (
    <span className="small text-body-secondary" role="status" data-testid="live-status" data-mode={monitor.mode}>
      {monitor.mode === 'live' ? (
        <>
          <span className="live-dot live-dot-open d-inline-block me-1 text-success" aria-hidden="true" />
          Live updates{monitor.updatedAt ? ` · last change ${formatLocalTime(monitor.updatedAt)}` : ''}
        </>
      ) : (
        'Connecting…'
      )}
    </span>
  );
}
