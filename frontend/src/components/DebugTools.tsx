import { useEffect, useState, type FormEvent } from 'react';
import Alert from 'react-bootstrap/Alert';
import Button from 'react-bootstrap/Button';
import Card from 'react-bootstrap/Card';
import Form from 'react-bootstrap/Form';
import ListGroup from 'react-bootstrap/ListGroup';
import { ApiError, sendTestEvent } from '../api/client';
import type { TestEventResult } from '../api/types';
import { formatLocalTime } from '../lib/format';
import { ANY_EVENT, useSSE, type SSEMessage } from '../sse';

const TYPE_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** How many received events the log keeps (newest first). */
const LOG_LIMIT = 200;


/**
 * Debug Tools: broadcast a test event through POST {prefix}/test and watch
 * it come back on this tab's stream; disconnect and reconnect the stream.
 * The log lists every event the stream delivers but pings and `connected`
 * (test and published events with their ids, resets, closes), so a gap or a
 * duplicate across a reconnect shows.
 */
export function DebugTools() {
  const { state, subscribe, connect, disconnect } = useSSE();
  const [type, setType] = useState('test_event');
  const [message, setMessage] = useState('Hello from the dashboard');
  const [sending, setSending] = useState(false);
  const [result, setResult] = useState<TestEventResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [received, setReceived] = useState<SSEMessage[]>([]);
  const [watched, setWatched] = useState<string[]>(['system.test_event']);

  // Listen to every system.<type> we sent, so its arrival shows up here.
  useEffect(() => {
    const offs = watched.map((name) => subscribe(name, () => undefined));
    return () => offs.forEach((off) => off());
  }, [watched, subscribe]);

  // Log whatever the stream delivers, but its keep-alives.
  useEffect(
    () =>
      subscribe(ANY_EVENT, (m) => {
        // Keep-alives and the monitor's counts and changes would bury the rest.
        if (m.type === 'ping' || m.type === 'connected' || m.type === 'summary' || m.type === 'changes') return;
        setReceived((list) => [m, ...list].slice(0, LOG_LIMIT));
      }),
    [subscribe],
  );

  const valid = type === '' || TYPE_RE.test(type);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!valid) return;
    const eventType = `system.${type || 'test_event'}`;
    if (!watched.includes(eventType)) setWatched((w) => [...w, eventType]);
    setSending(true);
    setError(null);
    try {
      setResult(await sendTestEvent({ type: type || undefined, message: message || undefined }));
    } catch (err) {
      setResult(null);
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setSending(false);
    }
  }

  const live = state === 'open';
  return (
    <Card className="shadow-sm" as="section" aria-labelledby="debug-title">
      <Card.Header as="h2" className="h6 mb-0" id="debug-title">
        Debug Tools
      </Card.Header>
      <Card.Body>
        <Form onSubmit={onSubmit} className="row g-2 align-items-end" aria-label="Send a test event">
          <Form.Group className="col-sm-4" controlId="test-type">
            <Form.Label className="small">Event type</Form.Label>
            <Form.Control
              size="sm"
              value={type}
              isInvalid={!valid}
              onChange={(e) => setType(e.target.value)}
              aria-describedby="test-type-help"
            />
            <Form.Text id="test-type-help" className="small">
              Sent as <code>system.{type || 'test_event'}</code>
            </Form.Text>
          </Form.Group>
          <Form.Group className="col-sm-5" controlId="test-message">
            <Form.Label className="small">Message</Form.Label>
            <Form.Control size="sm" value={message} onChange={(e) => setMessage(e.target.value)} maxLength={500} />
            <Form.Text className="small">&nbsp;</Form.Text>
          </Form.Group>
          <div className="col-sm-3 d-grid">
            <Button type="submit" size="sm" disabled={sending || !valid}>
              {sending ? 'Sending…' : 'Send test event'}
            </Button>
            <Form.Text className="small">&nbsp;</Form.Text>
          </div>
        </Form>
        {result && (
          <Alert variant="success" className="py-2 small mt-2 mb-0" data-testid="test-result">
            Broadcast <code>{result.event_type}</code> to {result.connections_notified} connection
            {result.connections_notified === 1 ? '' : 's'} at {formatLocalTime(Date.parse(result.broadcast_at))}.
          </Alert>
        )}
        {error && (
          <Alert variant="danger" className="py-2 small mt-2 mb-0" role="alert">
            Could not send the test event: {error}
          </Alert>
        )}

        <h3 className="h6 mt-3">Received on this tab</h3>
        {received.length === 0 ? (
          <p className="text-body-secondary small mb-0" data-testid="received-empty">
            Nothing yet. Send a test event: it should appear here within a moment.
          </p>
        ) : (
          <ListGroup variant="flush" className="small received-log" data-testid="received-events" aria-live="polite">
            {received.map((m, i) => {
              const data = (m.data && typeof m.data === 'object' ? m.data : {}) as Record<string, unknown>;
              const sent = typeof data.timestamp === 'string' ? Date.parse(data.timestamp) : NaN;
              const text = typeof data.message === 'string' ? data.message : typeof m.data === 'string' ? m.data : '';
              return (
                <ListGroup.Item
                  key={`${m.receivedAt}-${received.length - i}`}
                  className="px-0 d-flex justify-content-between gap-2"
                  data-testid="received-event"
                  data-event-type={m.type}
                  data-event-id={m.lastEventId || undefined}
                  data-stream={m.stream ?? undefined}
                >
                  <span>
                    <code>{m.type}</code>
                    {m.lastEventId && <span className="text-body-secondary font-monospace"> #{m.lastEventId}</span>}{' '}
                    {m.type === 'reset'
                      ? 'Missed events are gone: the monitor reloaded its data.'
                      : m.type === 'resync'
                        ? `The monitor reloaded its data (${typeof data.reason === 'string' ? data.reason : 'resync'}).`
                        : text}
                    {typeof data.username === 'string' && <span className="text-body-secondary"> — {data.username}</span>}
                  </span>
                  <span className="text-body-secondary text-nowrap">
                    {formatLocalTime(m.receivedAt)}
                    {Number.isFinite(sent) && ` · ${Math.max(0, m.receivedAt - sent)} ms`}
                  </span>
                </ListGroup.Item>
              );
            })}
          </ListGroup>
        )}

        <hr />
        <div className="d-flex flex-wrap gap-2 align-items-center">
          <Button variant="outline-danger" size="sm" onClick={disconnect} disabled={state === 'closed' || state === 'idle'}>
            Disconnect
          </Button>
          <Button variant="outline-secondary" size="sm" onClick={connect} disabled={live || state === 'connecting'}>
            Reconnect
          </Button>
          <span className="small text-body-secondary">
            Disconnect closes this tab's stream and tells the server at once; it stays offline until you reconnect.
          </span>
        </div>
      </Card.Body>
    </Card>
  );
}
