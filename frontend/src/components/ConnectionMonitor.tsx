import Alert from 'react-bootstrap/Alert';
import Button from 'react-bootstrap/Button';
import Card from 'react-bootstrap/Card';
import Col from 'react-bootstrap/Col';
import Row from 'react-bootstrap/Row';
import Spinner from 'react-bootstrap/Spinner';
import type { UseStatsResult } from '../api/useStats';
import { formatDuration, formatLocalTime } from '../lib/format';
import { useNow } from '../lib/useNow';
import { useSSE } from '../sse';
import { ConnectionsTable } from './ConnectionsTable';
import { StatCard } from './StatCard';

interface Props {
  query: UseStatsResult;
  autoRefresh: boolean;
  onAutoRefreshChange: (on: boolean) => void;
}

/** SSE Connection Monitor: counters and the live table, from GET stats. */
export function ConnectionMonitor({ query, autoRefresh, onAutoRefreshChange }: Props) {
  const { stats, error, loading, updatedAt, refresh } = query;
  const { publicId } = useSSE();
  const now = useNow(1000);

  return (
    <section aria-labelledby="monitor-title" className="mb-4">
      <div className="d-flex flex-wrap align-items-center gap-2 mb-3">
        <h2 id="monitor-title" className="h4 mb-0 me-auto">
          SSE Connection Monitor
        </h2>
        <span className="small text-body-secondary" aria-live="polite">
          {loading && <Spinner animation="border" size="sm" className="me-1" aria-hidden="true" />}
          {updatedAt ? `Updated ${formatLocalTime(updatedAt)}` : 'Loading…'}
        </span>
        <Button variant="outline-primary" size="sm" onClick={refresh} disabled={loading}>
          Refresh
        </Button>
        <Button
          variant={autoRefresh ? 'primary' : 'outline-secondary'}
          size="sm"
          aria-pressed={autoRefresh}
          onClick={() => onAutoRefreshChange(!autoRefresh)}
        >
          Auto-refresh (5 s): {autoRefresh ? 'on' : 'off'}
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
            {stats && ' The figures below are from the last successful update.'}
          </p>
        </Alert>
      )}

      <Row xs={2} lg={4} className="g-3 mb-3">
        <Col>
          <StatCard label="Total connections" value={stats?.total_connections ?? null} testId="stat-total" />
        </Col>
        <Col>
          <StatCard label="Admin connections" value={stats?.admin_connections ?? null} testId="stat-admin" />
        </Col>
        <Col>
          <StatCard label="Display connections" value={stats?.display_connections ?? null} testId="stat-display" />
        </Col>
        <Col>
          <StatCard
            label="Events last hour"
            value={stats?.events_sent_last_hour ?? null}
            testId="stat-events"
            hint={stats ? `Average age ${formatDuration(stats.average_connection_age_seconds)}` : undefined}
          />
        </Col>
      </Row>

      <Card className="shadow-sm">
        <Card.Header className="d-flex align-items-center">
          <h3 className="h6 mb-0 me-auto">Live connections</h3>
          {stats && <span className="small text-body-secondary">{stats.connections.length} listed</span>}
        </Card.Header>
        {stats ? (
          <ConnectionsTable
            connections={stats.connections}
            now={now}
            ownId={publicId}
            caption="Live SSE connections"
            emptyText="No live connections. Open a dashboard tab or a display page to see one here."
          />
        ) : (
          <Card.Body className="text-center text-body-secondary py-4">
            {error ? 'No data.' : <Spinner animation="border" size="sm" role="status" aria-label="Loading" />}
          </Card.Body>
        )}
      </Card>
    </section>
  );
}
