import { act, render, screen } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { describe, expect, it, vi } from 'vitest';
import { MonitoringPage } from '../pages/MonitoringPage';
import { DisplayKioskPage } from '../pages/DisplayKioskPage';
import { compareEventIds, type SSEMessage } from './SSEClient';
import { SSEProvider } from './SSEProvider';
import { connectedData, FakeStream, setupFakes, setVisibility, URL_ADMIN, URL_DISCONNECT } from './test-utils';
import { useSSE, useSSEEvent, useSSEReset } from './useSSE';

// Nothing lost across reconnects: the client resumes its own
// reconnects with ?lastEventId=, drops replayed duplicates, and passes
// `event: reset` on.

const fakes = setupFakes();

let api!: ReturnType<typeof useSSE>;
const seen: SSEMessage[] = [];
const resets: SSEMessage[] = [];

const keep = (x: ReturnType<typeof useSSE>) => {
  api = x;
};

function Probe({ onApi }: { onApi: (x: ReturnType<typeof useSSE>) => void }) {
  onApi(useSSE());
  useSSEEvent('message', (m) => seen.push(m));
  useSSEReset((m) => resets.push(m));
  return null;
}

function renderProvider(props: { clientId?: string } = {}) {
  seen.length = 0;
  resets.length = 0;
  return render(
    <SSEProvider url={URL_ADMIN} disconnectUrl={URL_DISCONNECT} {...props}>
      <Probe onApi={keep} />
    </SSEProvider>,
  );
}

function params(es: FakeStream): URLSearchParams {
  return new URL(es.url, 'http://x').searchParams;
}

/** Connect the last stream and deliver broadcast events with these ids. */
function deliver(ids: number[], token = 'tok') {
  const es = FakeStream.last;
  act(() => es.emit('connected', connectedData(token)));
  for (const id of ids) act(() => es.emit('message', { n: id }, String(id)));
}

/** Lose the stream and let the backoff reopen it (1 s after a connected stream). */
function loseAndReconnect(ms = 1_000) {
  const before = FakeStream.instances.length;
  act(() => FakeStream.last.fail());
  act(() => vi.advanceTimersByTime(ms));
  expect(FakeStream.instances).toHaveLength(before + 1);
}

describe('resuming after a reconnect', () => {
  it('opens the first stream without lastEventId', () => {
    renderProvider({ clientId: 'tab-1' });
    expect(FakeStream.instances).toHaveLength(1);
    expect(params(FakeStream.last).get('client')).toBe('tab-1');
    expect(params(FakeStream.last).has('lastEventId')).toBe(false);
    expect(api.lastEventId).toBeNull();
    expect(api.resumedFrom).toBeNull();
  });

  it('passes the id of the newest event received on every reconnect of the same tab', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.9999);
    renderProvider({ clientId: 'tab-1' });
    deliver([1795958890851, 1795958890852]);
    // Pings after an event carry EventSource's kept id: no change.
    act(() => FakeStream.last.emit('ping', { seq: 1 }, '1795958890852'));
    expect(api.lastEventId).toBe('1795958890852');

    loseAndReconnect();
    expect(FakeStream.last.url).toBe(`${URL_ADMIN}?client=tab-1&lastEventId=1795958890852`);
    expect(api.resumedFrom).toBe('1795958890852');

    // The next stream resumes from what the previous one delivered last.
    deliver([1795958890853, 1795958890860], 'tok-2');
    loseAndReconnect();
    expect(params(FakeStream.last).get('lastEventId')).toBe('1795958890860');

    // A stream lost before it delivered anything keeps the old resume point.
    loseAndReconnect(2_000);
    expect(params(FakeStream.last).get('lastEventId')).toBe('1795958890860');

    // Reopened on visibility and after disconnect()/connect(): resumed too.
    act(() => api.disconnect());
    act(() => api.connect());
    expect(params(FakeStream.last).get('lastEventId')).toBe('1795958890860');
    act(() => FakeStream.last.fail());
    act(() => setVisibility('visible'));
    expect(params(FakeStream.last).get('lastEventId')).toBe('1795958890860');
  });

  it('resumes after the server shut the stream down', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.9999);
    renderProvider();
    deliver([41]);
    act(() => FakeStream.last.emit('shutdown', { message: 'Server shutting down' }));
    act(() => vi.advanceTimersByTime(1_000));
    expect(FakeStream.instances).toHaveLength(2);
    expect(params(FakeStream.last).get('lastEventId')).toBe('41');
  });

  it('starts fresh after superseded: Reconnect sends no lastEventId', () => {
    vi.useFakeTimers();
    renderProvider({ clientId: 'tab-1' });
    deliver([7, 8]);
    act(() => FakeStream.last.emit('superseded', { message: 'replaced' }));
    expect(api.lastEventId).toBeNull();
    act(() => api.connect());
    expect(FakeStream.instances).toHaveLength(2);
    expect(params(FakeStream.last).has('lastEventId')).toBe(false);
  });

  it('a new client (a page load) starts without lastEventId', () => {
    const first = renderProvider();
    deliver([5]);
    first.unmount();
    renderProvider();
    expect(params(FakeStream.last).has('lastEventId')).toBe(false);
  });

  it('compares ids as numbers of any length', () => {
    expect(compareEventIds('9', '10')).toBeLessThan(0);
    expect(compareEventIds('1795958890852', '1795958890851')).toBeGreaterThan(0);
    expect(compareEventIds('18446744073709551615', '18446744073709551614')).toBeGreaterThan(0);
    expect(compareEventIds('007', '7')).toBe(0);
    expect(compareEventIds('abc', 'abc')).toBe(0);
    expect(compareEventIds('abd', 'abc')).toBeGreaterThan(0);
  });
});

describe('duplicates', () => {
  it('drops events whose id is not above the newest one seen, across streams', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.9999);
    renderProvider();
    deliver([100, 101, 102]);
    loseAndReconnect();
    // The replay overlaps what arrived (101, 102), then continues.
    deliver([101, 102, 103, 104], 'tok-2');
    expect(seen.map((m) => m.lastEventId)).toEqual(['100', '101', '102', '103', '104']);
    expect(api.duplicatesIgnored).toBe(2);
    // Within one stream too: a repeated or older id is dropped.
    act(() => FakeStream.last.emit('message', { n: 'again' }, '104'));
    act(() => FakeStream.last.emit('message', { n: 'old' }, '99'));
    expect(seen).toHaveLength(5);
    expect(api.duplicatesIgnored).toBe(4);
    expect(api.recent.filter((m) => m.type === 'message').map((m) => m.lastEventId)).toEqual(['104', '103', '102', '101', '100']);
  });

  it('never drops protocol events, which carry the kept id of the event before them', () => {
    renderProvider();
    deliver([100]);
    const before = api.eventsReceived;
    act(() => FakeStream.last.emit('ping', { seq: 3 }, '100'));
    act(() => FakeStream.last.emit('closed', { reason: 'admin_closed' }, '100'));
    expect(api.eventsReceived).toBe(before + 2);
    expect(api.duplicatesIgnored).toBe(0);
  });
});

describe('reset', () => {
  it('is passed to the consumers, and the next stream starts over', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.9999);
    renderProvider();
    deliver([1795958890860]);
    loseAndReconnect();
    expect(params(FakeStream.last).get('lastEventId')).toBe('1795958890860');
    // A restarted server: its ids may even be lower than ours.
    act(() => FakeStream.last.emit('connected', connectedData('tok-2')));
    act(() => FakeStream.last.emit('reset', { message: 'Missed events are no longer available: reload', timestamp: 'x' }));
    expect(resets).toHaveLength(1);
    expect(resets[0].data).toMatchObject({ message: 'Missed events are no longer available: reload' });
    expect(api.resets).toBe(1);
    expect(api.lastResetAt).not.toBeNull();
    expect(api.lastEventId).toBeNull();
    act(() => FakeStream.last.emit('message', { n: 'after' }, '1795958000001'));
    expect(seen.map((m) => m.lastEventId)).toEqual(['1795958890860', '1795958000001']);
    expect(api.duplicatesIgnored).toBe(0);
    loseAndReconnect();
    expect(params(FakeStream.last).get('lastEventId')).toBe('1795958000001');
  });

  it('makes the monitor refetch stats and the closed list at once', async () => {
    const body = (url: string) =>
      url.endsWith('/closed')
        ? { success: true, data: { capacity: 500, closed: [], totals: {} } }
        : { success: true, data: { total_connections: 0, admin_connections: 0, display_connections: 0, connections: [] } };
    fakes.fetch.mockImplementation((input) => Promise.resolve(new Response(JSON.stringify(body(String(input))), { status: 200 })));
    render(
      <SSEProvider url={URL_ADMIN} disconnectUrl={URL_DISCONNECT}>
        <MonitoringPage />
      </SSEProvider>,
    );
    await act(() => new Promise((r) => setTimeout(r, 20)));
    const calls = (route: string) => fakes.fetch.mock.calls.filter(([u]) => String(u).replace(/\?.*$/, '').endsWith(route)).length;
    act(() => FakeStream.last.emit('connected', connectedData('tok-1')));
    await act(() => new Promise((r) => setTimeout(r, 250)));
    const stats = calls('/stats');
    const closed = calls('/closed');
    act(() => FakeStream.last.emit('reset', { message: 'Missed events are no longer available: reload' }));
    await act(() => new Promise((r) => setTimeout(r, 50))); // well before the 150 ms debounce
    expect(calls('/stats')).toBe(stats + 1);
    expect(calls('/closed')).toBe(closed + 1);
    expect(screen.getByTestId('received-events').textContent).toContain('Missed events are gone');
  });

  it('clears what a kiosk shows, which then shows the next event', () => {
    render(
      <MemoryRouter initialEntries={['/display/lobby']}>
        <Routes>
          <Route path="/display/:name" element={<DisplayKioskPage />} />
        </Routes>
      </MemoryRouter>,
    );
    const es = FakeStream.last;
    act(() => es.emit('connected', connectedData('tok-k', 'display')));
    act(() => es.emit('announcement', { title: 'Lunch at noon' }, '10'));
    act(() => es.emit('announcement', { title: 'Fire drill at 3' }, '11'));
    const kiosk = screen.getByTestId('kiosk');
    expect(kiosk.getAttribute('data-event-ids')).toBe('10 11');
    expect(screen.getByTestId('kiosk-latest').textContent).toContain('Fire drill at 3');
    act(() => es.emit('reset', { message: 'Missed events are no longer available: reload' }));
    expect(screen.queryByTestId('kiosk-latest')).toBeNull();
    expect(kiosk.textContent).toContain('Waiting for announcements');
    expect(kiosk.textContent).not.toContain('Lunch at noon');
    expect(kiosk.getAttribute('data-event-ids')).toBe('');
    act(() => es.emit('announcement', { title: 'Drill cancelled' }, '12'));
    expect(screen.getByTestId('kiosk-latest').textContent).toContain('Drill cancelled');
    expect(kiosk.getAttribute('data-event-ids')).toBe('12');
  });
});
