import { useState } from 'react';
import Col from 'react-bootstrap/Col';
import Row from 'react-bootstrap/Row';
import { useClosed } from '../api/useClosed';
import { useStats } from '../api/useStats';
import { ConnectionMonitor } from '../components/ConnectionMonitor';
import { ConnectionStatusCard } from '../components/ConnectionStatusCard';
import { DebugTools } from '../components/DebugTools';
import { RecentlyClosed } from '../components/RecentlyClosed';
import { useDocumentTitle } from '../lib/useDocumentTitle';
import { useNow } from '../lib/useNow';

export function MonitoringPage() {
  useDocumentTitle('System Monitoring');
  const [autoRefresh, setAutoRefresh] = useState(true);
  const query = useStats({ autoRefresh, intervalMs: 5_000 });
  // The closed ring is refetched with every stats update.
  const closed = useClosed(query.updatedAt);
  const now = useNow(1000);
  return (
    <>
      <h1 className="h3 mb-4">System Monitoring</h1>
      <ConnectionMonitor query={query} autoRefresh={autoRefresh} onAutoRefreshChange={setAutoRefresh} />
      <RecentlyClosed
        closed={closed.closed}
        error={closed.error}
        totals={query.stats?.closed_by_reason}
        closedTotal={query.stats?.closed_total}
        now={now}
      />
      <Row className="g-3">
        <Col lg={4}>
          <ConnectionStatusCard />
        </Col>
        <Col lg={8}>
          <DebugTools />
        </Col>
      </Row>
    </>
  );
}
