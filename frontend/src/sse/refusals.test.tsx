import { act, render } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { SSEProvider, type SSEProviderProps } from './SSEProvider';
import { connectedData, FakeStream, setupFakes, setVisibility, URL_ADMIN, URL_DISCONNECT } from './test-utils';
import { Probe } from './test-probe';
import type { UseSSEResult } from './useSSE';

// A refused stream request tells why (fetch-based transport): the client
// keeps the status and message, and waits as long as the server or the
// page's policy says before it tries again.

const fakes = setupFakes();

let api!: UseSSEResult;
const keep = (x: UseSSEResult) => {
  api = x;
};

function renderProvider(props: Partial<SSEProviderProps> = {}) {
  return render(
    <SSEProvider url={URL_ADMIN} disconnectUrl={URL_DISCONNECT} {...props}>
      <Probe onApi={keep} />
    </SSEProvider>,
  );
}

describe('a refused stream', () => {
  it('keeps the status and message of a 429 and retries no sooner than Retry-After', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    renderProvider();
    act(() => FakeStream.last.refuse(429, 'Too many streams for this user', 'TOO_MANY_REQUESTS', 20));
    expect(api.state).toBe('error');
    expect(api.lastError).toBe('Too many streams for this user');
    expect(api.problem).toEqual({ kind: 'http', status: 429, code: 'TOO_MANY_REQUESTS', message: 'Too many streams for this user', retryAfterMs: 20_000 });
    expect(api.nextRetryAt! - Date.now()).toBe(20_000);
    // Neither visibility nor the network coming back skips the server's wait.
    act(() => {
      setVisibility('hidden');
      setVisibility('visible');
      window.dispatchEvent(new Event('online'));
    });
    act(() => vi.advanceTimersByTime(19_999));
    expect(FakeStream.instances).toHaveLength(1);
    act(() => vi.advanceTimersByTime(1));
    expect(FakeStream.instances).toHaveLength(2);
    // Nothing to release: the request never got a connection id.
    expect(fakes.sendBeacon).not.toHaveBeenCalled();
    act(() => FakeStream.last.emit('connected', connectedData('tok-1')));
    expect(api.problem).toBeNull();
    expect(api.lastError).toBeNull();
  });

  it('a network failure is retried with backoff, and at once when the page becomes visible', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    renderProvider();
    act(() => FakeStream.last.fail('The server could not be reached (Failed to fetch)'));
    expect(api.problem).toEqual({ kind: 'network', message: 'The server could not be reached (Failed to fetch)' });
    act(() => setVisibility('visible'));
    expect(FakeStream.instances).toHaveLength(2);
  });

  it('waits refusedRetryMs after 401, 404 and 409 (a kiosk: 60 s), whatever the backoff', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    renderProvider({ refusedRetryMs: 60_000 });
    for (const [status, message] of [
      [409, 'Display lobby is live on another screen'],
      [404, 'Unknown display'],
      [401, 'This display needs its key'],
    ] as const) {
      const before = FakeStream.instances.length;
      act(() => FakeStream.last.refuse(status, message, null, 1));
      expect(api.problem).toMatchObject({ kind: 'http', status, message });
      act(() => window.dispatchEvent(new Event('online')));
      act(() => vi.advanceTimersByTime(59_999));
      expect(FakeStream.instances).toHaveLength(before);
      act(() => vi.advanceTimersByTime(1));
      expect(FakeStream.instances).toHaveLength(before + 1);
    }
  });

  it('a 503 or 429 is not a refusal: only its Retry-After and the backoff count', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    renderProvider({ refusedRetryMs: 60_000 });
    act(() => FakeStream.last.refuse(503, 'Too many connections', 'SERVICE_UNAVAILABLE', 2));
    act(() => vi.advanceTimersByTime(2_000));
    expect(FakeStream.instances).toHaveLength(2);
  });
});

describe('superseded with supersededRetryMs (a kiosk)', () => {
  it('steps aside and tries again only after the wait; a later stream can be superseded again', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    renderProvider({ supersededRetryMs: 60_000, clientId: 'kiosk-abc' });
    act(() => FakeStream.last.emit('connected', connectedData('tok-1', 'display')));
    act(() => FakeStream.last.emit('superseded', { message: 'Replaced by a newer connection', reason: 'superseded' }));
    expect(FakeStream.last.closed).toBe(true);
    expect(api.state).toBe('error');
    expect(api.problem).toEqual({ kind: 'superseded', message: 'Replaced by a newer connection' });
    expect(api.nextRetryAt! - Date.now()).toBe(60_000);
    act(() => {
      setVisibility('visible');
      window.dispatchEvent(new Event('online'));
      vi.advanceTimersByTime(59_999);
    });
    expect(FakeStream.instances).toHaveLength(1);
    act(() => vi.advanceTimersByTime(1));
    expect(FakeStream.instances).toHaveLength(2);
    // The same client id: it is the same screen trying again.
    expect(FakeStream.last.url).toBe(`${URL_ADMIN}?client=kiosk-abc`);
    expect(fakes.sendBeacon).not.toHaveBeenCalled();
  });
});

describe('stream URL and request', () => {
  it('adds params to the stream URL only, and uses the credentials given', () => {
    fakes.fetch.mockImplementation(() => Promise.resolve(new Response(JSON.stringify({ success: true, data: { acked: true } }))));
    renderProvider({ params: { key: 's3cret-key-0123456789' }, credentials: 'omit', clientId: 'kiosk-1', ackUrl: '/api/v1/events/ack' });
    expect(FakeStream.last.url).toBe(`${URL_ADMIN}?ack=1&client=kiosk-1&key=s3cret-key-0123456789`);
    expect(FakeStream.last.credentials).toBe('omit');
    act(() => FakeStream.last.emit('connected', { ...connectedData('tok-k', 'display'), ack: true }));
    act(() => FakeStream.last.emit('ping', { seq: 1 }));
    const view = renderProvider();
    view.unmount();
    // The ack and the disconnect request never carry the key.
    for (const [url, init] of fakes.fetch.mock.calls) {
      expect(String(url)).not.toContain('s3cret');
      expect(String(init?.body)).not.toContain('s3cret');
    }
  });

  it('keeps what connected says about the monitor and the liveness thresholds', () => {
    renderProvider({ params: { monitor: '1' } });
    expect(FakeStream.last.url).toBe(`${URL_ADMIN}?monitor=1`);
    expect(api.monitor).toBeNull();
    act(() =>
      FakeStream.last.emit('connected', {
        ...connectedData('tok-m'),
        monitor: true,
        stale_after_heartbeats: 4,
        close_after_heartbeats: 6,
        heartbeat_ms: 1000,
      }),
    );
    expect(api).toMatchObject({ monitor: true, staleAfterHeartbeats: 4, closeAfterHeartbeats: 6, heartbeatMs: 1000 });
  });

  it('keeps summary and changes out of the recent events', () => {
    renderProvider();
    act(() => FakeStream.last.emit('connected', connectedData('tok-q')));
    const off = [api.subscribe('summary', () => undefined), api.subscribe('changes', () => undefined), api.subscribe('resync', () => undefined)];
    act(() => FakeStream.last.emit('summary', { seq: 1 }));
    act(() => FakeStream.last.emit('changes', { seq: 2, opened: [], closed: [], updated: [] }));
    act(() => FakeStream.last.emit('resync', { reason: 'overflow' }));
    expect(api.recent.map((m) => m.type)).toEqual(['resync', 'connected']);
    off.forEach((f) => f());
  });
});
