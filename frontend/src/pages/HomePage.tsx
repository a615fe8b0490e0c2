import Card from 'react-bootstrap/Card';
import Col from 'react-bootstrap/Col';
import Row from 'react-bootstrap/Row';
import { Link } from 'react-router';
import { StatCard } from '../components/StatCard';
import { useDocumentTitle } from '../lib/useDocumentTitle';
import { useMonitor } from '../monitor/useMonitor';

export function HomePage() {
  useDocumentTitle('Home');
  // The counts only: pushed by the tab's stream (`summary`), no polling while it is up.
  const { summary: stats, error } = useMonitor({});
  return (
    <>
      <h1 className="h3 mb-2">Dashboard</h1>
      <p className="text-body-secondary mb-4">
        Live events for administrators and kiosk displays, served by sse-fcgi. Each tab holds one connection and
        releases it when it closes, so the numbers below are what is connected right now.
      </p>
      {error && (
        <p className="text-danger" role="alert">
          Statistics unavailable: {error.message}
        </p>
      )}
      <Row xs={1} sm={3} className="g-3 mb-4">
        <Col>
          <StatCard label="Connections" value={stats?.total_connections ?? null} />
        </Col>
        <Col>
          <StatCard label="Admins" value={stats?.admin_connections ?? null} />
        </Col>
        <Col>
          <StatCard label="Displays" value={stats?.display_connections ?? null} />
        </Col>
      </Row>
      <Row xs={1} md={2} className="g-3">
        <Col>
          <Card className="h-100 shadow-sm">
            <Card.Body>
              <Card.Title as="h2" className="h5">
                System Monitoring
              </Card.Title>
              <Card.Text>Every live connection, its age and traffic, your own stream, and debug tools.</Card.Text>
              <Link to="/admin/monitoring" className="btn btn-primary btn-sm">
                Open System Monitoring
              </Link>
            </Card.Body>
          </Card>
        </Col>
        <Col>
          <Card className="h-100 shadow-sm">
            <Card.Body>
              <Card.Title as="h2" className="h5">
                Displays
              </Card.Title>
              <Card.Text>Kiosk displays connected now, and links to open a display page.</Card.Text>
              <Link to="/admin/displays" className="btn btn-outline-primary btn-sm">
                Open Displays
              </Link>
            </Card.Body>
          </Card>
        </Col>
      </Row>
    </>
  );
}
