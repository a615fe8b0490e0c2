import Alert from 'react-bootstrap/Alert';
import Badge from 'react-bootstrap/Badge';
import Card from 'react-bootstrap/Card';
import type { ExpectedDisplay } from '../api/types';
import { SectionCard } from './SectionCard';

const STATE_BG: Record<ExpectedDisplay['state'], string> = {
  connected: 'success',
  stale: 'warning',
  missing: 'danger',
};

/**
 * The expected roster (stats `expected_displays`, present only when the
 * responder runs with --displays FILE): every known display and whether it
 * is connected, and the missing ones up front. Renders nothing without a
 * roster.
 */
export function RosterPanel({ roster }: { roster: ExpectedDisplay[] | undefined }) {
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
            {missing.map((d) => (
              <span key={d.display} className="badge text-bg-danger fs-6 me-1 font-monospace" data-display={d.display}>
                {d.display}
              </span>
            ))}
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
                <Badge bg={STATE_BG[d.state] ?? 'secondary'} text={d.state === 'stale' ? 'dark' : undefined} title={d.id ? `Connection ${d.id}` : 'No connection'}>
                  <span className="font-monospace">{d.display}</span> · {d.state}
                </Badge>
              </li>
            ))}
          </ul>
        )}
      </Card.Body>
    </SectionCard>
  );
}
