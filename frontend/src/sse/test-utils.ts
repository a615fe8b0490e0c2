import { vi } from 'vitest';

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

export function setVisibility(state: DocumentVisibilityState): void {
  Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
  document.dispatchEvent(new Event('visibilitychange'));
}

export function connectedData(id: string, type = 'admin') {
  return { message: 'SSE connection established', connection_id: id, connection_type: type, timestamp: new Date().toISOString() };
}
