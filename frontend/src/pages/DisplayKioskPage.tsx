import { useMemo } from 'react';
import { useParams, useSearchParams } from 'react-router';
import { LiveBadge } from '../components/LiveBadge';
import { ACK_URL, DISCONNECT_URL, DISPLAY_EVENT_TYPES, DISPLAY_NAME_RE, displayStreamUrl } from '../config';
import { formatLocalDateTime, formatLocalTime } from '../lib/format';
import { useDocumentTitle } from '../lib/useDocumentTitle';
import { useNow } from '../lib/useNow';
import { CLIENT_ID_RE, SSEProvider, useSSE, type SSEMessage } from '../sse';

/**
 * /display/<name>: a kiosk screen. Opens the display stream for <name> and
 * shows what arrives. Event names to listen to: the built-in list
 * (VITE_DISPLAY_EVENTS) plus ?events=a,b,c. The stream acknowledges pings
 * (?ack=1) and its client id is the display name, or ?client=<id>; the server
 * keeps one stream per display name anyway (the newest).
 *
 * After a lost stream the client resumes with ?lastEventId=, so the screen
 * gets what it missed, once each. If the server answers `reset` (what was
 * missed is gone: too old, or the server restarted), the screen drops what
 * it shows and waits for the next event, in place, rather than
 * location.reload(): the kiosk has no state to fetch but its stream, which
 * is already open again when `reset` arrives, so a reload would end in the
 * same place after a blank flash; and a reset comes right after an outage,
 * when a reload can leave an unattended screen on the browser's own
 * "site can't be reached" page, with no script left to retry. Dropping the
 * old announcements keeps the screen from showing as current something a
 * missed event may have replaced or withdrawn.
 */
export function DisplayKioskPage() {
  const { name = '' } = useParams();
  const [search] = useSearchParams();
  const extra = search.get('events') ?? '';
  const requestedClient = search.get('client');
  const clientId = requestedClient && CLIENT_ID_RE.test(requestedClient) ? requestedClient : name;
  const eventTypes = useMemo(
    () => [...new Set([...DISPLAY_EVENT_TYPES, ...extra.split(',').map((s) => s.trim()).filter(Boolean)])],
    [extra],
  );
  useDocumentTitle(`Display ${name}`);

  if (!DISPLAY_NAME_RE.test(name)) {
    return (
      <div className="kiosk d-flex align-items-center justify-content-center">
        <div className="text-center">
          <h1 className="display-6">Invalid display name</h1>
          <p className="lead">Use 1–64 letters, digits, dots, dashes or underscores.</p>
        </div>
      </div>
    );
  }
  return (
    <SSEProvider
      key={`${name}|${clientId}|${eventTypes.join(',')}`}
      url={displayStreamUrl(name)}
      disconnectUrl={DISCONNECT_URL}
      ackUrl={ACK_URL}
      ackCredentials="omit"
      clientId={clientId}
      eventTypes={eventTypes}
      recentLimit={KIOSK_RECENT}
    >
      <KioskScreen name={name} />
    </SSEProvider>
  );
}

/** Events the kiosk keeps (it shows the newest 6). */
const KIOSK_RECENT = 100;

/** What the screen shows: the events since the last `reset`, newest first, without protocol events. */
function shownEvents(recent: SSEMessage[]): SSEMessage[] {
  const cut = recent.findIndex((m) => m.type === 'reset');
  return (cut < 0 ? recent : recent.slice(0, cut)).filter((m) => m.type !== 'connected');
}

function describe(m: SSEMessage): { title: string; body: string } {
  const d = m.data;
  if (d && typeof d === 'object') {
    const o = d as Record<string, unknown>;
    const title = [o.title, o.headline, o.message, o.text].find((v) => typeof v === 'string') as string | undefined;
    const body = [o.body, o.detail, o.description].find((v) => typeof v === 'string') as string | undefined;
    const rest = Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'timestamp'));
    return { title: title ?? m.type, body: body ?? (title ? '' : JSON.stringify(rest)) };
  }
  return { title: m.type, body: typeof d === 'string' ? d : JSON.stringify(d) };
}

function idleText(state: string, closedReason: string | null): string {
  if (state === 'closed' && closedReason === 'superseded') return 'Replaced by another tab/window showing this display.';
  if (state === 'closed') return 'Disconnected.';
  return 'Connecting to the event server…';
}

function KioskScreen({ name }: { name: string }) {
  const { recent, state, lastError, closedReason } = useSSE();
  const now = useNow(1000);
  const events = shownEvents(recent);
  const [latest, ...older] = events;
  const headline = latest ? describe(latest) : null;

  return (
    <div
      className="kiosk d-flex flex-column"
      data-testid="kiosk"
      data-event-ids={events
        .filter((m) => m.lastEventId)
        .map((m) => m.lastEventId)
        .reverse()
        .join(' ')}
    >
      <header className="d-flex align-items-center gap-3 px-4 py-3 border-bottom border-secondary">
        <h1 className="h4 mb-0 me-auto">
          <span className="text-body-secondary fw-normal">Display</span> {name}
        </h1>
        <time className="fs-4 font-monospace" dateTime={new Date(now).toISOString()}>
          {formatLocalTime(now)}
        </time>
        <LiveBadge className="fs-6" />
      </header>
      <main className="flex-grow-1 d-flex flex-column justify-content-center px-5" aria-live="polite">
        {headline && latest ? (
          <article data-testid="kiosk-latest" data-event-type={latest.type} data-event-id={latest.lastEventId || undefined}>
            <div className="text-info text-uppercase small mb-2">
              {latest.type} · {formatLocalDateTime(latest.receivedAt)}
            </div>
            <p className="display-4 fw-semibold mb-3">{headline.title}</p>
            {headline.body && <p className="fs-3 text-body-secondary">{headline.body}</p>}
          </article>
        ) : (
          <div className="text-center text-body-secondary">
            <p className="display-6">{state === 'open' ? 'Waiting for announcements…' : idleText(state, closedReason)}</p>
            {state === 'error' && lastError && <p className="fs-5">{lastError}</p>}
          </div>
        )}
      </main>
      {older.length > 0 && (
        <footer className="px-4 py-3 border-top border-secondary">
          <h2 className="visually-hidden">Earlier events</h2>
          <ul className="list-unstyled mb-0 small kiosk-history">
            {older.slice(0, 5).map((m, i) => (
              <li key={`${m.receivedAt}-${i}`} data-event-id={m.lastEventId || undefined}>
                <span className="text-body-secondary">{formatLocalTime(m.receivedAt)}</span> <code>{m.type}</code>{' '}
                {describe(m).title}
              </li>
            ))}
          </ul>
        </footer>
      )}
    </div>
  );
}
