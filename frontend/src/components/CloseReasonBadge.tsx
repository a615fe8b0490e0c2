import Badge from 'react-bootstrap/Badge';
import { CLOSE_REASON_INFO, reasonDescription, reasonLabel } from '../lib/reasons';

/** A close reason as a badge in plain words (its meaning and code on hover), with an optional count. */
export function CloseReasonBadge({ reason, count, closeAfterHeartbeats }: { reason: string; count?: number; closeAfterHeartbeats?: number | null }) {
  const r = CLOSE_REASON_INFO[reason] ?? { bg: 'light', dark: true };
  return (
    <Badge bg={r.bg} text={r.dark ? 'dark' : undefined} title={reasonDescription(reason, closeAfterHeartbeats)} data-reason={reason} className="fw-normal">
      {reasonLabel(reason)}
      {count !== undefined && <span className="ms-1 fw-semibold">{count}</span>}
    </Badge>
  );
}
