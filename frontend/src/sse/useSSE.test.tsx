import { act, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { LiveBadge } from '../components/LiveBadge';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff';
import { SSEProvider } from './SSEProvider';
import { connectedData, FakeStream, setupFakes, setVisibility, URL_ADMIN, URL_DISCONNECT } from './test-utils';
import { useSSE, useSSEEvent } from './useSSE';
import type { SSEMessage } from './SSEClient';

const fakes = setupFakes();

/** A consumer that shows the shared state and counts its own events. */
function Consumer({ name, onApi }: { name: string; onApi?: (api: ReturnType<typeof useSSE>) => void }) {
  const sse = useSSE();
  const [pings, setPings] = useState(0);
  useSSEEvent('ping', () => setPings((n) => n + 1));
  onApi?.(sse);
  return (
    <div data-testid={name}>
      {sse.state}|{sse.connectionId ?? 'none'}|{pings}
    </div>
  );
}

function renderProvider(children: React.ReactNode = <Consumer name="a" />, backoff = DEFAULT_BACKOFF) {
  return render(
    <SSEProvider url={URL_ADMIN} disconnectUrl={URL_DISCONNECT} backoff={backoff}>
      {children}
    </SSEProvider>,
  );
}

function connect(es: FakeStream, id: string) {
  act(() => es.emit('connected', connectedData(id)));
}

function beaconBodies(): unknown[] {
  return fakes.sendBeacon.mock.calls.map(([url, body]) => {
    expect(url).toBe(URL_DISCONNECT);
    return JSON.parse(String(body));
  });
}

describe('one stream per provider', () => {
  it('opens exactly one EventSource for three consumers and shares its events', () => {
    renderProvider(
      <>
        <Consumer name="a" />
        <Consumer name="b" />
        <Consumer name="c" />
      </>,
    );
    expect(FakeStream.instances).toHaveLength(1);
    expect(FakeStream.last.url).toBe(URL_ADMIN);
    const es = FakeStream.last;
    connect(es, 'tok-1');
    act(() => es.emit('ping', { message: 'keep-alive' }));
    for (const name of ['a', 'b', 'c']) expect(screen.getByTestId(name).textContent).toBe('open|tok-1|1');
    expect(FakeStream.instances).toHaveLength(1);
  });

  it('keeps the one stream while consumers mount and unmount', () => {
    function Toggle() {
      const [shown, setShown] = useState(true);
      return (
        <>
          <button onClick={() => setShown((s) => !s)}>toggle</button>
          {shown && <Consumer name="x" />}
        </>
      );
    }
    renderProvider(<Toggle />);
    connect(FakeStream.last, 'tok-keep');
    act(() => screen.getByText('toggle').click());
    act(() => screen.getByText('toggle').click());
    expect(FakeStream.instances).toHaveLength(1);
    expect(fakes.sendBeacon).not.toHaveBeenCalled();
    expect(screen.getByTestId('x').textContent).toBe('open|tok-keep|0');
  });
});

describe('connection id', () => {
  it('is taken from the connected event and the state becomes open', () => {
    renderProvider();
    expect(screen.getByTestId('a').textContent).toBe('connecting|none|0');
    connect(FakeStream.last, '6f1c2a9e-0000-4000-8000-00000000abcd');
    expect(screen.getByTestId('a').textContent).toBe('open|6f1c2a9e-0000-4000-8000-00000000abcd|0');
  });
});

describe('disconnect beacon', () => {
  it('is sent on unmount, with the connection id, before the stream is closed', () => {
    const view = renderProvider();
    const es = FakeStream.last;
    connect(es, 'tok-unmount');
    view.unmount();
    expect(beaconBodies()).toEqual([{ connection_id: 'tok-unmount' }]);
    expect(es.closed).toBe(true);
    expect(fakes.sendBeacon.mock.invocationCallOrder[0]).toBeLessThan(es.close.mock.invocationCallOrder[0]);
  });

  it('is sent once on pagehide, and not again on beforeunload or unmount', () => {
    const view = renderProvider();
    const es = FakeStream.last;
    connect(es, 'tok-hide');
    act(() => {
      window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
    });
    expect(beaconBodies()).toEqual([{ connection_id: 'tok-hide' }]);
    expect(es.closed).toBe(true);
    act(() => {
      window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
      window.dispatchEvent(new Event('beforeunload'));
    });
    view.unmount();
    expect(fakes.sendBeacon).toHaveBeenCalledTimes(1);
  });

  it('is sent on beforeunload', () => {
    renderProvider();
    connect(FakeStream.last, 'tok-bu');
    act(() => {
      window.dispatchEvent(new Event('beforeunload'));
    });
    expect(beaconBodies()).toEqual([{ connection_id: 'tok-bu' }]);
    expect(FakeStream.last.closed).toBe(true);
  });

  it('reconnects if the page is still there after beforeunload (cancelled navigation)', () => {
    vi.useFakeTimers();
    renderProvider();
    connect(FakeStream.last, 'tok-stay');
    act(() => {
      window.dispatchEvent(new Event('beforeunload'));
    });
    expect(FakeStream.instances).toHaveLength(1);
    act(() => vi.advanceTimersByTime(2_000));
    expect(FakeStream.instances).toHaveLength(2);
    expect(fakes.sendBeacon).toHaveBeenCalledTimes(1);
  });

  it('falls back to fetch with keepalive when sendBeacon refuses', () => {
    fakes.sendBeacon.mockReturnValue(false);
    const view = renderProvider();
    connect(FakeStream.last, 'tok-fetch');
    view.unmount();
    expect(fakes.fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fakes.fetch.mock.calls[0];
    expect(url).toBe(URL_DISCONNECT);
    expect(init).toMatchObject({ method: 'POST', keepalive: true });
    expect(JSON.parse(String(init?.body))).toEqual({ connection_id: 'tok-fetch' });
  });

  it('falls back to fetch when sendBeacon does not exist', () => {
    Object.defineProperty(navigator, 'sendBeacon', { value: undefined, configurable: true, writable: true });
    const view = renderProvider();
    connect(FakeStream.last, 'tok-nobeacon');
    view.unmount();
    expect(fakes.fetch).toHaveBeenCalledTimes(1);
  });

  it('is not sent when no connection id was received', () => {
    const view = renderProvider();
    view.unmount();
    expect(fakes.sendBeacon).not.toHaveBeenCalled();
    expect(FakeStream.last.closed).toBe(true);
  });

  it('reports a lost stream id once, then the new id on unmount', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const view = renderProvider();
    connect(FakeStream.last, 'tok-old');
    act(() => FakeStream.last.fail());
    act(() => vi.advanceTimersByTime(500));
    connect(FakeStream.last, 'tok-new');
    view.unmount();
    expect(beaconBodies()).toEqual([{ connection_id: 'tok-old' }, { connection_id: 'tok-new' }]);
  });
});

describe('disconnect() and connect()', () => {
  it('closes, beacons, shows Offline and does not reconnect until connect()', () => {
    vi.useFakeTimers();
    let api!: ReturnType<typeof useSSE>;
    renderProvider(
      <>
        <Consumer name="a" onApi={(x) => (api = x)} />
        <LiveBadge />
      </>,
    );
    const es = FakeStream.last;
    connect(es, 'tok-manual');
    expect(screen.getByTestId('live-badge').textContent).toBe('Live');
    act(() => api.disconnect());
    expect(es.closed).toBe(true);
    expect(beaconBodies()).toEqual([{ connection_id: 'tok-manual' }]);
    expect(screen.getByTestId('live-badge').textContent).toBe('Offline');
    act(() => {
      vi.advanceTimersByTime(120_000);
      setVisibility('hidden');
      setVisibility('visible');
      window.dispatchEvent(new Event('online'));
    });
    expect(FakeStream.instances).toHaveLength(1);
    act(() => api.disconnect());
    expect(fakes.sendBeacon).toHaveBeenCalledTimes(1);
    act(() => api.connect());
    expect(FakeStream.instances).toHaveLength(2);
    expect(screen.getByTestId('live-badge').textContent).toBe('Connecting');
  });
});

describe('reconnect with backoff', () => {
  it('follows the exponential schedule with jitter, capped at 30 s', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    renderProvider(<LiveBadge />);
    // random 0.5, jitter 0.5: delay = raw * 0.75, raw = min(30 s, 1 s * 2^n).
    const expected = [750, 1_500, 3_000, 6_000, 12_000, 22_500, 22_500, 22_500];
    for (const delay of expected) {
      const before = FakeStream.instances.length;
      act(() => FakeStream.last.fail());
      expect(FakeStream.instances.at(before - 1)!.closed).toBe(true);
      expect(screen.getByTestId('live-badge').textContent).toBe('Error');
      act(() => vi.advanceTimersByTime(delay - 1));
      expect(FakeStream.instances).toHaveLength(before);
      act(() => vi.advanceTimersByTime(1));
      expect(FakeStream.instances).toHaveLength(before + 1);
      expect(screen.getByTestId('live-badge').textContent).toBe('Connecting');
    }
  });

  it('starts again from 1 s once a stream is connected', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.9999);
    renderProvider();
    act(() => FakeStream.last.fail());
    act(() => vi.advanceTimersByTime(1_000));
    act(() => FakeStream.last.fail());
    act(() => vi.advanceTimersByTime(2_000));
    expect(FakeStream.instances).toHaveLength(3);
    connect(FakeStream.last, 'tok-reset');
    act(() => FakeStream.last.fail());
    act(() => vi.advanceTimersByTime(999));
    expect(FakeStream.instances).toHaveLength(3);
    act(() => vi.advanceTimersByTime(1));
    expect(FakeStream.instances).toHaveLength(4);
  });

  it('backoffDelay stays within [raw/2, raw] and never above the cap', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const raw = Math.min(30_000, 1_000 * 2 ** attempt);
      expect(backoffDelay(attempt, DEFAULT_BACKOFF, () => 0)).toBe(raw / 2);
      expect(backoffDelay(attempt, DEFAULT_BACKOFF, () => 0.999999)).toBeLessThanOrEqual(raw);
      expect(backoffDelay(attempt, DEFAULT_BACKOFF, () => 0.999999)).toBeGreaterThan(raw - 1);
    }
  });

  it('reconnects after a shutdown event, without a beacon (the server closes it)', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    renderProvider();
    connect(FakeStream.last, 'tok-shutdown');
    act(() => FakeStream.last.emit('shutdown', { message: 'server shutting down' }));
    expect(FakeStream.last.closed).toBe(true);
    act(() => vi.advanceTimersByTime(500));
    expect(FakeStream.instances).toHaveLength(2);
    expect(fakes.sendBeacon).not.toHaveBeenCalled();
  });
});

describe('visibility', () => {
  it('reconnects at once when the page becomes visible while waiting to retry', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    renderProvider(<LiveBadge />);
    // Fail a few times so the next retry is far away.
    for (const delay of [750, 1_500, 3_000]) {
      act(() => FakeStream.last.fail());
      act(() => vi.advanceTimersByTime(delay));
    }
    act(() => FakeStream.last.fail());
    act(() => setVisibility('hidden'));
    expect(FakeStream.instances).toHaveLength(4);
    act(() => setVisibility('visible'));
    expect(FakeStream.instances).toHaveLength(5);
    expect(screen.getByTestId('live-badge').textContent).toBe('Connecting');
    // The pending retry was cancelled: no second stream later.
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeStream.instances).toHaveLength(5);
  });

  it('does not open a second stream when a live page becomes visible', () => {
    renderProvider();
    connect(FakeStream.last, 'tok-vis');
    act(() => setVisibility('hidden'));
    act(() => setVisibility('visible'));
    expect(FakeStream.instances).toHaveLength(1);
  });

  it('reconnects when the page comes back from the back/forward cache', () => {
    renderProvider();
    connect(FakeStream.last, 'tok-bfcache');
    act(() => {
      window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
    });
    expect(fakes.sendBeacon).toHaveBeenCalledTimes(1);
    act(() => {
      window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
    });
    expect(FakeStream.instances).toHaveLength(2);
  });
});

describe('events', () => {
  it('delivers a name only once it is listened to, on this stream and every later one', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const got: SSEMessage[] = [];
    const all: string[] = [];
    let api!: ReturnType<typeof useSSE>;
    renderProvider(<Consumer name="a" onApi={(x) => (api = x)} />);
    const first = FakeStream.last;
    act(() => {
      api.subscribe('*', (m) => all.push(m.type));
    });
    // Nobody listens to orders.created yet: as with EventSource, it is not delivered, not even to "*".
    act(() => first.emit('orders.created', { order: 6 }, '41'));
    expect(all).toEqual([]);
    expect(api.recent).toHaveLength(0);
    let off!: () => void;
    act(() => {
      off = api.subscribe('orders.created', (m) => got.push(m));
    });
    act(() => first.emit('orders.created', { order: 7, timestamp: '2026-01-01T00:00:00.000Z' }, '42'));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ type: 'orders.created', data: { order: 7 }, lastEventId: '42' });
    expect(all).toEqual(['orders.created']);
    act(() => first.fail());
    act(() => vi.advanceTimersByTime(500));
    const second = FakeStream.last;
    expect(second).not.toBe(first);
    act(() => second.emit('orders.created', { order: 8 }));
    expect(got).toHaveLength(2);
    off();
    act(() => second.emit('orders.created', { order: 9 }));
    expect(got).toHaveLength(2);
    expect(all).toEqual(['orders.created', 'orders.created']);
  });

  it('delivers system.* events to their subscribers and to "*"', () => {
    const named: SSEMessage[] = [];
    const all: string[] = [];
    function Listener() {
      useSSEEvent('system.test_event', (m) => named.push(m));
      useSSEEvent('*', (m) => all.push(m.type));
      return null;
    }
    renderProvider(<Listener />);
    const es = FakeStream.last;
    connect(es, 'tok-events');
    act(() => es.emit('system.test_event', { message: 'hi', test_event: true }));
    act(() => es.emit('ping', { message: 'keep-alive' }));
    expect(named).toHaveLength(1);
    expect(named[0].data).toMatchObject({ message: 'hi', test_event: true });
    expect(all).toEqual(['connected', 'system.test_event', 'ping']);
  });

  it('keeps non-JSON data as a string and ignores events of a closed stream', () => {
    let api!: ReturnType<typeof useSSE>;
    renderProvider(<Consumer name="a" onApi={(x) => (api = x)} />);
    const es = FakeStream.last;
    act(() => es.emit('message', 'plain text'));
    expect(api.recent[0]).toMatchObject({ type: 'message', data: 'plain text' });
    act(() => api.disconnect());
    const count = api.eventsReceived;
    act(() => es.emit('message', 'late'));
    expect(api.eventsReceived).toBe(count);
  });

  it('stays offline after a superseded event', () => {
    vi.useFakeTimers();
    renderProvider(<LiveBadge />);
    connect(FakeStream.last, 'tok-sup');
    act(() => FakeStream.last.emit('superseded', { message: 'replaced' }));
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeStream.instances).toHaveLength(1);
    expect(screen.getByTestId('live-badge').textContent).toBe('Replaced');
    expect(screen.getByTestId('live-badge').getAttribute('data-state')).toBe('closed');
  });
});
