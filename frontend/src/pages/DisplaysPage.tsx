import { useState, type FormEvent } from 'react';
import Alert from 'react-bootstrap/Alert';
import Button from 'react-bootstrap/Button';
import Card from 'react-bootstrap/Card';
import Form from 'react-bootstrap/Form';
import InputGroup from 'react-bootstrap/InputGroup';
import { useStats } from '../api/useStats';
import { ConnectionsTable } from '../components/ConnectionsTable';
import { RosterPanel } from '../components/RosterPanel';
import { DISPLAY_NAME_RE } from '../config';
import { useDocumentTitle } from '../lib/useDocumentTitle';
import { useNow } from '../lib/useNow';

export function DisplaysPage() {
  useDocumentTitle('Displays');
  const { stats, error, refresh, loading } = useStats({ autoRefresh: true, intervalMs: 5_000 });
  const now = useNow(1000);
  const [name, setName] = useState('lobby');
  const displays = stats ? (stats.connection_details?.by_type?.display ?? stats.connections.filter((c) => c.type === 'display')) : [];
  const valid = DISPLAY_NAME_RE.test(name);

  function open(e: FormEvent) {
    e.preventDefault();
    if (valid) window.open(`/display/${encodeURIComponent(name)}`, '_blank', 'noopener');
  }

  return (
    <>
      <div className="d-flex align-items-center mb-4 gap-2">
        <h1 className="h3 mb-0 me-auto">Displays</h1>
        <Button variant="outline-primary" size="sm" onClick={refresh} disabled={loading}>
          Refresh
        </Button>
      </div>
      {error && (
        <Alert variant="danger" role="alert">
          Could not load displays: {error.message}
        </Alert>
      )}
      <RosterPanel roster={stats?.expected_displays} />
      <Card className="shadow-sm mb-4">
        <Card.Header className="d-flex">
          <h2 className="h6 mb-0 me-auto">Connected displays</h2>
          <span className="small text-body-secondary">{displays.length} connected</span>
        </Card.Header>
        <ConnectionsTable
          connections={displays}
          now={now}
          caption="Display connections"
          emptyText="No display is connected."
          typeFilter={false}
        />
      </Card>
      <Card className="shadow-sm">
        <Card.Body>
          <Form onSubmit={open} aria-label="Open a display page">
            <Form.Label htmlFor="display-name">Open a kiosk display page</Form.Label>
            <InputGroup style={{ maxWidth: 420 }}>
              <InputGroup.Text>/display/</InputGroup.Text>
              <Form.Control id="display-name" value={name} onChange={(e) => setName(e.target.value)} isInvalid={!valid} />
              <Button type="submit" disabled={!valid}>
                Open
              </Button>
            </InputGroup>
            <Form.Text>1–64 letters, digits, dots, dashes or underscores.</Form.Text>
          </Form>
        </Card.Body>
      </Card>
    </>
  );
}
