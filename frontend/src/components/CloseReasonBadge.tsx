import Badge from 'react-bootstrap/Badge';
import { CLOSE_REASON_INFO } from '../lib/reasons';

/** A close reason as a badge (its meaning in the title), with an optional count. */
export function CloseReasonBadge({ reason, count }: { reason: string; count?: number }) {
  const r = CLOSE_REASON_INFO[reason] ?? { bg: 'light', dark: true, text: reason };
  return (
    <Badge bg={r.bg} text={r.dark ? 'dark' : undefined} title={r.text} data-reason={reason} className="font-monospace fw-normal">
      {reason}
      {count !== undefined && <span className="ms-1 fw-semibold">{count}</span>}
    </Badge>
  );
}
