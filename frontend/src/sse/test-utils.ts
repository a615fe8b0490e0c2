import { afterEach, beforeEach, vi } from 'vitest';
import { setDefaultTransport, type StreamHandlers, type StreamRequest, type StreamTransport } from './eventStream';

export const URL_ADMIN = '/api/v1/events/admin';
export const URL_DISCONNECT = '/api/v1/events/disconnect';

/**
 * A stand-in for one stream request of SSEClient (the transport of
 * eventStream.ts): records every stream opened, lets a test deliver named
 * events, lose the stream or refuse it with an HTTP status, and never
 * touches the network. Delivery is synchronous; the client must ignore a
 * stream it has closed (its handlers stay callable, as a late chunk could).
 */
export class FakeStream {
  static instances: FakeStream[] = [];

  readonly url: string;
  readonly credentials: RequestCredentials;
  private readonly handlers: StreamHandlers;
  private over = false;
  opened = false;
  close = vi.fn(() => {
    this.over = true;
  });

  constructor(url: string, request: StreamRequest, handlers: StreamHandlers) {
    this.url = url;
    this.credentials = request.credentials;
    this.handlers = handlers;
    FakeStream.instances.push(this);
  }

  /** The transport SSEClient calls (installed by installFakes()). */
  static readonly transport: StreamTransport = (url, request, handlers) => new FakeStream(url, request, handlers);

  /** Closed by the client, or failed. */
  get closed(): boolean {
    return this.over;
  }

  /** Deliver `event: type` with `data:` as the server would (a JSON string). */
  emit(type: string, data: unknown = {}, id = ''): void {
    if (!this.opened) {
      this.opened = true;
      this.handlers.onOpen();
    }
    this.handlers.onEvent({ type, data: typeof data === 'string' ? data : JSON.stringify(data), id });
  }

  /** The stream broke (network error, the server hung up). */
  fail(message = 'Connection lost'): void {
    this.over = true;
    this.handlers.onFailure({ kind: 'network', message });
  }

  /** The server answered `status` with a JSON error envelope (and `Retry-After` seconds, if given). */
  refuse(status: number, message: string, code: string | null = null, retryAfterSeconds: number | null = null): void {
    this.over = true;
    this.handlers.onFailure({ kind: 'http', status, code, message, retryAfterMs: retryAfterSeconds === null ? null : retryAfterSeconds * 1000 });
  }

  static reset(): void {
    FakeStream.instances = [];
  }

  static get last(): FakeStream {
    const es = FakeStream.instances.at(-1);
    if (!es) throw new Error('no stream was opened');
    return es;
  }
}

/** A JSON error envelope as the responder sends it. */
export function errorEnvelope(message: string, code: string) {
  return { success: false, error: message, message, errors: [message], error_info: { code, message } };
}

/** Install the fake stream transport, a fake navigator.sendBeacon and a fake fetch. */
export function installFakes(beaconResult = true) {
  FakeStream.reset();
  setDefaultTransport(FakeStream.transport);
  const sendBeacon = vi.fn<(url: string | URL, data?: BodyInit | null) => boolean>(() => beaconResult);
  Object.defineProperty(navigator, 'sendBeacon', { value: sendBeacon, configurable: true, writable: true });
  const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>(() =>
    Promise.resolve(new Response(JSON.stringify({ success: true, data: {} }), { status: 200 })),
  );
  vi.stubGlobal('fetch', fetchMock);
  return { sendBeacon, fetch: fetchMock };
}

/**
 * The SSE tests' common setup, for the calling file: before each test fresh
 * fakes (stream transport, sendBeacon, fetch, no BroadcastChannel left over) and a
 * visible page; after it real timers and globals again. Returns the current
 * test's `installFakes()` mocks (the same object, refilled for each test).
 */
export function setupFakes(): ReturnType<typeof installFakes> {
  const fakes = {} as ReturnType<typeof installFakes>;
  beforeEach(() => {
    Object.assign(fakes, installFakes());
    FakeBroadcastChannel.reset();
    setVisibility('visible');
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
    setDefaultTransport(null);
    FakeBroadcastChannel.reset();
  });
  return fakes;
}

export function setVisibility(state: DocumentVisibilityState): void {
  Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
  document.dispatchEvent(new Event('visibilitychange'));
}

export function connectedData(id: string, type = 'admin') {
  return { message: 'SSE connection established', connection_id: id, connection_type: type, timestamp: new Date().toISOString() };
}

/**
 * BroadcastChannel between "tabs" of one test: every instance of a name
 * hears what the others post (not itself), asynchronously as in a browser.
 */
export class FakeBroadcastChannel extends EventTarget {
  static channels: FakeBroadcastChannel[] = [];
  readonly name: string;
  closed = false;
  readonly posted: unknown[] = [];

  constructor(name: string) {
    super();
    this.name = name;
    FakeBroadcastChannel.channels.push(this);
  }

  postMessage(message: unknown): void {
    if (this.closed) throw new Error('InvalidStateError: channel closed');
    this.posted.push(message);
    const copy = structuredClone(message);
    for (const other of FakeBroadcastChannel.channels) {
      if (other === this || other.name !== this.name) continue;
      void Promise.resolve().then(() => {
        if (!other.closed) other.dispatchEvent(new MessageEvent('message', { data: copy }));
      });
    }
  }

  override addEventListener(type: string, listener: ((ev: MessageEvent) => void) | EventListenerOrEventListenerObject | null): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null);
  }

  close(): void {
    this.closed = true;
    FakeBroadcastChannel.channels = FakeBroadcastChannel.channels.filter((c) => c !== this);
  }

  static reset(): void {
    for (const c of FakeBroadcastChannel.channels) c.closed = true;
    FakeBroadcastChannel.channels = [];
  }
}

/** A sessionStorage stand-in; `copy()` is what "Duplicate tab" does. */
export class MemoryStorage {
  private readonly map = new Map<string, string>();
  getItem(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.map.set(key, String(value));
  }
  copy(): MemoryStorage {
    const other = new MemoryStorage();
    for (const [k, v] of this.map) other.setItem(k, v);
    return other;
  }
}
