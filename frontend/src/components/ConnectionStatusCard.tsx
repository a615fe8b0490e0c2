import { useState } from 'react';
import Button from 'react-bootstrap/Button';
import Card from 'react-bootstrap/Card';
import { formatAgo, formatDuration, formatLocalTime, formatRtt } from '../lib/format';
import { useNow } from '../lib/useNow';
import { useSSE } from '../sse';
import { LiveBadge, SUPERSEDED_TEXT } from './LiveBadge';

/**
 * The secret token of this tab's stream, hidden until asked for: it lets
 * anyone who has it end or ack this one stream, so it is not for screen
 * sharing or screenshots.
 */
function SecretToken({ token }: { token: string | null }) {
  const [shown, setShown] = useState(false);
  if (!token) return <span>—</span>;
  return (
    <span className="d-inline-flex align-items-center gap-2 flex-wrap">
      <span className="font-monospace" data-testid="secret-token" title="Secret: sent only to this tab; it can end or ack this stream">
        {shown ? token : '•••••••• (hidden)'}
      </span>
      <Button variant="link" size="sm" className="p-0" aria-pressed={shown} onClick={() => setShown((s) => !s)}>
        {shown ? 'Hide' : 'Show'}
      </Button>
    </span>
  );
}

/** "Your SSE connection": the state of this tab's own stream. */
export function ConnectionStatusCard() {
  const sse = useSSE();
  const now = useNow(1000);
  const rows: [string, React.ReactNode][] = [
    ['Status', <LiveBadge key="b" />],
    [
      'Public id',
      <span key="id" className="font-monospace" title="How the monitor lists this tab (the c-… id in its table); not secret">
        {sse.publicId ?? '—'}
      </span>,
    ],
    ['Secret token', <SecretToken key="token" token={sse.connectionId} />],
    [
      'Client id',
      <span key="client" className="font-monospace text-break" title="Sent as ?client=: a newer stream with this id replaces the older one">
        {sse.clientId ?? '—'}
      </span>,
    ],
    ['Connected for', sse.state === 'open' && sse.connectedAt ? formatDuration((now - sse.connectedAt) / 1000) : '—'],
    ['Last ping', sse.lastPingAt ? `${formatAgo(sse.lastPingAt, now)} (${formatLocalTime(sse.lastPingAt)})` : '—'],
    ['Events received', String(sse.eventsReceived)],
    [
      'Acknowledged',
      sse.state !== 'open'
        ? '—'
        : sse.ack
          ? sse.lastAckSeq === null
            ? 'on (no ping yet)'
            : `ping #${sse.lastAckSeq}${sse.lastAckRttMs === null ? '' : ` · RTT ${formatRtt(sse.lastAckRttMs)}`}`
          : (sse.ackProblem ?? 'off (the server did not enable acks)'),
    ],
  ];
  rows.push([
    'Last event id',
    <span key="last-id" className="font-monospace" title="Sent as ?lastEventId= when this tab reconnects: the server replays what it missed">
      {sse.lastEventId ?? '—'}
      {sse.resumedFrom && <span className="text-body-secondary"> (resumed from {sse.resumedFrom})</span>}
    </span>,
  ]);
  if (sse.duplicatesIgnored > 0) rows.push(['Duplicates dropped', String(sse.duplicatesIgnored)]);
  if (sse.resets > 0 && sse.lastResetAt) {
    rows.push([
      'Missed events lost',
      `${sse.resets}× (last at ${formatLocalTime(sse.lastResetAt)}): the server no longer had them; the page reloaded its data`,
    ]);
  }
  if (sse.state === 'error') {
    const p = sse.problem;
    rows.push(['Problem', p?.kind === 'http' ? `HTTP ${p.status}: ${p.message}` : (sse.lastError ?? 'Connection lost')]);
    rows.push([
      'Next attempt',
      sse.nextRetryAt ? `in ${formatDuration(Math.max(0, sse.nextRetryAt - now) / 1000)} (attempt ${sse.attempt})` : '—',
    ]);
  }
  if (sse.state === 'closed' && sse.closedReason === 'manual') rows.push(['Note', 'Disconnected by you; not reconnecting.']);
  if (sse.state === 'closed' && sse.closedReason === 'superseded') {
    rows.push(['Note', `${SUPERSEDED_TEXT} with the same client id; not reconnecting. Reconnect takes a new id.`]);
  }
  return (
    <Card className="h-100 shadow-sm" as="section" aria-labelledby="own-conn-title">
      <Card.Header as="h2" className="h6 mb-0" id="own-conn-title">
        Your SSE connection
      </Card.Header>
      <Card.Body>
        <dl className="row mb-0 small" data-testid="own-connection">
          {rows.map(([k, v]) => (
            <div className="d-contents" key={k}>
              <dt className="col-5 text-body-secondary fw-normal">{k}</dt>
              <dd className="col-7 mb-1">{v}</dd>
            </div>
          ))}
        </dl>
      </Card.Body>
    </Card>
  );
}
