import { useEffect, useState, type FormEvent } from 'react';
import Alert from 'react-bootstrap/Alert';
import Button from 'react-bootstrap/Button';
import Form from 'react-bootstrap/Form';
import { ApiError, publishEvent } from '../api/client';
import type { PublishRequest, PublishResult } from '../api/types';
import { DISPLAY_EVENT_TYPES, DISPLAY_NAME_RE } from '../config';
import { useSSE } from '../sse';
import { SectionCard } from './SectionCard';

/** Event names the responder accepts. */
const TYPE_RE = /^[A-Za-z0-9._-]{1,64}$/;

type Target = 'all' | 'displays' | 'display' | 'admins' | 'user';

const TARGETS: { value: Target; label: string }[] = [
  { value: 'display', label: 'One display' },
  { value: 'displays', label: 'All displays' },
  { value: 'all', label: 'Everyone (displays and dashboards)' },
  { value: 'admins', label: 'All dashboards' },
  { value: 'user', label: "One user's dashboards" },
];

type Outcome = { variant: 'success' | 'warning'; text: string } | { variant: 'danger'; text: string };

/** The request for the form's values. */
function publishRequest(target: Target, event: string, message: string, name: string): PublishRequest {
  const data = { message };
  switch (target) {
    case 'all':
      return { event, data, target: 'all' };
    case 'displays':
      return { event, data, target: 'display' };
    case 'display':
      return { event, data, target: 'display', display: name };
    case 'admins':
      return { event, data, target: 'admin' };
    case 'user':
      return { event, data, target: 'admin', user: name };
  }
}

function whom(target: Target, name: string): string {
  switch (target) {
    case 'all':
      return 'everyone';
    case 'displays':
      return 'all displays';
    case 'display':
      return `display ${name}`;
    case 'admins':
      return 'all dashboards';
    case 'user':
      return `the dashboards of ${name}`;
  }
}

/**
 * Send an announcement (or any event) to kiosk displays, dashboards or both,
 * through POST {prefix}/publish: says how many connections were notified,
 * or the server's error.
 */
export function PublishForm() {
  const { subscribe } = useSSE();
  const [target, setTarget] = useState<Target>('display');
  const [name, setName] = useState('');
  const [event, setEvent] = useState('announcement');
  const [message, setMessage] = useState('');
  const [sending, setSending] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [watched, setWatched] = useState<string[]>([]);

  // What reaches this tab (target everyone, dashboards, or this user) shows in Debug Tools' log.
  useEffect(() => {
    const offs = watched.map((n) => subscribe(n, () => undefined));
    return () => offs.forEach((off) => off());
  }, [watched, subscribe]);

  const needsName = target === 'display' || target === 'user';
  const nameValid = !needsName || (target === 'display' ? DISPLAY_NAME_RE.test(name) : name.trim() !== '');
  const eventValid = TYPE_RE.test(event);
  const toDisplays = target === 'display' || target === 'displays' || target === 'all';
  const unknownToKiosks = toDisplays && eventValid && !DISPLAY_EVENT_TYPES.includes(event);
  const valid = nameValid && eventValid && message.trim() !== '';

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!valid) return;
    const who = needsName ? name.trim() : '';
    const body = publishRequest(target, event, message, who);
    setSending(true);
    setOutcome(null);
    if (target !== 'display' && target !== 'displays' && !watched.includes(event)) setWatched((w) => [...w, event]);
    try {
      const result: PublishResult = await publishEvent(body);
      const n = result.connections_notified;
      setOutcome(
        n === 0
          ? {
              variant: 'warning',
              text: `Published ${result.event} #${result.id}, but no connection received it: ${whom(target, who)} ${target === 'display' || target === 'user' ? 'is' : 'are'} not connected.`,
            }
          : { variant: 'success', text: `Published ${result.event} #${result.id} to ${whom(target, who)}: ${n} connection${n === 1 ? '' : 's'} notified.` },
      );
    } catch (err) {
      const status = err instanceof ApiError && err.status ? ` (HTTP ${err.status}${err.code ? ` · ${err.code}` : ''})` : '';
      setOutcome({ variant: 'danger', text: `Could not publish: ${err instanceof Error ? err.message : String(err)}${status}` });
    } finally {
      setSending(false);
    }
  }

  return (
    <SectionCard titleId="publish-title" title="Publish an announcement" className="mb-4" testId="publish">
      <div className="card-body">
        <Form onSubmit={onSubmit} className="row g-2 align-items-start" aria-label="Publish an event">
          <Form.Group className="col-md-3" controlId="publish-target">
            <Form.Label className="small mb-1">Send to</Form.Label>
            <Form.Select size="sm" value={target} onChange={(e) => setTarget(e.target.value as Target)}>
              {TARGETS.map((t) => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </Form.Select>
          </Form.Group>
          {needsName && (
            <Form.Group className="col-md-2" controlId="publish-name">
              <Form.Label className="small mb-1">{target === 'display' ? 'Display name' : 'User'}</Form.Label>
              <Form.Control
                size="sm"
                value={name}
                placeholder={target === 'display' ? 'lobby' : 'alice'}
                isInvalid={name !== '' && !nameValid}
                onChange={(e) => setName(e.target.value)}
              />
              <Form.Control.Feedback type="invalid">1–64 letters, digits, dots, dashes or underscores.</Form.Control.Feedback>
            </Form.Group>
          )}
          <Form.Group className="col-md-2" controlId="publish-event">
            <Form.Label className="small mb-1">Event type</Form.Label>
            <Form.Control size="sm" value={event} list="publish-event-types" isInvalid={!eventValid} onChange={(e) => setEvent(e.target.value)} />
            <datalist id="publish-event-types">
              {DISPLAY_EVENT_TYPES.map((t) => (
                <option key={t} value={t} />
              ))}
            </datalist>
            <Form.Control.Feedback type="invalid">1–64 letters, digits, dots, dashes or underscores.</Form.Control.Feedback>
          </Form.Group>
          <Form.Group className={needsName ? 'col-md-3' : 'col-md-5'} controlId="publish-message">
            <Form.Label className="small mb-1">Announcement</Form.Label>
            <Form.Control size="sm" value={message} maxLength={2000} onChange={(e) => setMessage(e.target.value)} placeholder="Lunch is served in the cafeteria" />
          </Form.Group>
          <div className="col-md-2 d-grid">
            <Form.Label className="small mb-1" aria-hidden="true">
              &nbsp;
            </Form.Label>
            <Button type="submit" size="sm" disabled={sending || !valid}>
              {sending ? 'Publishing…' : 'Publish'}
            </Button>
          </div>
        </Form>
        {unknownToKiosks && (
          <Form.Text className="small d-block" data-testid="publish-hint">
            Kiosk pages show only {DISPLAY_EVENT_TYPES.join(', ')} (and the names in their <code>?events=</code>);{' '}
            <code>{event}</code> reaches them but is not shown.
          </Form.Text>
        )}
        {outcome && (
          <Alert
            variant={outcome.variant}
            className="py-2 small mt-2 mb-0"
            role={outcome.variant === 'danger' ? 'alert' : 'status'}
            data-testid="publish-result"
            dismissible
            onClose={() => setOutcome(null)}
          >
            {outcome.text}
          </Alert>
        )}
      </div>
    </SectionCard>
  );
}
