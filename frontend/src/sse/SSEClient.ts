import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import { CLIENT_ID_RE, type ClientIdSource } from './clientId';
import { defaultTransport, type StreamEvent, type StreamFailure, type StreamHandle, type StreamTransport } from './eventStream';

/**
 * One Server-Sent Events connection to sse-fcgi, with the client side of the
 * registry cleanup:
 *
 * - the `connection_id` from the `connected` event is kept, and when the
 *   connection is given up (dispose, pagehide, beforeunload, disconnect(), a
 *   lost stream) it is sent once to POST {prefix}/disconnect with
 *   navigator.sendBeacon, falling back to fetch(..., {keepalive: true});
 * - the stream is read with fetch() (see eventStream.ts), so a refused
 *   request tells its status, its JSON error and `Retry-After`: 429 at the
 *   per-user limit, 409 for a display live on another screen, 401 for a
 *   missing or wrong display key, 404 for an unknown display;
 * - on error the stream is closed and reopened with exponential backoff and
 *   jitter, never sooner than `Retry-After` nor, for a refusal (400, 401,
 *   403, 404, 409), than `refusedRetryMs`;
 * - it reconnects at once when the page becomes visible again, comes back
 *   from the back/forward cache or the network comes back;
 * - with `ackUrl`, the stream is opened with `?ack=1` and the `seq` of every
 *   ping is echoed to POST {prefix}/ack (acknowledged liveness);
 * - with `clientId`, the stream is opened with `?client=<id>`: the server
 *   then closes an older stream of the same client (`superseded`). A
 *   superseded client stays closed (a duplicated tab must settle, not flap),
 *   or with `supersededRetryMs` (a kiosk) tries again that much later;
 *   `closed` from the server (admin_closed, ack_timeout, ...) reconnects with
 *   backoff like an error;
 * - nothing lost across reconnects: the id of the newest broadcast event
 *   received is kept, and every stream this client opens again (backoff,
 *   visibility, connect()) asks for what it missed with `?lastEventId=<id>`
 *   (every stream is a new request). A fresh client (a page load) and a client that was
 *   superseded start without it. Ids only increase, so an event whose id is
 *   not above the newest one seen is a duplicate (a replay overlapping what
 *   arrived) and is dropped. `event: reset` (the missed events are no longer
 *   kept, or the server restarted) forgets the id and is passed on to the
 *   consumers, who reload their state.
 *
 * The class knows nothing about React: SSEProvider owns one instance per tab
 * and exposes it through useSSE(). Every public method is bound, so it can be
 * passed around as a callback.
 */

/** idle: never started; connecting: stream requested; open: `connected` received;
 *  error: stream lost, a retry is scheduled; closed: given up (see closedReason). */
export type SSEState = 'idle' | 'connecting' | 'open' | 'error' | 'closed';

/** Why the client is closed: disconnect() was called, the page is going away,
 *  the client was disposed, or the server replaced this stream by a newer one
 *  with the same client id (another tab or window). */
export type ClosedReason = 'manual' | 'unload' | 'disposed' | 'superseded';

/**
 * Why the last stream failed or ended, for the page to say so: a stream
 * failure (an HTTP refusal with its status and message, a network error,
 * ...), or the server's own last event: `closed` (with its reason),
 * `superseded` (when the client retries after it), `shutdown`.
 */
export type SSEProblem =
  | StreamFailure
  | { kind: 'closed'; reason: string | null; message: string }
  | { kind: 'superseded'; message: string }
  | { kind: 'shutdown'; message: string };

/** Events of the protocol itself: never broadcast, never replayed, never deduplicated. */
const PROTOCOL_EVENT_TYPES = new Set(['connected', 'ping', 'shutdown', 'superseded', 'closed', 'reset', 'summary', 'changes', 'resync']);

/** Is this the name of an event of the protocol (not a broadcast one)? */
export function isProtocolEvent(type: string): boolean {
  return PROTOCOL_EVENT_TYPES.has(type);
}

/** The pushed monitor's events (`?monitor=1`): frequent, so kept out of `recent`. */
export const MONITOR_EVENT_TYPES = ['summary', 'changes', 'resync'] as const;

/** Not kept in `recent`: keep-alives and the monitor's counts and changes. */
const QUIET_EVENT_TYPES = new Set(['ping', 'summary', 'changes']);

/** Statuses that mean "this request will be refused again": wait `refusedRetryMs` at least. */
const REFUSED_STATUSES = new Set([400, 401, 403, 404, 409]);

/** Name of the event by which the server says missed events are lost: reload your state. */
export const RESET_EVENT = 'reset';

const DECIMAL_ID_RE = /^[0-9]{1,20}$/;

/**
 * Orders two event ids: <0, 0 or >0. The responder's ids are decimal
 * sequence numbers (start time in ms, counting up), compared as numbers of
 * any length; ids that are not decimal cannot be ordered: equal or "newer".
 */
export function compareEventIds(a: string, b: string): number {
  if (DECIMAL_ID_RE.test(a) && DECIMAL_ID_RE.test(b)) {
    const x = a.replace(/^0+(?=.)/, '');
    const y = b.replace(/^0+(?=.)/, '');
    if (x.length !== y.length) return x.length - y.length;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a === b ? 0 : 1;
}

export interface SSEMessage {
  /** Event name (the `event:` field), e.g. "connected", "system.test_event". */
  type: string;
  /** Parsed JSON of the `data:` field, or the raw string when it is not JSON. */
  data: unknown;
  /** The `id:` field of the event, "" when absent. */
  lastEventId: string;
  /** Date.now() when the event was dispatched. */
  receivedAt: number;
  /** Public id of the stream it came on (from that stream's `connected`), if known. */
  stream: string | null;
}

export type SSEListener = (message: SSEMessage) => void;

export interface SSESnapshot {
  state: SSEState;
  /** The disconnect token of the current stream; never shown to other clients. */
  connectionId: string | null;
  /** "admin" or "display", from the `connected` event. */
  connectionType: string | null;
  /** The public id of this stream in stats, when the server tells it. */
  publicId: string | null;
  connectedAt: number | null;
  lastPingAt: number | null;
  lastEventAt: number | null;
  /** Events received on every stream of this client, pings included. */
  eventsReceived: number;
  /** Consecutive failed attempts; 0 once `connected` arrives. */
  attempt: number;
  /** When the scheduled retry fires (Date.now() based), if one is scheduled. */
  nextRetryAt: number | null;
  lastError: string | null;
  /** What went wrong with the last stream, in detail; null once `connected` arrives. */
  problem: SSEProblem | null;
  closedReason: ClosedReason | null;
  /** The `?client=` id of the stream, once known. */
  clientId: string | null;
  /** The server acknowledges liveness on this stream (`ack` of `connected`). */
  ack: boolean;
  /** Highest ping `seq` echoed to the ack route on the current stream. */
  lastAckSeq: number | null;
  /** Round trip of the last ack, as the server measured it (`rtt_ms`). */
  lastAckRttMs: number | null;
  /** Why acknowledgements were turned off for this client, if they were. */
  ackProblem: string | null;
  /** The last events other than pings, newest first. */
  recent: SSEMessage[];
  /** Id of the newest broadcast event received: where the next stream resumes. */
  lastEventId: string | null;
  /** The `lastEventId` the current (or last) stream was opened with, if any. */
  resumedFrom: string | null;
  /** Events dropped because their id was not above the newest one seen. */
  duplicatesIgnored: number;
  /** `event: reset` received (missed events lost: state reloaded). */
  resets: number;
  lastResetAt: number | null;
  /** From `connected`: the stream carries the pushed monitor (`?monitor=1` honoured); null before. */
  monitor: boolean | null;
  /** From `connected`: heartbeats without an ack before `stale`, and before the server closes it. */
  staleAfterHeartbeats: number | null;
  closeAfterHeartbeats: number | null;
  /** From `connected`: the server's heartbeat, in ms. */
  heartbeatMs: number | null;
}

export interface SSEClientOptions {
  /** Stream URL, e.g. /api/v1/events/admin. */
  url: string;
  /** POST target for the disconnect beacon, e.g. /api/v1/events/disconnect. */
  disconnectUrl: string;
  /** POST target for ping acknowledgements, e.g. /api/v1/events/ack. When
   *  set, the stream asks for acknowledged liveness (`?ack=1`). */
  ackUrl?: string;
  /** Credentials of the ack requests: 'same-origin' (default) for the
   *  dashboard, 'omit' for a kiosk, which has none: a 401 from a web server
   *  then comes back to us instead of a password prompt on the screen. */
  ackCredentials?: RequestCredentials;
  /** A stable client id (`?client=`), or where to get one (it may take a
   *  moment: see TabClientId). Invalid ids are not sent. */
  clientId?: string | ClientIdSource;
  backoff?: Partial<BackoffOptions>;
  /** Event names to listen to from the start, besides the built-in ones. */
  eventTypes?: string[];
  /** How many non-ping events to keep in `recent`. */
  recentLimit?: number;
  /** After beforeunload, reconnect if the page is still alive this much later
   *  (the navigation was cancelled, or it was a download or a mailto: link). */
  unloadResumeMs?: number;
  /** More query parameters of the stream URL (`monitor: '1'`, a display's `key`). Sent nowhere else. */
  params?: Record<string, string>;
  /** Credentials of the stream request; 'same-origin' (as EventSource) by default. */
  credentials?: RequestCredentials;
  /** The least wait after a refusal (400, 401, 403, 404, 409), in ms; 0 by default (backoff only). */
  refusedRetryMs?: number;
  /** After `superseded`: null (default) stays closed for good; a number retries that many ms later. */
  supersededRetryMs?: number | null;
  /** How streams are opened; the fetch-based reader by default. */
  transport?: StreamTransport;
}

/** Names the server always may send; listened to on every stream. */
export const BUILTIN_EVENT_TYPES = ['connected', 'ping', 'shutdown', 'superseded', 'closed', 'reset', 'message'] as const;

/** Subscribing to this name receives every dispatched event. */
export const ANY_EVENT = '*';

const INITIAL: SSESnapshot = {
  state: 'idle',
  connectionId: null,
  connectionType: null,
  publicId: null,
  connectedAt: null,
  lastPingAt: null,
  lastEventAt: null,
  eventsReceived: 0,
  attempt: 0,
  nextRetryAt: null,
  lastError: null,
  problem: null,
  closedReason: null,
  clientId: null,
  ack: false,
  lastAckSeq: null,
  lastAckRttMs: null,
  ackProblem: null,
  recent: [],
  lastEventId: null,
  resumedFrom: null,
  duplicatesIgnored: 0,
  resets: 0,
  lastResetAt: null,
  monitor: null,
  staleAfterHeartbeats: null,
  closeAfterHeartbeats: null,
  heartbeatMs: null,
};

function parseData(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function field(data: unknown, name: string): string | null {
  if (data && typeof data === 'object' && name in data) {
    const v = (data as Record<string, unknown>)[name];
    return typeof v === 'string' && v !== '' ? v : null;
  }
  return null;
}

function numberField(data: unknown, name: string): number | null {
  if (data && typeof data === 'object' && name in data) {
    const v = (data as Record<string, unknown>)[name];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  }
  return null;
}


/** Why the server closed a stream (`closed` event), in words for the badge. */
const CLOSED_REASON_TEXT: Record<string, string> = {
  admin_closed: 'Closed by an administrator',
  ack_timeout: 'Closed by the server: no acknowledgement received',
  disconnect_route: 'Closed by a disconnect request',
  slow_consumer: 'Closed by the server: too slow to read events',
};

/** `url` with `params` appended to its query string. */
export function withQuery(url: string, params: Record<string, string>): string {
  const query = new URLSearchParams(params).toString();
  if (!query) return url;
  return `${url}${url.includes('?') ? '&' : '?'}${query}`;
}

/** What became of one ack: recorded (with the server's RTT), not recorded,
 *  or refused by the route itself (HTTP status, e.g. 401 from a web server
 *  that asks for a password on the ack route). */
export type AckResult = { acked: true; rttMs: number | null } | { acked: false; status: number };

/** Statuses meaning "this client cannot use the ack route at all". */
const ACK_REFUSED = new Set([401, 403, 404, 405]);

/**
 * Echo a ping's sequence number to the ack route. A keepalive fetch (so it is
 * not lost when the page goes away a moment later), JSON body. Never throws;
 * status 0 means the request failed.
 */
export async function sendAck(
  url: string,
  connectionId: string,
  seq: number,
  credentials: RequestCredentials = 'same-origin',
): Promise<AckResult> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ connection_id: connectionId, seq }),
      keepalive: true,
      credentials,
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json' },
    });
    if (!response.ok) return { acked: false, status: response.status };
    const body: unknown = await response.json();
    const data = body && typeof body === 'object' ? (body as { data?: unknown }).data : null;
    if (!data || typeof data !== 'object' || (data as { acked?: unknown }).acked !== true) {
      return { acked: false, status: response.status };
    }
    return { acked: true, rttMs: numberField(data, 'rtt_ms') };
  } catch {
    return { acked: false, status: 0 }; // the server notices missing acks by itself
  }
}

/**
 * Tell the server a connection is gone. Prefers sendBeacon (survives page
 * unload; the string body goes as text/plain, which the responder accepts),
 * falls back to a keepalive fetch. Never throws. Returns how it was sent.
 */
export function sendDisconnect(url: string, connectionId: string): 'beacon' | 'fetch' | 'none' {
  const body = JSON.stringify({ connection_id: connectionId });
  try {
    if (typeof navigator !== 'undefined' && typeof navigator.sendBeacon === 'function') {
      if (navigator.sendBeacon(url, body)) return 'beacon';
    }
  } catch {
    // sendBeacon may throw on some origins or payloads: fall back to fetch.
  }
  try {
    if (typeof fetch === 'function') {
      void fetch(url, {
        method: 'POST',
        body,
        keepalive: true,
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
      }).catch(() => undefined);
      return 'fetch';
    }
  } catch {
    // Nothing left to try; the server's heartbeat will notice.
  }
  return 'none';
}

type ResolvedOptions = Required<Omit<SSEClientOptions, 'backoff' | 'clientId' | 'transport' | 'supersededRetryMs'>> & {
  backoff: BackoffOptions;
  transport: StreamTransport | null;
  supersededRetryMs: number | null;
};

export class SSEClient {
  private readonly options: ResolvedOptions;
  private snapshot: SSESnapshot = INITIAL;
  private readonly stateListeners = new Set<() => void>();
  private readonly eventListeners = new Map<string, Set<SSEListener>>();
  /** The current stream, if one is open or opening. */
  private source: StreamHandle | null = null;
  /** Identifies the current stream to its handlers: a late call of an older one is ignored. */
  private current: object | null = null;
  /** No automatic reconnect before this time (Retry-After, a refusal, superseded); 0: none. */
  private holdUntil = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private resumeTimer: ReturnType<typeof setTimeout> | null = null;
  /** Connection ids already reported to the disconnect route. */
  private readonly beaconed = new Set<string>();
  /** disconnect() was called: no automatic reconnect until connect(). */
  private manual = false;
  private started = false;
  /** Where the client id comes from, and the id once resolved. */
  private readonly clientSource: ClientIdSource | null;
  private clientId: string | null = null;
  /** Bumped whenever a pending open (waiting for the client id) must not happen. */
  private openSeq = 0;
  /** The ack route refused us (e.g. 401): stream without ?ack=1 from now on. */
  private ackDisabled = false;
  /** Newest broadcast event id received; null: nothing to resume from. */
  private lastId: string | null = null;

  constructor(options: SSEClientOptions) {
    const { clientId } = options;
    if (typeof clientId === 'string') {
      this.clientSource = null;
      this.clientId = CLIENT_ID_RE.test(clientId) ? clientId : null;
    } else {
      this.clientSource = clientId ?? null;
    }
    this.options = {
      url: options.url,
      disconnectUrl: options.disconnectUrl,
      ackUrl: options.ackUrl ?? '',
      ackCredentials: options.ackCredentials ?? 'same-origin',
      eventTypes: options.eventTypes ?? [],
      recentLimit: options.recentLimit ?? 50,
      unloadResumeMs: options.unloadResumeMs ?? 2_000,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      params: options.params ?? {},
      credentials: options.credentials ?? 'same-origin',
      refusedRetryMs: options.refusedRetryMs ?? 0,
      supersededRetryMs: options.supersededRetryMs ?? null,
      transport: options.transport ?? null,
    };
  }

  // ---- store interface (useSyncExternalStore) ----

  getSnapshot = (): SSESnapshot => this.snapshot;

  onChange = (listener: () => void): (() => void) => {
    this.stateListeners.add(listener);
    return () => {
      this.stateListeners.delete(listener);
    };
  };

  private update(patch: Partial<SSESnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const l of [...this.stateListeners]) l();
  }

  // ---- lifecycle ----

  /** Attach the page lifecycle listeners and open the stream. Idempotent. */
  start = (): void => {
    if (this.started) return;
    this.started = true;
    if (typeof window !== 'undefined') {
      window.addEventListener('pagehide', this.onPageHide);
      window.addEventListener('beforeunload', this.onBeforeUnload);
      window.addEventListener('pageshow', this.onPageShow);
      window.addEventListener('online', this.onResume);
    }
    if (typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', this.onVisibility);
    }
    if (!this.manual) this.open();
  };

  /** Give the connection up for good (provider unmount): beacon, close, detach. */
  dispose = (): void => {
    if (!this.started) return;
    this.started = false;
    if (typeof window !== 'undefined') {
      window.removeEventListener('pagehide', this.onPageHide);
      window.removeEventListener('beforeunload', this.onBeforeUnload);
      window.removeEventListener('pageshow', this.onPageShow);
      window.removeEventListener('online', this.onResume);
    }
    if (typeof document !== 'undefined') {
      document.removeEventListener('visibilitychange', this.onVisibility);
    }
    this.clearTimers();
    this.teardown();
    this.update({ state: 'closed', closedReason: 'disposed', nextRetryAt: null });
  };

  /** Open the stream now (again), resetting the backoff; a person asked, so no wait is kept. */
  connect = (): void => {
    this.manual = false;
    this.holdUntil = 0;
    this.update({ attempt: 0, lastError: null, problem: null });
    if (this.started) this.open();
  };

  /** Close the stream, tell the server, and stay offline until connect(). */
  disconnect = (): void => {
    this.manual = true;
    this.clearTimers();
    this.teardown();
    this.update({ state: 'closed', closedReason: 'manual', nextRetryAt: null });
  };

  // ---- events ----

  /**
   * Call `listener` for every event named `type` (or every event, with "*").
   * As with EventSource, an event is delivered (to "*" too, and kept in
   * `recent`) only if its name is listened to: a built-in name, one of
   * `eventTypes`, or one subscribed to. Returns the unsubscribe function.
   */
  subscribe = (type: string, listener: SSEListener): (() => void) => {
    let set = this.eventListeners.get(type);
    if (!set) {
      set = new Set();
      this.eventListeners.set(type, set);
    }
    set.add(listener);
    return () => {
      const s = this.eventListeners.get(type);
      if (!s) return;
      s.delete(listener);
      if (s.size === 0) this.eventListeners.delete(type);
    };
  };

  /** An event with this name is delivered (see subscribe()). */
  private listened(type: string): boolean {
    return (
      (BUILTIN_EVENT_TYPES as readonly string[]).includes(type) ||
      this.options.eventTypes.includes(type) ||
      (type !== ANY_EVENT && this.eventListeners.has(type))
    );
  }

  private onEvent(ev: StreamEvent): void {
    if (!this.listened(ev.type)) return;
    const id = ev.id;
    // Only broadcast events are judged by their id (protocol events carry none;
    // a test may give them the last one, as EventSource would).
    if (id && !PROTOCOL_EVENT_TYPES.has(ev.type) && this.lastId !== null && compareEventIds(id, this.lastId) <= 0) {
      this.update({ duplicatesIgnored: this.snapshot.duplicatesIgnored + 1 });
      return;
    }
    const data = parseData(ev.data);
    const message: SSEMessage = {
      type: ev.type,
      data,
      lastEventId: id,
      receivedAt: Date.now(),
      stream: ev.type === 'connected' ? (field(data, 'public_id') ?? field(data, 'id')) : this.snapshot.publicId,
    };
    const patch: Partial<SSESnapshot> = {
      lastEventAt: message.receivedAt,
      eventsReceived: this.snapshot.eventsReceived + 1,
    };
    if (message.type === RESET_EVENT) {
      // What we missed is gone (or the server restarted and its ids mean
      // something else now): resume from nothing; the consumers reload.
      this.lastId = null;
      Object.assign(patch, { lastEventId: null, resets: this.snapshot.resets + 1, lastResetAt: message.receivedAt });
    } else if (id && DECIMAL_ID_RE.test(id) && (this.lastId === null || compareEventIds(id, this.lastId) > 0)) {
      this.lastId = id;
      patch.lastEventId = id;
    }
    if (message.type === 'ping') {
      patch.lastPingAt = message.receivedAt;
      this.acknowledge(message.data);
    } else if (!QUIET_EVENT_TYPES.has(message.type)) {
      patch.recent = [message, ...this.snapshot.recent].slice(0, this.options.recentLimit);
    }
    if (message.type === 'connected') {
      this.holdUntil = 0;
      const flag = message.data && typeof message.data === 'object' ? (message.data as { monitor?: unknown }).monitor : undefined;
      Object.assign(patch, {
        state: 'open',
        connectionId: field(message.data, 'connection_id'),
        connectionType: field(message.data, 'connection_type'),
        publicId: field(message.data, 'public_id') ?? field(message.data, 'id'),
        connectedAt: message.receivedAt,
        lastPingAt: null,
        attempt: 0,
        nextRetryAt: null,
        lastError: null,
        problem: null,
        closedReason: null,
        ack: message.data !== null && typeof message.data === 'object' && (message.data as { ack?: unknown }).ack === true,
        lastAckSeq: null,
        lastAckRttMs: null,
        monitor: typeof flag === 'boolean' ? flag : false,
        staleAfterHeartbeats: numberField(message.data, 'stale_after_heartbeats'),
        closeAfterHeartbeats: numberField(message.data, 'close_after_heartbeats'),
        heartbeatMs: numberField(message.data, 'heartbeat_ms'),
      } satisfies Partial<SSESnapshot>);
    }
    this.update(patch);

    if (message.type === 'shutdown') {
      // The server ends this stream itself; come back when it does.
      this.closeSource();
      this.update({ connectionId: null, publicId: null });
      const text = 'The server is shutting down';
      this.scheduleRetry(text, { kind: 'shutdown', message: text });
    } else if (message.type === 'superseded' && this.options.supersededRetryMs !== null) {
      // A kiosk: another screen took this display over. Step aside, and look
      // again only after a long wait, so two screens never flap.
      this.closeSource();
      const text = 'Replaced by another screen';
      this.update({ connectionId: null, publicId: null });
      this.scheduleRetry(text, { kind: 'superseded', message: field(message.data, 'message') ?? text }, this.options.supersededRetryMs);
    } else if (message.type === 'superseded') {
      // A newer stream with our client id replaced this one (the same tab
      // reloaded, or a copy of this tab): do not fight it, stay closed.
      this.closeSource();
      this.manual = true;
      this.clearTimers();
      // Our id belongs to the stream that replaced us now: stop claiming it,
      // and use a new one if the user reconnects this tab. That stream is a
      // fresh start too: no replay of what this one missed.
      if (this.clientSource?.renew) this.clientId = this.clientSource.renew();
      this.lastId = null;
      this.update({
        state: 'closed',
        closedReason: 'superseded',
        connectionId: null,
        publicId: null,
        nextRetryAt: null,
        lastEventId: null,
      });
    } else if (message.type === 'closed') {
      // The server ended this stream (an administrator, missing acks, ...);
      // the id is gone there already, so no beacon. Come back with backoff.
      this.closeSource();
      this.update({ connectionId: null, publicId: null });
      const reason = field(message.data, 'reason');
      const text = (reason && CLOSED_REASON_TEXT[reason]) ?? field(message.data, 'message') ?? 'Closed by the server';
      this.scheduleRetry(text, { kind: 'closed', reason, message: text });
    }
    this.dispatch(message);
  }

  private dispatch(message: SSEMessage): void {
    // (Called only for names that are listened to: see onEvent.)
    for (const name of [message.type, ANY_EVENT]) {
      const set = this.eventListeners.get(name);
      if (!set) continue;
      for (const listener of [...set]) {
        try {
          listener(message);
        } catch (err) {
          // One faulty consumer must not starve the others.
          console.error(`SSE listener for "${name}" failed`, err);
        }
      }
    }
  }

  /** Echo the `seq` of a ping on an ack stream; the answer carries our RTT. */
  private acknowledge(data: unknown): void {
    const seq = numberField(data, 'seq');
    const id = this.snapshot.connectionId;
    if (!this.options.ackUrl || this.ackDisabled || seq === null || !Number.isInteger(seq) || seq < 1 || !id) return;
    this.update({ lastAckSeq: seq });
    void sendAck(this.options.ackUrl, id, seq, this.options.ackCredentials).then((result) => {
      if (this.snapshot.connectionId !== id) return;
      if (result.acked) {
        if (result.rttMs !== null) this.update({ lastAckRttMs: result.rttMs });
      } else if (ACK_REFUSED.has(result.status) && !this.ackDisabled) {
        // We can never ack on this route (a web server asking kiosks for a
        // password, an older responder): the server would drop this stream
        // for missing acks every 3 heartbeats. Stream without acks instead.
        this.ackDisabled = true;
        this.update({ ackProblem: `The ack route answered HTTP ${result.status}; streaming without acknowledgements` });
        console.warn(`sse-fcgi: ${this.options.ackUrl} answered HTTP ${result.status}; reopening the stream without ?ack=1`);
        if (this.started && !this.manual) {
          this.update({ attempt: 0 });
          this.open();
        }
      }
    });
  }

  // ---- the stream ----

  private streamUrl(): string {
    const params: Record<string, string> = {};
    if (this.options.ackUrl && !this.ackDisabled) params.ack = '1';
    if (this.clientId) params.client = this.clientId;
    Object.assign(params, this.options.params);
    // Every stream is a new request: say where we were.
    if (this.lastId) params.lastEventId = this.lastId;
    return withQuery(this.options.url, params);
  }

  private open(): void {
    this.clearTimers();
    this.teardown();
    if (this.clientSource && this.clientId === null) {
      // Wait for the client id (a moment, while other tabs are asked), then open.
      const seq = this.openSeq;
      this.update({ state: 'connecting', connectionId: null, publicId: null, nextRetryAt: null, closedReason: null });
      void Promise.resolve()
        .then(() => this.clientSource!.claim())
        .then(
          (id) => (CLIENT_ID_RE.test(id) ? id : null),
          () => null,
        )
        .then((id) => {
          if (this.clientId === null) this.clientId = id ?? '';
          if (seq === this.openSeq && this.started && !this.manual && !this.source) this.open();
        });
      return;
    }
    const transport = this.options.transport ?? defaultTransport();
    const token = {};
    this.current = token;
    const mine = () => this.current === token;
    // Same origin as the page: the browser sends the credentials it was given.
    const handle = transport(
      this.streamUrl(),
      { credentials: this.options.credentials },
      {
        onOpen: () => undefined, // `connected` is what counts
        onEvent: (ev) => {
          if (mine()) this.onEvent(ev);
        },
        onFailure: (failure) => {
          if (mine()) this.onFailure(failure);
        },
      },
    );
    if (!mine()) {
      handle.close(); // it failed at once, and a retry is already set up
      return;
    }
    this.source = handle;
    this.update({
      state: 'connecting',
      connectionId: null,
      publicId: null,
      connectionType: null,
      nextRetryAt: null,
      closedReason: null,
      clientId: this.clientId || null,
      resumedFrom: this.lastId,
    });
  }

  private onFailure(failure: StreamFailure): void {
    // The stream is over: release its id (if it got one) and come back later.
    this.teardown();
    let least = 0;
    if (failure.kind === 'http') {
      least = Math.max(failure.retryAfterMs ?? 0, REFUSED_STATUSES.has(failure.status) ? this.options.refusedRetryMs : 0);
    }
    this.scheduleRetry(failure.message, failure, least);
  }

  /**
   * Retry after the backoff delay of this attempt, or after `leastMs` if that
   * is longer; such a wait is kept even when the page becomes visible or the
   * network comes back (only connect() skips it).
   */
  private scheduleRetry(reason: string, problem: SSEProblem, leastMs = 0): void {
    if (this.manual || !this.started) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const attempt = this.snapshot.attempt;
    const delay = Math.max(backoffDelay(attempt, this.options.backoff), leastMs);
    this.holdUntil = leastMs > 0 ? Date.now() + delay : 0;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.holdUntil = 0;
      this.open();
    }, delay);
    this.update({ state: 'error', attempt: attempt + 1, lastError: reason, problem, nextRetryAt: Date.now() + delay });
  }

  /** Beacon the current connection id (once) and close the stream. */
  private teardown(): void {
    const id = this.snapshot.connectionId;
    if (id && !this.beaconed.has(id)) {
      this.beaconed.add(id);
      sendDisconnect(this.options.disconnectUrl, id);
    }
    this.closeSource();
    if (id) this.update({ connectionId: null, publicId: null });
  }

  private closeSource(): void {
    const source = this.source;
    this.current = null;
    if (!source) return;
    this.source = null;
    source.close();
  }

  private clearTimers(): void {
    this.openSeq++; // and any open still waiting for the client id
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.retryTimer = null;
    this.resumeTimer = null;
  }

  // ---- page lifecycle ----

  private onPageHide = (): void => {
    this.clearTimers();
    this.teardown();
    this.update({ state: 'closed', closedReason: 'unload', nextRetryAt: null });
  };

  private onBeforeUnload = (): void => {
    this.onPageHide();
    // If the page is still here a moment later, the unload did not happen.
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = null;
      this.resume();
    }, this.options.unloadResumeMs);
  };

  private onPageShow = (ev: PageTransitionEvent): void => {
    if (ev.persisted) this.resume();
  };

  private onVisibility = (): void => {
    if (document.visibilityState === 'visible') this.resume();
  };

  private onResume = (): void => {
    this.resume();
  };

  /** Reconnect now if we should be connected but are not (or only waiting to retry, with no wait to keep). */
  private resume(): void {
    if (this.manual || !this.started || this.source || Date.now() < this.holdUntil) return;
    this.update({ attempt: 0 });
    this.open();
  }
}
