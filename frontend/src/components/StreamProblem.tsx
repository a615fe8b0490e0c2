import Alert from 'react-bootstrap/Alert';
import { formatDuration, formatLocalTime } from '../lib/format';
import { useNow } from '../lib/useNow';
import { useSSE } from '../sse';

/** What a dashboard user can do about a refused stream, by status. */
function advice(status: number, message: string): string {
  switch (status) {
    case 429:
      return /address/i.test(message)
        ? 'Too many streams come from this network address. Close dashboard tabs and kiosk pages you do not need.'
        : 'Each dashboard tab holds one stream, and the server limits how many one user may hold (100 by default). Close dashboard tabs you do not need, here or in other browsers.';
    case 503:
      return 'The server is at its connection limit; it will have room again when other connections end.';
    case 401:
    case 403:
      return 'The web server did not accept your login for the live stream. Reload the page to sign in again.';
    default:
      return 'The page keeps trying.';
  }
}

/**
 * A banner under the navigation bar while the tab's admin stream is refused
 * (HTTP 429 at the per-user limit, 503, 401, ...): the server's reason, what
 * to do about it, and when the tab tries again.
 */
export function StreamProblem() {
  const { state, problem, nextRetryAt, attempt } = useSSE();
  const now = useNow(1000);
  if (state !== 'error' || problem?.kind !== 'http') return null;
  const left = nextRetryAt ? Math.max(0, nextRetryAt - now) : null;
  return (
    <Alert variant="warning" className="mb-3" role="alert" data-testid="stream-problem" data-status={problem.status}>
      <Alert.Heading as="h2" className="h6 mb-1">
        This tab cannot open its live stream: {problem.message} (HTTP {problem.status}
        {problem.code ? ` · ${problem.code}` : ''})
      </Alert.Heading>
      <p className="mb-1">{advice(problem.status, problem.message)}</p>
      <p className="mb-0 small">
        {left === null
          ? 'Trying again shortly.'
          : `Trying again in ${formatDuration(left / 1000)} (at ${formatLocalTime(nextRetryAt)}; attempt ${attempt + 1}).`}{' '}
        Until then the monitor refreshes itself slowly.
      </p>
    </Alert>
  );
}
