import { afterEach, describe, expect, it, vi } from 'vitest';
import { envelopeError, EventStreamParser, fetchTransport, parseRetryAfter, type StreamEvent, type StreamFailure } from './eventStream';

const enc = new TextEncoder();

describe('EventStreamParser', () => {
  it('parses named events with ids and JSON data, and comments', () => {
    const p = new EventStreamParser();
    const out = p.feed(': hello\nretry: 3000\n\nevent: connected\ndata: {"a":1}\n\nid: 42\nevent: message\ndata: x\n\n');
    expect(out).toEqual([
      { type: 'connected', data: '{"a":1}', id: '' },
      { type: 'message', data: 'x', id: '42' },
    ]);
    expect(p.retryMs).toBe(3000);
  });

  it('joins data lines, defaults the type to message, and drops events without data', () => {
    const p = new EventStreamParser();
    expect(p.feed('data: one\ndata\ndata:  two\n\nevent: empty\n\nid: 7\n\n')).toEqual([{ type: 'message', data: 'one\n\n two', id: '' }]);
  });

  it('gives each event its own id, not the one before (unlike EventSource)', () => {
    const p = new EventStreamParser();
    expect(p.feed('id: 5\nevent: message\ndata: a\n\nevent: ping\ndata: {}\n\n')).toEqual([
      { type: 'message', data: 'a', id: '5' },
      { type: 'ping', data: '{}', id: '' },
    ]);
  });

  it('takes CRLF, CR and LF line ends, also split across chunks', () => {
    const p = new EventStreamParser();
    const out: StreamEvent[] = [];
    for (const chunk of ['event: a\r', '\ndata: 1\r', '\n\r', '\nevent: b\rdata: 2\r\r', 'data: 3\n', '\n']) out.push(...p.feed(chunk));
    expect(out).toEqual([
      { type: 'a', data: '1', id: '' },
      { type: 'b', data: '2', id: '' },
      { type: 'message', data: '3', id: '' },
    ]);
  });

  it('drops a leading BOM, ignores ids with NUL and unknown fields, and keeps an incomplete event for later', () => {
    const p = new EventStreamParser();
    expect(p.feed('\uFEFFevent: a\nfoo: bar\nid: 1\0\ndata: 1')).toEqual([]);
    expect(p.feed('\n\n')).toEqual([{ type: 'a', data: '1', id: '' }]);
  });

  it('decodes UTF-8 split between chunks', () => {
    const p = new EventStreamParser();
    const bytes = enc.encode('data: Caf\u00e9 \u2615\n\n');
    const out = [...p.feedBytes(bytes.slice(0, 9)), ...p.feedBytes(bytes.slice(9, 13)), ...p.feedBytes(bytes.slice(13))];
    expect(out).toEqual([{ type: 'message', data: 'Caf\u00e9 \u2615', id: '' }]);
  });
});

describe('parseRetryAfter and envelopeError', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('5')).toBe(5000);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
    const now = Date.UTC(2026, 11, 8, 12, 0, 0);
    expect(parseRetryAfter('Tue, 08 Dec 2026 12:00:30 GMT', now)).toBe(30_000);
  });

  it('reads the message and code of an envelope', () => {
    expect(envelopeError(JSON.stringify({ success: false, error: 'x', error_info: { code: 'CONFLICT', message: 'Display lobby is live on another screen' } }))).toEqual({
      message: 'Display lobby is live on another screen',
      code: 'CONFLICT',
    });
    expect(envelopeError('<html>')).toEqual({ message: null, code: null });
  });
});

/** A Response whose body the test writes to. */
function streamingResponse(headers: Record<string, string> = { 'Content-Type': 'text/event-stream' }) {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return {
    response: new Response(body, { status: 200, headers }),
    write: (text: string) => controller.enqueue(enc.encode(text)),
    end: () => controller.close(),
    error: () => controller.error(new TypeError('network error')),
  };
}

function collect() {
  const events: StreamEvent[] = [];
  const failures: StreamFailure[] = [];
  let opened = 0;
  return {
    events,
    failures,
    get opened() {
      return opened;
    },
    handlers: {
      onOpen: () => opened++,
      onEvent: (e: StreamEvent) => events.push(e),
      onFailure: (f: StreamFailure) => failures.push(f),
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => vi.unstubAllGlobals());

describe('fetchTransport', () => {
  it('requests an event stream and delivers its events as they arrive', async () => {
    const s = streamingResponse();
    const fetchMock = vi.fn(() => Promise.resolve(s.response));
    vi.stubGlobal('fetch', fetchMock);
    const c = collect();
    fetchTransport('/api/v1/events/admin?monitor=1', { credentials: 'same-origin' }, c.handlers);
    await tick();
    expect(c.opened).toBe(1);
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/events/admin?monitor=1');
    expect(init).toMatchObject({ method: 'GET', credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'text/event-stream' } });
    s.write('event: connected\ndata: {"connection_id":"t"}\n\nevent: ping\ndata: {}');
    await tick();
    expect(c.events.map((e) => e.type)).toEqual(['connected']);
    s.write('\n\n');
    await tick();
    expect(c.events.map((e) => e.type)).toEqual(['connected', 'ping']);
    s.end();
    await tick();
    expect(c.failures).toEqual([{ kind: 'ended', message: 'The server ended the stream' }]);
  });

  it('reports a refusal with its status, the server message and code, and Retry-After', async () => {
    const body = JSON.stringify({
      success: false,
      error: 'Too many streams for this user',
      message: 'Too many streams for this user',
      errors: ['Too many streams for this user'],
      error_info: { code: 'TOO_MANY_REQUESTS', message: 'Too many streams for this user' },
    });
    vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(new Response(body, { status: 429, headers: { 'Retry-After': '5', 'Content-Type': 'application/json' } }))));
    const c = collect();
    fetchTransport('/s', { credentials: 'same-origin' }, c.handlers);
    await tick();
    await tick();
    expect(c.opened).toBe(0);
    expect(c.failures).toEqual([{ kind: 'http', status: 429, code: 'TOO_MANY_REQUESTS', message: 'Too many streams for this user', retryAfterMs: 5000 }]);
  });

  it('names the status when the refusal is not JSON', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' }))));
    const c = collect();
    fetchTransport('/s', { credentials: 'same-origin' }, c.handlers);
    await tick();
    await tick();
    expect(c.failures).toEqual([{ kind: 'http', status: 502, code: null, message: 'HTTP 502 Bad Gateway', retryAfterMs: null }]);
  });

  it('refuses a 200 that is not an event stream (an HTML page)', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(new Response('<!doctype html>', { status: 200, headers: { 'Content-Type': 'text/html' } }))));
    const c = collect();
    fetchTransport('/s', { credentials: 'same-origin' }, c.handlers);
    await tick();
    expect(c.failures).toEqual([{ kind: 'format', message: 'The server answered with text/html, not an event stream' }]);
  });

  it('reports a network failure before and after the stream opened', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.reject(new TypeError('Failed to fetch'))));
    const before = collect();
    fetchTransport('/s', { credentials: 'same-origin' }, before.handlers);
    await tick();
    expect(before.failures).toEqual([{ kind: 'network', message: 'The server could not be reached (Failed to fetch)' }]);

    const s = streamingResponse();
    vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(s.response)));
    const after = collect();
    fetchTransport('/s', { credentials: 'same-origin' }, after.handlers);
    await tick();
    s.error();
    await tick();
    expect(after.failures).toEqual([{ kind: 'network', message: 'Connection lost' }]);
  });

  it('delivers nothing after close(), not even what was already read, and aborts the request', async () => {
    const s = streamingResponse();
    let signal!: AbortSignal;
    vi.stubGlobal(
      'fetch',
      vi.fn((_url: string, init: RequestInit) => {
        signal = init.signal!;
        return Promise.resolve(s.response);
      }),
    );
    const c = collect();
    const handle = fetchTransport('/s', { credentials: 'omit' }, c.handlers);
    await tick();
    s.write('event: a\ndata: 1\n\n');
    handle.close();
    await tick();
    await tick();
    expect(signal.aborted).toBe(true);
    expect(c.events).toEqual([]);
    expect(c.failures).toEqual([]);
  });
});
