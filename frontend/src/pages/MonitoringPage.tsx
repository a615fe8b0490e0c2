import Col from 'react-bootstrap/Col';
import Row from 'react-bootstrap/Row';
import { ConnectionMonitor } from '../components/ConnectionMonitor';
import { ConnectionStatusCard } from '../components/ConnectionStatusCard';
import { DebugTools } from '../components/DebugTools';
import { PublishForm } from '../components/PublishForm';
import { RecentlyClosed } from '../components/RecentlyClosed';
import { useDocumentTitle } from '../lib/useDocumentTitle';
import { useNow } from '../lib/useNow';
import { useMonitor } from '../monitor/useMonitor';

export function MonitoringPage() {
  useDocumentTitle('System Monitoring');
  const monitor = useMonitor({ table: {}, closed: true, roster: true });
  const now = useNow(1000);
  return (
    <>
      <h1 className="h3 mb-4">System Monitoring</h1>
      <ConnectionMonitor monitor={monitor} />
      <PublishForm />
      <RecentlyClosed
        closed={monitor.closed}
        error={monitor.closedError}
        totals={monitor.summary?.closed_by_reason}
        closedTotal={monitor.summary?.closed_total}
        now={now}
        closeAfterHeartbeats={monitor.closeAfterHeartbeats}
        cluster={monitor.cluster !== null}
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
