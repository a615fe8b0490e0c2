import { afterEach, beforeEach, vi } from 'vitest';

export const URL_ADMIN = '/api/v1/events/admin';
export const URL_DISCONNECT = '/api/v1/events/disconnect';

/**
 * A stand-in for the browser's EventSource: records every instance, lets a
 * test push named events and errors, and never touches the network.
 */
export class FakeEventSource extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static instances: FakeEventSource[] = [];

  readonly url: string;
  readyState = FakeEventSource.CONNECTING;
  /** Names with at least one listener, in the order they were added. */
  readonly listened: string[] = [];
  close = vi.fn(() => {
    this.readyState = FakeEventSource.CLOSED;
  });

  constructor(url: string | URL) {
    super();
    this.url = String(url);
    FakeEventSource.instances.push(this);
  }

  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void {
    if (!this.listened.includes(type)) this.listened.push(type);
    super.addEventListener(type, listener, options);
  }

  get closed(): boolean {
    return this.readyState === FakeEventSource.CLOSED;
  }

  /** Deliver `event: type` with `data:` as the server would (a JSON string). */
  emit(type: string, data: unknown = {}, lastEventId = ''): void {
    this.readyState = FakeEventSource.OPEN;
    this.dispatchEvent(new MessageEvent(type, { data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId }));
  }

  /** The stream failed (network error, non-200, server closed it). */
  fail(): void {
    this.dispatchEvent(new Event('error'));
  }

  static reset(): void {
    FakeEventSource.instances = [];
  }

  static get last(): FakeEventSource {
    const es = FakeEventSource.instances.at(-1);
    if (!es) throw new Error('no EventSource was opened');
    return es;
  }
}

/** Install the fake EventSource and a fake navigator.sendBeacon. */
export function installFakes(beaconResult = true) {
  FakeEventSource.reset();
  vi.stubGlobal('EventSource', FakeEventSource);
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
 * fakes (EventSource, sendBeacon, fetch, no BroadcastChannel left over) and a
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
