import { useState, type FormEvent } from 'react';
import Alert from 'react-bootstrap/Alert';
import Button from 'react-bootstrap/Button';
import Card from 'react-bootstrap/Card';
import Form from 'react-bootstrap/Form';
import InputGroup from 'react-bootstrap/InputGroup';
import { ConnectionsTable } from '../components/ConnectionsTable';
import { LiveUpdatesStatus } from '../components/LiveUpdatesStatus';
import { RosterPanel } from '../components/RosterPanel';
import { DISPLAY_NAME_RE } from '../config';
import { useDocumentTitle } from '../lib/useDocumentTitle';
import { useNow } from '../lib/useNow';
import { useMonitor } from '../monitor/useMonitor';

const DISPLAYS_ONLY = { fixed: { type: 'display' as const } };

/** The kiosk page's URL for a display, with its key if it has one. */
function kioskUrl(name: string, key: string): string {
  const path = `/display/${encodeURIComponent(name)}`;
  return key ? `${path}?${new URLSearchParams({ key }).toString()}` : path;
}

export function DisplaysPage() {
  useDocumentTitle('Displays');
  const monitor = useMonitor({ table: DISPLAYS_ONLY, roster: true });
  const { summary, table, roster, error, store, loading } = monitor;
  const now = useNow(1000);
  const [name, setName] = useState('lobby');
  const [key, setKey] = useState('');
  const valid = DISPLAY_NAME_RE.test(name);

  function open(e: FormEvent) {
    e.preventDefault();
    if (valid) window.open(kioskUrl(name, key.trim()), '_blank', 'noopener');
  }

  return (
    <>
      <div className="d-flex flex-wrap align-items-center mb-4 gap-2">
        <h1 className="h3 mb-0 me-auto">Displays</h1>
        <LiveUpdatesStatus monitor={monitor} />
        <Button variant="outline-primary" size="sm" onClick={store.refresh} disabled={loading}>
          Refresh
        </Button>
      </div>
      {error && (
        <Alert variant="danger" role="alert">
          Could not load displays: {error.message}
        </Alert>
      )}
      <RosterPanel roster={roster ?? undefined} now={now} />
      <Card className="shadow-sm mb-4">
        <Card.Header className="d-flex">
          <h2 className="h6 mb-0 me-auto">Connected displays</h2>
          <span className="small text-body-secondary">{summary ? `${summary.display_connections} connected` : ''}</span>
        </Card.Header>
        {table && (
          <ConnectionsTable
            table={table}
            now={now}
            caption="Display connections"
            emptyText="No display is connected."
            typeFilter={false}
            onFilter={store.setFilter}
            onPage={store.setPage}
            onPageSize={store.setPageSize}
            staleAfterHeartbeats={monitor.staleAfterHeartbeats}
            nodeColumn={monitor.cluster !== null}
          />
        )}
      </Card>
      <Card className="shadow-sm">
        <Card.Body>
          <Form onSubmit={open} aria-label="Open a display page">
            <Form.Label htmlFor="display-name">Open a kiosk display page</Form.Label>
            <InputGroup style={{ maxWidth: 560 }}>
              <InputGroup.Text>/display/</InputGroup.Text>
              <Form.Control id="display-name" value={name} onChange={(e) => setName(e.target.value)} isInvalid={!valid} />
              <Form.Control
                aria-label="Display key (if the display has one)"
                placeholder="key, if it has one"
                type="password"
                autoComplete="off"
                value={key}
                onChange={(e) => setKey(e.target.value)}
              />
              <Button type="submit" disabled={!valid}>
                Open
              </Button>
            </InputGroup>
            <Form.Text>
              1–64 letters, digits, dots, dashes or underscores. A display with a key in the displays file opens only with
              it (as <code>?key=</code> on the kiosk page&apos;s address); without it another screen cannot take its name.
            </Form.Text>
          </Form>
        </Card.Body>
      </Card>
    </>
  );
}
