import { useState } from 'react';
import Alert from 'react-bootstrap/Alert';
import Button from 'react-bootstrap/Button';
import Card from 'react-bootstrap/Card';
import Col from 'react-bootstrap/Col';
import Modal from 'react-bootstrap/Modal';
import Row from 'react-bootstrap/Row';
import Spinner from 'react-bootstrap/Spinner';
import { ApiError, closeConnection } from '../api/client';
import type { ConnectionInfo } from '../api/types';
import { formatDuration, formatLocalDateTime, formatLocalTime, parseTime } from '../lib/format';
import { connectionName } from '../lib/table';
import { useNow } from '../lib/useNow';
import type { UseMonitorResult } from '../monitor/useMonitor';
import { useSSE } from '../sse';
import { ConnectionsTable } from './ConnectionsTable';
import { LiveUpdatesStatus } from './LiveUpdatesStatus';
import { DegradedBanner, NodesPanel } from './NodesPanel';
import { RosterPanel } from './RosterPanel';
import { StatCard } from './StatCard';
import { TypeBadge } from './TypeBadge';

type Outcome = { variant: 'success' | 'warning' | 'danger'; text: string };

/** SSE Connection Monitor: counters, the roster and the live table, kept right by the tab's stream. */
export function ConnectionMonitor({ monitor }: { monitor: UseMonitorResult }) {
  const { summary, table, roster, error, loading, store, mode, cluster } = monitor;
  const { publicId } = useSSE();
  const now = useNow(1000);
  const [confirm, setConfirm] = useState<ConnectionInfo | null>(null);
  const [closing, setClosing] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  async function disconnectConfirmed() {
    if (!confirm) return;
    const target = confirm;
    const label = `${target.type} ${connectionName(target)} (${target.id}${target.node ? ` on ${target.node}` : ''})`;
    setClosing(true);
    try {
      await closeConnection(target.id);
      setOutcome({ variant: 'success', text: `Disconnected ${label}.` });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        setOutcome({ variant: 'warning', text: `${label} had already closed.` });
      } else {
        setOutcome({ variant: 'danger', text: `Could not disconnect ${label}: ${err instanceof Error ? err.message : String(err)}` });
      }
    } finally {
      setClosing(false);
      setConfirm(null);
      // The close comes back as a push; without pushes, fetch it.
      if (mode !== 'live') store.refresh();
    }
  }

  return (
    <section aria-labelledby="monitor-title" className="mb-4">
      <div className="d-flex flex-wrap align-items-center gap-2 mb-2">
        <h2 id="monitor-title" className="h4 mb-0 me-auto">
          SSE Connection Monitor
        </h2>
        <LiveUpdatesStatus monitor={monitor} />
        <Button variant="outline-primary" size="sm" onClick={store.refresh} disabled={loading}>
          {loading && <Spinner animation="border" size="sm" className="me-1" aria-hidden="true" />}
          Refresh
        </Button>
      </div>

      {error && (
        <Alert variant="danger" role="alert" data-testid="stats-error">
          <Alert.Heading as="h3" className="h6">
            Could not load connection statistics
          </Alert.Heading>
          <p className="mb-1">{error.message}</p>
          <p className="mb-0 small text-body-secondary">
            {error.status ? `HTTP ${error.status}${error.code ? ` · ${error.code}` : ''}` : 'The server could not be reached.'}
            {summary && ' The figures below are from the last successful update.'}
          </p>
        </Alert>
      )}

      <DegradedBanner cluster={cluster} />

      <Row xs={2} lg={4} className="g-3 mb-3">
        <Col>
          <StatCard
            label="Total connections"
            value={summary?.total_connections ?? null}
            testId="stat-total"
            hint={summary?.stale_connections !== undefined ? staleHint(summary.stale_connections) : undefined}
            hintTestId="stat-stale"
            hintClassName={summary?.stale_connections ? 'text-warning-emphasis fw-semibold' : undefined}
          />
        </Col>
        <Col>
          <StatCard label="Admin connections" value={summary?.admin_connections ?? null} testId="stat-admin" />
        </Col>
        <Col>
          <StatCard label="Display connections" value={summary?.display_connections ?? null} testId="stat-display" />
        </Col>
        <Col>
          <StatCard
            label="Events last hour"
            value={summary?.events_sent_last_hour ?? null}
            testId="stat-events"
            hint={summary ? `Average age ${formatDuration(summary.average_connection_age_seconds)}` : undefined}
          />
        </Col>
      </Row>

      <NodesPanel cluster={cluster} rows={table?.complete ? table.rows : null} now={now} />

      <RosterPanel roster={roster ?? undefined} now={now} />

      {outcome && (
        <Alert variant={outcome.variant} dismissible onClose={() => setOutcome(null)} className="py-2 small" data-testid="disconnect-outcome">
          {outcome.text}
        </Alert>
      )}

      <Card className="shadow-sm">
        <Card.Header className="d-flex flex-wrap align-items-center gap-2">
          <h3 className="h6 mb-0 me-auto">Live connections</h3>
          {summary && (
            <span className="small text-body-secondary">
              {summary.total_connections} connected
              {summary.heartbeat_seconds !== undefined && ` · heartbeat ${summary.heartbeat_seconds} s`}
              {table?.fetchedAt && (
                <span title="Ping times, RTT and event counts are as of this time; who is connected is live"> · counters as of {formatLocalTime(table.fetchedAt)}</span>
              )}
            </span>
          )}
        </Card.Header>
        {table && (summary || table.rows.length > 0) ? (
          <ConnectionsTable
            table={table}
            now={now}
            ownId={publicId}
            caption="Live SSE connections"
            emptyText="No live connections. Open a dashboard tab or a display page to see one here."
            onDisconnect={(c) => setConfirm(c)}
            onFilter={store.setFilter}
            onPage={store.setPage}
            onPageSize={store.setPageSize}
            staleAfterHeartbeats={monitor.staleAfterHeartbeats}
            nodeColumn={cluster !== null}
          />
        ) : (
          <Card.Body className="text-center text-body-secondary py-4">
            {error ? 'No data.' : <Spinner animation="border" size="sm" role="status" aria-label="Loading" />}
          </Card.Body>
        )}
      </Card>

      <Modal show={confirm !== null} onHide={() => !closing && setConfirm(null)} aria-labelledby="confirm-disconnect-title" centered>
        <Modal.Header closeButton={!closing}>
          <Modal.Title id="confirm-disconnect-title" className="h5">
            Disconnect this connection?
          </Modal.Title>
        </Modal.Header>
        {confirm && (
          <Modal.Body>
            <p className="mb-2">
              <TypeBadge type={confirm.type} /> <strong>{connectionName(confirm)}</strong>{' '}
              <span className="font-monospace small text-body-secondary">{confirm.id}</span>
            </p>
            <p className="small text-body-secondary mb-2">
              Connected {formatLocalDateTime(parseTime(confirm.connected_at))}
              {confirm.client && (
                <>
                  {' '}
                  · client <span className="font-monospace">{confirm.client}</span>
                </>
              )}
            </p>
            <p className="mb-0 small">
              The server closes it at once (reason <code>admin_closed</code>). A dashboard tab or kiosk page
              reconnects by itself after a moment, as a new connection.
            </p>
            {confirm.id === publicId && (
              <Alert variant="warning" className="py-2 small mt-2 mb-0">
                This is this tab&apos;s own connection.
              </Alert>
            )}
          </Modal.Body>
        )}
        <Modal.Footer>
          <Button variant="outline-secondary" onClick={() => setConfirm(null)} disabled={closing}>
            Cancel
          </Button>
          <Button variant="danger" onClick={() => void disconnectConfirmed()} disabled={closing} data-testid="confirm-disconnect">
            {closing ? 'Disconnecting…' : 'Disconnect'}
          </Button>
        </Modal.Footer>
      </Modal>
    </section>
  );
}

function staleHint(stale: number): string {
  return stale === 0 ? 'none stale' : `${stale} stale`;
}
