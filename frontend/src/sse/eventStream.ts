/**
 * The stream under SSEClient: fetch() and a ReadableStream, read as the
 * WHATWG event-stream format, instead of the browser's EventSource.
 *
 * Why not EventSource: when a stream request fails, EventSource says only
 * "error". It never tells the page the HTTP status, the `Retry-After` header
 * or the JSON error the responder sent (429 "Too many streams for this user",
 * 409 "Display lobby is live on another screen", 401 "Wrong key for this
 * display", 404 "Unknown display"), and a second request to find out would
 * open a second stream, or be refused for the very same reason. fetch() gives
 * all of it from the one request. What EventSource did besides, SSEClient
 * already does itself (reconnecting with backoff, resuming with
 * `?lastEventId=`), so nothing is lost.
 *
 * Differences from EventSource, on purpose:
 * - an event's `id` is its own `id:` line ('' when it has none); EventSource
 *   repeats the last id on every later event, pings included;
 * - `retry:` is parsed but not obeyed: SSEClient's backoff decides;
 * - an answer that is not `200 text/event-stream` is a failure that carries
 *   the status, the envelope's message and code, and `Retry-After`.
 */

/** One dispatched event. `data` is the raw text (lines joined by "\n"). */
export interface StreamEvent {
  type: string;
  data: string;
  /** The event's own `id:` field; '' when it had none. */
  id: string;
}

/**
 * Incremental parser of text/event-stream (the WHATWG HTML "event stream
 * interpretation"): lines end in CRLF, LF or CR (a chunk may end between CR
 * and LF), a leading BOM is dropped, `:` lines are comments, an empty line
 * dispatches, an event with no `data:` line is not dispatched, `id` values
 * containing NUL are ignored. Bytes are decoded as UTF-8 across chunk
 * boundaries.
 */
export class EventStreamParser {
  private buffer = '';
  private started = false;
  private data: string[] = [];
  private type = '';
  private id = '';
  private readonly decoder = new TextDecoder('utf-8');
  /** The last valid `retry:` value, in ms (informational). */
  retryMs: number | null = null;

  /** Feed raw bytes; returns the events they completed. */
  feedBytes(chunk: Uint8Array): StreamEvent[] {
    return this.feed(this.decoder.decode(chunk, { stream: true }));
  }

  /** Feed decoded text; returns the events it completed. */
  feed(text: string): StreamEvent[] {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buffer += text;
    const out: StreamEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      if (ch === 13 && i === this.buffer.length - 1) break; // a CR at the end: wait for a possible LF
      this.line(this.buffer.slice(start, i), out);
      if (ch === 13 && this.buffer.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string, out: StreamEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ type: this.type || 'message', data: this.data.join('\n'), id: this.id });
      this.data = [];
      this.type = '';
      this.id = '';
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' comment
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (name) {
      case 'event':
        this.type = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
  }
}

/** Why a stream is over (or never started). */
export type StreamFailure =
  /** The server answered, but not with a stream: its status, its message, when to come back. */
  | { kind: 'http'; status: number; code: string | null; message: string; retryAfterMs: number | null }
  /** The request failed or the connection broke. */
  | { kind: 'network'; message: string }
  /** The server ended a stream that had been open. */
  | { kind: 'ended'; message: string }
  /** A 200 that is not an event stream (an HTML page from a misrouted request, ...). */
  | { kind: 'format'; message: string };

export interface StreamHandlers {
  /** The answer is a stream (200 text/event-stream). */
  onOpen(): void;
  onEvent(event: StreamEvent): void;
  /** Called at most once; the stream is over. Never called after close(). */
  onFailure(failure: StreamFailure): void;
}

export interface StreamHandle {
  /** Abort the request; no handler is called afterwards. */
  close(): void;
}

export interface StreamRequest {
  credentials: RequestCredentials;
}

export type StreamTransport = (url: string, request: StreamRequest, handlers: StreamHandlers) => StreamHandle;

/** `Retry-After` as ms from now: delta-seconds or an HTTP date; null if absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^[0-9]+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The message and code of a JSON error envelope, if the text is one. */
export function envelopeError(text: string): { message: string | null; code: string | null } {
  try {
    const body: unknown = JSON.parse(text);
    if (!body || typeof body !== 'object') return { message: null, code: null };
    const b = body as { error?: unknown; message?: unknown; errors?: unknown; error_info?: { code?: unknown; message?: unknown } };
    const pick = (...xs: unknown[]) => xs.find((x): x is string => typeof x === 'string' && x !== '') ?? null;
    const errors = Array.isArray(b.errors) ? b.errors : [];
    return {
      message: pick(b.error_info?.message, b.error, b.message, errors[0]),
      code: pick(b.error_info?.code),
    };
  } catch {
    return { message: null, code: null };
  }
}

/** The longest error body read for its message; a proxy's error page may be large. */
const ERROR_BODY_LIMIT = 16 * 1024;

async function readLimited(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const decoder = new TextDecoder('utf-8');
  let text = '';
  try {
    while (text.length < ERROR_BODY_LIMIT) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return text.slice(0, ERROR_BODY_LIMIT);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The production transport: GET `url` with fetch (Accept: text/event-stream,
 * no cache), then read the body as an event stream. Each handler call
 * happens only while the stream is current: after close() nothing more is
 * delivered, even from a chunk already read.
 */
export const fetchTransport: StreamTransport = (url, request, handlers) => {
  const controller = new AbortController();
  let over = false;
  let opened = false;
  const fail = (failure: StreamFailure) => {
    if (over) return;
    over = true;
    controller.abort();
    handlers.onFailure(failure);
  };

  void (async () => {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'GET',
        headers: { Accept: 'text/event-stream' },
        credentials: request.credentials,
        cache: 'no-store',
        signal: controller.signal,
      });
    } catch (err) {
      fail({ kind: 'network', message: `The server could not be reached (${errorText(err)})` });
      return;
    }
    if (over) return;
    if (response.status !== 200) {
      let text = '';
      try {
        text = await readLimited(response);
      } catch {
        // The status alone says enough.
      }
      const { message, code } = envelopeError(text);
      fail({
        kind: 'http',
        status: response.status,
        code,
        message: message ?? `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
        retryAfterMs: parseRetryAfter(response.headers.get('Retry-After')),
      });
      return;
    }
    const type = response.headers.get('Content-Type') ?? '';
    if (!/^text\/event-stream\b/i.test(type) || !response.body) {
      response.body?.cancel().catch(() => undefined);
      fail({ kind: 'format', message: `The server answered with ${type || 'no content type'}, not an event stream` });
      return;
    }
    opened = true;
    handlers.onOpen();
    const reader = response.body.getReader();
    const parser = new EventStreamParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (over) return;
      if (done) {
        fail({ kind: 'ended', message: 'The server ended the stream' });
        return;
      }
      for (const event of parser.feedBytes(value)) {
        if (over) return;
        try {
          handlers.onEvent(event);
        } catch (err) {
          // A fault in one event's handling must not look like a lost stream.
          console.error('sse-fcgi: handling an event failed', err);
        }
      }
    }
  })().catch((err: unknown) => {
    fail({ kind: 'network', message: opened ? 'Connection lost' : `The server could not be reached (${errorText(err)})` });
  });

  return {
    close() {
      if (over) return;
      over = true;
      controller.abort();
    },
  };
};

let override: StreamTransport | null = null;

/** The transport SSEClient uses when its options name none: fetchTransport, or what a test set. */
export function defaultTransport(): StreamTransport {
  return override ?? fetchTransport;
}

/** Replace the default transport (tests); null restores fetchTransport. */
export function setDefaultTransport(transport: StreamTransport | null): void {
  override = transport;
}
