import { useMemo, useState } from 'react';
import { useParams, useSearchParams } from 'react-router';
import { LiveBadge } from '../components/LiveBadge';
import { ACK_URL, DISCONNECT_URL, DISPLAY_EVENT_TYPES, DISPLAY_NAME_RE, displayStreamUrl } from '../config';
import { formatLocalDateTime, formatLocalTime } from '../lib/format';
import { useDocumentTitle } from '../lib/useDocumentTitle';
import { useNow } from '../lib/useNow';
import { isProtocolEvent, kioskClientId, SSEProvider, useSSE, type SSEMessage, type UseSSEResult } from '../sse';

/**
 * The least time a kiosk waits before it tries again after it was refused
 * (401 key, 404 unknown name, 409 live on another screen) or replaced by
 * another screen: two screens fighting over one name never take turns faster
 * than this.
 */
export const KIOSK_RETRY_MS = 60_000;

/**
 * /display/<name>[?key=K][&events=a,b]: a kiosk screen. Opens the display
 * stream for <name> and shows what arrives. Event names to listen to: the
 * built-in list (VITE_DISPLAY_EVENTS) plus ?events=a,b,c. The stream
 * acknowledges pings (?ack=1), carries this browser's random client id
 * (localStorage) and, if the page's address has one, the display's key.
 * Nobody can take a screen over: without the key, a second screen is refused
 * (409) while this one is live, and says so.
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
 *
 * The key goes into the stream's URL and nowhere else: not into a log, the
 * acks, the disconnect beacon or the screen (and index.html sends no
 * Referer, which would carry this page's address).
 */
export function DisplayKioskPage() {
  const { name = '' } = useParams();
  const [search] = useSearchParams();
  const extra = search.get('events') ?? '';
  const key = search.get('key') ?? '';
  const [clientId] = useState(() => kioskClientId());
  const eventTypes = useMemo(
    () => [...new Set([...DISPLAY_EVENT_TYPES, ...extra.split(',').map((s) => s.trim()).filter(Boolean)])],
    [extra],
  );
  const params = useMemo(() => (key ? { key } : ({} as Record<string, string>)), [key]);
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
      key={`${name}|${key}|${eventTypes.join(',')}`}
      url={displayStreamUrl(name)}
      disconnectUrl={DISCONNECT_URL}
      ackUrl={ACK_URL}
      ackCredentials="omit"
      credentials="omit"
      clientId={clientId}
      eventTypes={eventTypes}
      params={params}
      recentLimit={KIOSK_RECENT}
      refusedRetryMs={KIOSK_RETRY_MS}
      supersededRetryMs={KIOSK_RETRY_MS}
    >
      <KioskScreen name={name} hasKey={key !== ''} />
    </SSEProvider>
  );
}

/** Events the kiosk keeps (it shows the newest 6). */
const KIOSK_RECENT = 100;

/** What the screen shows: the events since the last `reset`, newest first, without protocol events. */
function shownEvents(recent: SSEMessage[]): SSEMessage[] {
  const cut = recent.findIndex((m) => m.type === 'reset');
  return (cut < 0 ? recent : recent.slice(0, cut)).filter((m) => !isProtocolEvent(m.type));
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

/** "0:42", "2:05": a countdown to `at`. */
function countdown(at: number, now: number): string {
  const s = Math.max(0, Math.ceil((at - now) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

interface KioskStatus {
  /** What is wrong, in a few words, large. */
  title: string;
  /** What it means and what to do. */
  detail: string;
  /** When the screen tries again (a countdown), if it will. */
  retryAt: number | null;
  /** It is trying again now (the stream is being opened again). */
  trying?: boolean;
  tone: 'warning' | 'danger' | 'info';
  kind: string;
  status?: number;
}

/** Why the stream is not live, from what went wrong last. */
function problemStatus(p: NonNullable<UseSSEResult['problem']>, name: string, hasKey: boolean, retryAt: number | null): KioskStatus {
  if (p.kind === 'http') {
    switch (p.status) {
      case 409:
        return {
          title: `Display ${name} is live on another screen`,
          detail: hasKey
            ? 'The other screen holds this display name; this one steps aside and looks again later.'
            : 'Only one screen can show a display. Close it on the other screen, or open this page with the display’s key to move it here.',
          retryAt,
          tone: 'warning',
          kind: 'conflict',
          status: 409,
        };
      case 401:
        return {
          title: p.message || `Display ${name} needs its key`,
          detail: hasKey
            ? 'The key in this page’s address is not this display’s key. Ask an administrator for the right address.'
            : 'This display opens only with its key: open this page with the address an administrator gives you (…?key=…).',
          retryAt,
          tone: 'danger',
          kind: 'key',
          status: 401,
        };
      case 404:
        return {
          title: `Unknown display name “${name}”`,
          detail: 'The server’s list of displays has no display by this name. Check the address of this page.',
          retryAt,
          tone: 'danger',
          kind: 'unknown',
          status: 404,
        };
      case 429:
      case 503:
        return { title: 'The event server is busy', detail: p.message, retryAt, tone: 'warning', kind: 'busy', status: p.status };
      default:
        return { title: 'The event server refused this screen', detail: `${p.message} (HTTP ${p.status})`, retryAt, tone: 'danger', kind: 'http', status: p.status };
    }
  }
  if (p.kind === 'superseded') {
    return {
      title: `Another screen took over display ${name}`,
      detail: 'This screen steps aside and looks again later.',
      retryAt,
      tone: 'warning',
      kind: 'superseded',
    };
  }
  if (p.kind === 'closed') return { title: p.message, detail: 'Reconnecting.', retryAt, tone: 'info', kind: 'closed' };
  if (p.kind === 'shutdown') return { title: 'The event server is restarting', detail: 'Reconnecting.', retryAt, tone: 'info', kind: 'shutdown' };
  return { title: 'Connection to the event server lost', detail: p.message, retryAt, tone: 'warning', kind: p.kind };
}

/**
 * Why the screen is not showing live events, in plain words, or null while
 * it is live. Never blank: every state but `open` has a status. While it
 * tries again after a problem, the problem still says why (an
 * administrator's close stays on the screen until the kiosk is live again).
 */
function kioskStatus(sse: Pick<UseSSEResult, 'state' | 'problem' | 'nextRetryAt' | 'closedReason' | 'attempt'>, name: string, hasKey: boolean): KioskStatus | null {
  if (sse.state === 'open') return null;
  const p = sse.problem;
  if (sse.state === 'error' && p) return problemStatus(p, name, hasKey, sse.nextRetryAt);
  if (sse.state === 'connecting' && p) return { ...problemStatus(p, name, hasKey, null), trying: true };
  if (sse.state === 'error') return { title: 'Connection to the event server lost', detail: 'Reconnecting.', retryAt: sse.nextRetryAt, tone: 'warning', kind: 'network' };
  if (sse.state === 'closed') return { title: 'Disconnected', detail: 'This page is not connected to the event server.', retryAt: null, tone: 'danger', kind: 'closed' };
  return {
    title: sse.attempt > 0 ? 'Reconnecting to the event server…' : 'Connecting to the event server…',
    detail: '',
    retryAt: null,
    tone: 'info',
    kind: 'connecting',
  };
}

function KioskScreen({ name, hasKey }: { name: string; hasKey: boolean }) {
  const sse = useSSE();
  const { recent, state } = sse;
  const now = useNow(1000);
  const events = shownEvents(recent);
  const [latest, ...older] = events;
  const headline = latest ? describe(latest) : null;
  const status = kioskStatus(sse, name, hasKey);

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
      {status && (
        <section
          className={`kiosk-status px-5 py-4${status.tone === 'danger' ? ' kiosk-status-danger' : ''}`}
          role="alert"
          data-testid="kiosk-status"
          data-kind={status.kind}
          data-status={status.status}
          data-retry-at={status.retryAt ?? undefined}
        >
          <p className="display-6 fw-semibold mb-2">{status.title}</p>
          {status.detail && <p className="fs-4 mb-2">{status.detail}</p>}
          {status.retryAt !== null && (
            <p className="fs-4 mb-0 text-body-secondary" data-testid="kiosk-retry">
              Trying again in <span className="font-monospace">{countdown(status.retryAt, now)}</span> (at {formatLocalTime(status.retryAt)}).
            </p>
          )}
          {status.trying && (
            <p className="fs-4 mb-0 text-body-secondary" data-testid="kiosk-retry">
              Trying again now…
            </p>
          )}
        </section>
      )}
      <main className={`flex-grow-1 d-flex flex-column justify-content-center px-5${status ? ' opacity-50' : ''}`} aria-live="polite">
        {headline && latest ? (
          <article data-testid="kiosk-latest" data-event-type={latest.type} data-event-id={latest.lastEventId || undefined}>
            <div className="text-info text-uppercase small mb-2">
              {latest.type} · {formatLocalDateTime(latest.receivedAt)}
            </div>
            <p className="display-4 fw-semibold mb-3">{headline.title}</p>
            {headline.body && <p className="fs-3 text-body-secondary">{headline.body}</p>}
          </article>
        ) : (
          state === 'open' && (
            <div className="text-center text-body-secondary">
              <p className="display-6">Waiting for announcements…</p>
            </div>
          )
        )}
      </main>
      {older.length > 0 && (
        <footer className="px-4 py-3 border-top border-secondary">
          <h2 className="visually-hidden">Earlier events</h2>
          <ul className="list-unstyled mb-0 small kiosk-history">
            {older.slice(0, 5).map((m, i) => (
              <li key={`${m.receivedAt}-${i}`} data-event-id={m.lastEventId || undefined}>
                <span className="text-body-secondary">{formatLocalTime(m.receivedAt)}</span> <code>{m.type}</code> {describe(m).title}
              </li>
            ))}
          </ul>
        </footer>
      )}
    </div>
  );
}
