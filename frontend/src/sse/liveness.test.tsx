import { act, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ConnectionStatusCard } from '../components/ConnectionStatusCard';
import { LiveBadge } from '../components/LiveBadge';
import { TabClientId, type ClientIdSource } from './clientId';
import { SSEProvider } from './SSEProvider';
import {
  connectedData,
  FakeBroadcastChannel,
  FakeStream,
  MemoryStorage,
  setupFakes,
  setVisibility,
  URL_ADMIN,
  URL_DISCONNECT,
} from './test-utils';
import { Probe } from './test-probe';
import type { UseSSEResult } from './useSSE';

const URL_ACK = '/api/v1/events/ack';
const KEY = 'sse-fcgi.client-id';

const fakes = setupFakes();

let api!: UseSSEResult;
const keep = (x: UseSSEResult) => {
  api = x;
};

function renderProvider(props: { ackUrl?: string; clientId?: string | ClientIdSource } = {}) {
  return render(
    <SSEProvider url={URL_ADMIN} disconnectUrl={URL_DISCONNECT} {...props}>
      <Probe onApi={keep} />
      <LiveBadge />
    </SSEProvider>,
  );
}

/** A tab: its sessionStorage and its TabClientId on the shared fake channel. */
function tab(storage = new MemoryStorage(), ids: string[] = []) {
  let n = 0;
  const source = new TabClientId({
    storage,
    waitMs: 150,
    createChannel: (name) => new FakeBroadcastChannel(name),
    createId: () => ids[n++] ?? `tab-fresh${n}`,
  });
  return { storage, source };
}

/** Let promise callbacks (channel messages, claim resolution) run. */
async function flush() {
  await act(async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  });
}

function ackCalls() {
  return fakes.fetch.mock.calls
    .filter(([url]) => url === URL_ACK)
    .map(([, init]) => ({ init, body: JSON.parse(String(init?.body)) as unknown }));
}

describe('acknowledged liveness', () => {
  it('opens with ?ack=1&client=<id> and echoes the seq of each ping to the ack route', async () => {
    fakes.fetch.mockImplementation(() =>
      Promise.resolve(new Response(JSON.stringify({ success: true, data: { connection_id: 'tok-a', seq: 2, acked: true, rtt_ms: 3.5 } }))),
    );
    renderProvider({ ackUrl: URL_ACK, clientId: 'lobby' });
    const es = FakeStream.last;
    expect(es.url).toBe(`${URL_ADMIN}?ack=1&client=lobby`);
    act(() => es.emit('connected', { ...connectedData('tok-a'), public_id: 'p-1', ack: true, heartbeat_ms: 1000, client: 'lobby' }));
    expect(api.ack).toBe(true);
    act(() => es.emit('ping', { message: 'keep-alive', seq: 1 }));
    act(() => es.emit('ping', { message: 'keep-alive', seq: 2 }));
    await flush();
    const calls = ackCalls();
    expect(calls.map((c) => c.body)).toEqual([
      { connection_id: 'tok-a', seq: 1 },
      { connection_id: 'tok-a', seq: 2 },
    ]);
    expect(calls[0].init).toMatchObject({ method: 'POST', keepalive: true, credentials: 'same-origin' });
    expect(api.lastAckSeq).toBe(2);
    expect(api.lastAckRttMs).toBe(3.5);
    // The disconnect beacon is a different route.
    expect(fakes.sendBeacon).not.toHaveBeenCalled();
  });

  it('echoes nothing for a ping without seq, or on a stream without ackUrl', async () => {
    renderProvider({ ackUrl: URL_ACK });
    act(() => FakeStream.last.emit('connected', connectedData('tok-b')));
    act(() => FakeStream.last.emit('ping', { message: 'keep-alive' }));
    act(() => FakeStream.last.emit('ping', { message: 'keep-alive', seq: 'x' }));
    await flush();
    expect(ackCalls()).toHaveLength(0);
  });

  it('does not ask for acks without ackUrl', async () => {
    renderProvider();
    expect(FakeStream.last.url).toBe(URL_ADMIN);
    act(() => FakeStream.last.emit('connected', connectedData('tok-c')));
    act(() => FakeStream.last.emit('ping', { message: 'keep-alive', seq: 1 }));
    await flush();
    expect(fakes.fetch).not.toHaveBeenCalled();
  });

  it('acks with the id of the current stream after a reconnect', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    renderProvider({ ackUrl: URL_ACK, clientId: 'k1' });
    act(() => FakeStream.last.emit('connected', connectedData('tok-old')));
    act(() => FakeStream.last.fail());
    act(() => vi.advanceTimersByTime(500));
    expect(FakeStream.last.url).toBe(`${URL_ADMIN}?ack=1&client=k1`);
    act(() => FakeStream.last.emit('connected', connectedData('tok-new')));
    act(() => FakeStream.last.emit('ping', { seq: 1 }));
    await flush();
    expect(ackCalls().map((c) => c.body)).toEqual([{ connection_id: 'tok-new', seq: 1 }]);
  });
});

describe('ack route refused', () => {
  it('reopens once without ?ack=1 when the ack route answers 401 (a password-protected route), and stops acking', async () => {
    fakes.fetch.mockImplementation(() =>
      Promise.resolve(new Response(JSON.stringify({ success: false, error: 'authentication required' }), { status: 401 })),
    );
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    render(
      <SSEProvider url={URL_ADMIN} disconnectUrl={URL_DISCONNECT} ackUrl={URL_ACK} ackCredentials="omit" clientId="lobby">
        <Probe onApi={keep} />
      </SSEProvider>,
    );
    act(() => FakeStream.last.emit('connected', { ...connectedData('tok-kiosk', 'display'), ack: true }));
    act(() => FakeStream.last.emit('ping', { seq: 1 }));
    await flush();
    expect(FakeStream.instances).toHaveLength(2);
    expect(FakeStream.instances[0].closed).toBe(true);
    expect(FakeStream.last.url).toBe(`${URL_ADMIN}?client=lobby`);
    // The old stream is released through the disconnect route (no password needed).
    expect(fakes.sendBeacon).toHaveBeenCalledTimes(1);
    expect(api.ackProblem).toContain('HTTP 401');
    expect(ackCalls()[0].init).toMatchObject({ credentials: 'omit' });
    act(() => FakeStream.last.emit('connected', { ...connectedData('tok-kiosk2', 'display'), ack: false }));
    act(() => FakeStream.last.emit('ping', { seq: 1 }));
    await flush();
    expect(ackCalls()).toHaveLength(1);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('keeps acking after a network failure or a 5xx (the server will tell)', async () => {
    fakes.fetch.mockImplementation(() => Promise.reject(new TypeError('Failed to fetch')));
    renderProvider({ ackUrl: URL_ACK, clientId: 'lobby' });
    act(() => FakeStream.last.emit('connected', connectedData('tok-net')));
    act(() => FakeStream.last.emit('ping', { seq: 1 }));
    await flush();
    fakes.fetch.mockImplementation(() => Promise.resolve(new Response('{}', { status: 502 })));
    act(() => FakeStream.last.emit('ping', { seq: 2 }));
    await flush();
    act(() => FakeStream.last.emit('ping', { seq: 3 }));
    await flush();
    expect(FakeStream.instances).toHaveLength(1);
    expect(ackCalls().map((c) => (c.body as { seq: number }).seq)).toEqual([1, 2, 3]);
  });
});

describe('client id of a tab (sessionStorage + BroadcastChannel)', () => {
  it('takes a fresh id at once when the tab has none, and stores it', async () => {
    const t = tab(new MemoryStorage(), ['tab-0001']);
    await expect(t.source.claim()).resolves.toBe('tab-0001');
    expect(t.storage.getItem(KEY)).toBe('tab-0001');
  });

  it('keeps its id on reload: nobody else owns it, the stream is opened with it after a short wait', async () => {
    vi.useFakeTimers();
    // The page before the reload owned the id; it is gone now (channel closed).
    const before = tab(new MemoryStorage(), ['tab-reloaded']);
    await before.source.claim();
    before.source.close();
    const storage = before.storage.copy();

    const after = tab(storage, ['tab-unexpected']);
    renderProvider({ ackUrl: URL_ACK, clientId: after.source });
    expect(FakeStream.instances).toHaveLength(0);
    expect(screen.getByTestId('live-badge').textContent).toBe('Connecting');
    await flush();
    await act(async () => {
      vi.advanceTimersByTime(150);
    });
    await flush();
    expect(FakeStream.instances).toHaveLength(1);
    expect(FakeStream.last.url).toBe(`${URL_ADMIN}?ack=1&client=tab-reloaded`);
    expect(storage.getItem(KEY)).toBe('tab-reloaded');
  });

  it('takes a fresh id in a duplicated tab: the original answers that it owns the copied id', async () => {
    vi.useFakeTimers();
    const original = tab(new MemoryStorage(), ['tab-original']);
    await original.source.claim();
    const duplicate = tab(original.storage.copy(), ['tab-copy']);
    expect(duplicate.storage.getItem(KEY)).toBe('tab-original');

    renderProvider({ ackUrl: URL_ACK, clientId: duplicate.source });
    await flush();
    // Answered before the wait is over: no need to wait the full 150 ms.
    expect(FakeStream.instances).toHaveLength(1);
    expect(FakeStream.last.url).toBe(`${URL_ADMIN}?ack=1&client=tab-copy`);
    expect(duplicate.storage.getItem(KEY)).toBe('tab-copy');
    expect(original.storage.getItem(KEY)).toBe('tab-original');
    // And the copy now answers for its own id.
    const third = tab(duplicate.storage.copy(), ['tab-third']);
    const claimed = third.source.claim();
    await flush();
    await expect(claimed).resolves.toBe('tab-third');
  });

  it('two tabs claiming one copied id at the same moment end with two different ids', async () => {
    vi.useFakeTimers();
    const storage = new MemoryStorage();
    storage.setItem(KEY, 'tab-shared');
    const a = tab(storage.copy(), ['tab-a-new']);
    const b = tab(storage.copy(), ['tab-b-new']);
    const ids = Promise.all([a.source.claim(), b.source.claim()]);
    await flush();
    await act(async () => {
      vi.advanceTimersByTime(150);
    });
    const [ia, ib] = await ids;
    expect(ia).not.toBe(ib);
    expect([ia, ib]).toContain('tab-shared');
  });
});

describe('superseded', () => {
  it('closes for good: no reconnect after timers, visibility, online; the badge says Replaced', () => {
    vi.useFakeTimers();
    render(
      <SSEProvider url={URL_ADMIN} disconnectUrl={URL_DISCONNECT} ackUrl={URL_ACK} clientId="tab-x">
        <Probe onApi={keep} />
        <LiveBadge />
        <ConnectionStatusCard />
      </SSEProvider>,
    );
    const es = FakeStream.last;
    act(() => es.emit('connected', connectedData('tok-sup')));
    act(() => es.emit('superseded', { message: 'Replaced by a newer connection', reason: 'superseded' }));
    expect(es.closed).toBe(true);
    act(() => {
      vi.advanceTimersByTime(120_000);
      setVisibility('hidden');
      setVisibility('visible');
      window.dispatchEvent(new Event('online'));
      window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
    });
    expect(FakeStream.instances).toHaveLength(1);
    const badge = screen.getAllByTestId('live-badge')[0];
    expect(badge.textContent).toBe('Replaced');
    expect(badge.getAttribute('aria-label')).toContain('Replaced by another tab/window');
    expect(screen.getByTestId('own-connection').textContent).toContain('Replaced by another tab/window');
    // The server closed it: nothing to beacon.
    expect(fakes.sendBeacon).not.toHaveBeenCalled();
  });

  it('a superseded tab gives its id up; Reconnect opens with a new one', async () => {
    const original = tab(new MemoryStorage(), ['tab-first', 'tab-second']);
    renderProvider({ ackUrl: URL_ACK, clientId: original.source });
    await flush();
    expect(FakeStream.last.url).toContain('client=tab-first');
    act(() => FakeStream.last.emit('connected', connectedData('tok-1')));
    act(() => FakeStream.last.emit('superseded', { reason: 'superseded' }));
    expect(original.storage.getItem(KEY)).toBe('tab-second');
    act(() => api.connect());
    expect(FakeStream.instances).toHaveLength(2);
    expect(FakeStream.last.url).toBe(`${URL_ADMIN}?ack=1&client=tab-second`);
  });
});

describe('closed by the server', () => {
  it('reconnects with backoff after `closed`, without a beacon', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    renderProvider({ ackUrl: URL_ACK, clientId: 'tab-y' });
    act(() => FakeStream.last.emit('connected', connectedData('tok-closed')));
    act(() => FakeStream.last.emit('closed', { message: 'Closed by an administrator', reason: 'admin_closed' }));
    expect(FakeStream.last.closed).toBe(true);
    expect(screen.getByTestId('live-badge').textContent).toBe('Error');
    expect(api.lastError).toBe('Closed by an administrator');
    act(() => vi.advanceTimersByTime(749));
    expect(FakeStream.instances).toHaveLength(1);
    act(() => vi.advanceTimersByTime(1));
    expect(FakeStream.instances).toHaveLength(2);
    expect(FakeStream.last.url).toBe(`${URL_ADMIN}?ack=1&client=tab-y`);
    // A second close right after: the backoff grows.
    act(() => FakeStream.last.emit('closed', { reason: 'ack_timeout' }));
    act(() => vi.advanceTimersByTime(1_499));
    expect(FakeStream.instances).toHaveLength(2);
    act(() => vi.advanceTimersByTime(1));
    expect(FakeStream.instances).toHaveLength(3);
    expect(fakes.sendBeacon).not.toHaveBeenCalled();
  });
});
