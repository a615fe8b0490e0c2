import { useState } from 'react';
import Col from 'react-bootstrap/Col';
import Row from 'react-bootstrap/Row';
import { useStats } from '../api/useStats';
import { ConnectionMonitor } from '../components/ConnectionMonitor';
import { ConnectionStatusCard } from '../components/ConnectionStatusCard';
import { DebugTools } from '../components/DebugTools';
import { useDocumentTitle } from '../lib/useDocumentTitle';

export function MonitoringPage() {
  useDocumentTitle('System Monitoring');
  const [autoRefresh, setAutoRefresh] = useState(true);
  const query = useStats({ autoRefresh, intervalMs: 5_000 });
  return (
    <>
      <h1 className="h3 mb-4">System Monitoring</h1>
      <ConnectionMonitor query={query} autoRefresh={autoRefresh} onAutoRefreshChange={setAutoRefresh} />
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
