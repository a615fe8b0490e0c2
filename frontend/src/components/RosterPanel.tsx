import Alert from 'react-bootstrap/Alert';
import Badge from 'react-bootstrap/Badge';
import Card from 'react-bootstrap/Card';
import type { ExpectedDisplay } from '../api/types';
import { formatAgo, formatLocalDateTime, parseTime } from '../lib/format';
import { SectionCard } from './SectionCard';

const STATE_BG: Record<ExpectedDisplay['state'], string> = {
  connected: 'success',
  stale: 'warning',
  missing: 'danger',
};

/** When a missing display was last connected, in words; the exact time goes in the title. */
function lastSeen(d: ExpectedDisplay, now: number): { text: string; title: string } {
  const at = parseTime(d.last_seen ?? null);
  if (at === null) return { text: 'not seen since the server started', title: 'Not connected since the server started' };
  return { text: `last seen ${formatAgo(at, now)}`, title: `Last connected ${formatLocalDateTime(at)} (${d.last_seen})` };
}

/**
 * The expected roster (stats `expected_displays`, present only when the
 * responder runs with --displays FILE): every known display and whether it
 * is connected, the missing ones up front with when each was last seen.
 * Renders nothing without a roster.
 */
export function RosterPanel({ roster, now }: { roster: ExpectedDisplay[] | undefined; now: number }) {
  if (!roster) return null;
  const missing = roster.filter((d) => d.state === 'missing');
  const stale = roster.filter((d) => d.state === 'stale');
  const connected = roster.length - missing.length - stale.length;
  return (
    <SectionCard
      titleId="roster-title"
      title="Display roster"
      titleAs="h3"
      aside={
        <span className="small text-body-secondary" data-testid="roster-summary">
          {roster.length} expected · {connected} connected · {stale.length} stale · {missing.length} missing
        </span>
      }
      className="mb-3"
      testId="roster"
    >
      <Card.Body className="py-2">
        {missing.length > 0 && (
          <Alert variant="danger" className="py-2 mb-2" role="alert" data-testid="roster-missing">
            <strong className="me-2">
              {missing.length === 1 ? '1 display is missing:' : `${missing.length} displays are missing:`}
            </strong>
            {missing.map((d) => {
              const seen = lastSeen(d, now);
              return (
                <span key={d.display} className="d-inline-block me-2" data-display={d.display}>
                  <span className="badge text-bg-danger fs-6 font-monospace">{d.display}</span>
                  <span className="small ms-1" title={seen.title} data-testid="last-seen">
                    ({seen.text})
                  </span>
                </span>
              );
            })}
          </Alert>
        )}
        {stale.length > 0 && (
          <Alert variant="warning" className="py-2 mb-2" data-testid="roster-stale">
            <strong className="me-2">Not acknowledging (stale):</strong>
            {stale.map((d) => d.display).join(', ')}
          </Alert>
        )}
        {roster.length === 0 ? (
          <p className="small text-body-secondary mb-0">The displays file lists no display.</p>
        ) : (
          <ul className="list-inline mb-0" aria-label="Expected displays">
            {roster.map((d) => (
              <li key={d.display} className="list-inline-item mb-1" data-display={d.display} data-state={d.state}>
                <Badge
                  bg={STATE_BG[d.state] ?? 'secondary'}
                  text={d.state === 'stale' ? 'dark' : undefined}
                  title={d.id ? `Connection ${d.id}` : lastSeen(d, now).title}
                >
                  <span className="font-monospace">{d.display}</span> · {d.state}
                  {d.state === 'missing' && <span className="fw-normal"> · {lastSeen(d, now).text}</span>}
                </Badge>
              </li>
            ))}
          </ul>
        )}
      </Card.Body>
    </SectionCard>
  );
}
