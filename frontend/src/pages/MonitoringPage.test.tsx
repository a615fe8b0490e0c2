import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { describe, expect, it, vi } from 'vitest';
import type { ConnectionInfo } from '../api/types';
import { AdminLayout } from '../components/AdminLayout';
import { FakeMonitorServer, type ServerOptions } from '../monitor/test-server';
import { SSEProvider } from '../sse';
import { connectedData, FakeStream, setupFakes } from '../sse/test-utils';
import { MonitoringPage } from './MonitoringPage';

const fakes = setupFakes();

function conn(i: number, extra: Partial<ConnectionInfo> = {}): ConnectionInfo {
  const at = new Date(Date.now() - (1000 - i) * 1000).toISOString();
  const display = i % 3 === 0;
  return {
    id: `p-${String(i).padStart(4, '0')}`,
    type: display ? 'display' : 'admin',
    ...(display ? { display: `screen-${i}` } : { user: `user-${i % 7}` }),
    connected_at: at,
    last_ping: at,
    events_sent: i,
    state: 'live',
    ack: true,
    client: display ? `kiosk-${i}` : `tab-${i}`,
    last_ack: at,
    last_ack_rtt_ms: 1 + (i % 10),
    events_queued: i,
    events_dropped: 0,
    queue_depth: 0,
    bytes_sent: 100 * i,
    ...extra,
  };
}

function serve(connections: ConnectionInfo[] = [], options: ServerOptions = {}) {
  const server = new FakeMonitorServer(options);
  server.seed(connections);
  fakes.fetch.mockImplementation(server.fetch);
  return server;
}

async function settle(ms = 20) {
  await act(() => new Promise((r) => setTimeout(r, ms)));
}

async function renderPage() {
  const view = render(
    <SSEProvider url="/api/v1/events/admin" disconnectUrl="/api/v1/events/disconnect" params={{ monitor: '1' }}>
      <MonitoringPage />
    </SSEProvider>,
  );
  await settle();
  return view;
}

/** The stream comes up as the responder opens it: connected, then the summary at once. */
async function goLive(server: FakeMonitorServer, extra: object = {}) {
  act(() => FakeStream.last.emit('connected', { ...connectedData('tok-1'), public_id: 'p-0001', monitor: true, stale_after_heartbeats: 2, close_after_heartbeats: 3, ...extra }));
  act(() => FakeStream.last.emit('summary', server.summary()));
  await settle();
}

function push(payload: object) {
  act(() => FakeStream.last.emit('changes', payload));
}

function liveRows() {
  return within(screen.getByRole('table', { name: 'Live SSE connections' })).getAllByRole('row').slice(1);
}

function rowIds() {
  return liveRows().map((r) => r.getAttribute('data-connection-id'));
}

function select(name: string, value: string) {
  fireEvent.change(screen.getByRole('combobox', { name }), { target: { value } });
}

describe('System Monitoring', () => {
  it('shows the counters and one row per connection', async () => {
    const at = new Date(Date.now() - 65_000).toISOString();
    serve([
      { id: 'c-1', type: 'admin', user: 'alice', connected_at: at, last_ping: at, events_sent: 4 },
      { id: 'c-2', type: 'display', display: 'lobby', connected_at: at, last_ping: null, events_sent: 0 },
    ]);
    await renderPage();
    expect(screen.getByTestId('stat-total').textContent).toBe('2');
    expect(screen.getByTestId('stat-admin').textContent).toBe('1');
    expect(screen.getByTestId('stat-display').textContent).toBe('1');
    expect(screen.getByTestId('stat-events').textContent).toBe('7');
    const rows = liveRows();
    expect(rows).toHaveLength(2);
    const alice = rows.find((r) => r.textContent?.includes('alice'))!;
    expect(alice.textContent).toMatch(/1m 0[5-6]s/);
    expect(rows.find((r) => r.textContent?.includes('lobby'))!.textContent).toContain('not yet');
  });

  it('shows an empty state', async () => {
    serve([]);
    await renderPage();
    expect(screen.getByText(/No live connections/)).toBeTruthy();
  });

  it("shows the server's message when stats fail", async () => {
    const server = serve([]);
    server.failStats = {
      status: 503,
      body: {
        success: false,
        error: 'Too many connections, try again later',
        message: 'Too many connections, try again later',
        errors: ['Too many connections, try again later'],
        error_info: { code: 'SERVICE_UNAVAILABLE', message: 'Too many connections, try again later' },
      },
    };
    await renderPage();
    const alert = screen.getByTestId('stats-error');
    expect(alert.textContent).toContain('Too many connections, try again later');
    expect(alert.textContent).toContain('HTTP 503 · SERVICE_UNAVAILABLE');
  });
});

describe('System Monitoring: pushed by the tab’s stream', () => {
  it('opens the admin stream with monitor=1 and fetches a page of stats, not the full answer', async () => {
    const server = serve([conn(1)]);
    await renderPage();
    expect(FakeStream.last.url).toBe('/api/v1/events/admin?monitor=1');
    expect(server.requests.filter((r) => r.url.startsWith('/api/v1/events/stats')).map((r) => r.url)).toEqual([
      '/api/v1/events/stats?limit=1000&offset=0',
    ]);
  });

  it('applies summary and changes: rows, counts and Recently closed move with no poll', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const server = serve([conn(1), conn(2)]);
    await renderPage();
    await goLive(server);
    expect(screen.getByTestId('live-status').getAttribute('data-mode')).toBe('live');
    const fetched = server.requests.length;

    // A second tab opens: its row and the count within the same push.
    push(server.open(conn(3)));
    act(() => FakeStream.last.emit('summary', server.summary()));
    expect(rowIds()).toContain('p-0003');
    expect(screen.getByTestId('stat-total').textContent).toBe('3');
    // It closes: gone from the table, in Recently closed with its reason in words.
    push(server.close('p-0003', 'disconnect_route'));
    act(() => FakeStream.last.emit('summary', server.summary()));
    expect(rowIds()).not.toContain('p-0003');
    expect(screen.getByTestId('stat-total').textContent).toBe('2');
    const closedRow = within(screen.getByRole('table', { name: 'Recently closed connections' })).getAllByRole('row')[1];
    expect(closedRow.getAttribute('data-connection-id')).toBe('p-0003');
    const badge = closedRow.querySelector('[data-reason]')!;
    expect(badge.textContent).toBe('Released by the page');
    expect(badge.getAttribute('title')).toContain('(disconnect_route)');
    // A connection turns stale: its state follows.
    push(server.update('p-0002', { state: 'stale' }));
    expect(liveRows().find((r) => r.getAttribute('data-connection-id') === 'p-0002')!.getAttribute('data-state')).toBe('stale');

    // A minute of pings: nothing is fetched.
    for (let i = 0; i < 12; i++) {
      act(() => FakeStream.last.emit('ping', { seq: i + 1 }));
      await act(async () => {
        await vi.advanceTimersByTimeAsync(5_000);
      });
    }
    expect(server.requests.length).toBe(fetched);
  });

  it('refetches on resync, then applies later changes', async () => {
    const server = serve([conn(1)]);
    await renderPage();
    await goLive(server);
    const before = server.count('/stats');
    const closedBefore = server.count('/closed');
    server.seed([conn(5)]); // changed while this tab fell behind
    act(() => FakeStream.last.emit('resync', { reason: 'overflow', message: 'More changed than fits' }));
    await settle();
    expect(server.count('/stats')).toBe(before + 1);
    expect(server.count('/closed')).toBe(closedBefore + 1);
    expect(rowIds()).toContain('p-0005');
    push(server.open(conn(6)));
    expect(rowIds()).toContain('p-0006');
  });

  it('ignores pushed entries already in a stats answer it raced with (seq rule)', async () => {
    const server = serve([conn(1)]);
    await renderPage();
    await goLive(server);
    // A resync's fetch is held while a tab opens and closes (seq 101, 102); the snapshot is taken after both.
    let release!: () => void;
    server.hold = new Promise((r) => (release = r));
    act(() => FakeStream.last.emit('resync', { reason: 'behind' }));
    const opened = server.open(conn(7));
    const closed = server.close('p-0007');
    push(opened);
    server.hold = null;
    release();
    await settle();
    // The close arrives after the answer: p-0007 must not linger.
    push(closed);
    expect(rowIds()).toEqual(['p-0001']);
    expect(screen.getByTestId('stat-total').textContent).toBe('1');
  });

  it('a broadcast event refreshes the counters of the rows, at most every 2 s', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const server = serve([conn(1)]);
    await renderPage();
    await goLive(server);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(3_000);
    });
    const before = server.count('/stats');
    server.connections[0] = { ...server.connections[0], events_sent: 42 };
    act(() => FakeStream.last.emit('system.test_event', { message: 'x' }, '1795958890001'));
    act(() => FakeStream.last.emit('system.test_event', { message: 'y' }, '1795958890002'));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(400);
    });
    expect(server.count('/stats')).toBe(before + 1);
    expect(within(liveRows()[0]).getByTestId('events-sent').textContent).toBe('42');
  });
});

describe('System Monitoring: when the stream is down', () => {
  it('says live updates are paused and polls slowly, only until the stream is back', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    vi.spyOn(Math, 'random').mockReturnValue(0.9999);
    const server = serve([conn(1)]);
    await renderPage();
    await goLive(server);
    act(() => FakeStream.last.fail());
    expect(screen.getByTestId('live-status').textContent).toBe('Live updates paused: reconnecting; refreshing every 10 s');
    const before = server.count('/stats');
    // The stream keeps failing: a poll every 10 s meanwhile.
    for (let i = 0; i < 3; i++) {
      await act(async () => {
        await vi.advanceTimersByTimeAsync(10_000);
      });
      act(() => FakeStream.last.fail());
    }
    expect(server.count('/stats')).toBe(before + 3);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(30_000);
    });
    await goLive(server);
    expect(screen.getByTestId('live-status').getAttribute('data-mode')).toBe('live');
    const back = server.count('/stats');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(60_000);
    });
    expect(server.count('/stats')).toBe(back);
  });

  it('polls every 5 s a responder that does not push, and says so', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const server = serve([conn(1)], { legacy: true });
    await renderPage();
    act(() => FakeStream.last.emit('connected', connectedData('tok-old')));
    await settle();
    expect(screen.getByTestId('live-status').textContent).toBe('This server does not push monitor updates; refreshing every 5 s');
    const before = server.count('/stats');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(10_000);
    });
    expect(server.count('/stats')).toBe(before + 2);
    expect(rowIds()).toEqual(['p-0001']);
  });
});

describe('System Monitoring: state, RTT, queue and dropped', () => {
  it('shows live/stale badges, RTT, queue depth and dropped events; the stale rule comes from the server', async () => {
    const server = serve(
      [
        conn(1, { last_ack_rtt_ms: 12.4 }),
        conn(2, { state: 'stale', last_ack_rtt_ms: null, queue_depth: 7, events_dropped: 3 }),
        conn(4, { ack: false, client: null, last_ack_rtt_ms: null }),
      ],
      { staleAfter: 4 },
    );
    await renderPage();
    await goLive(server, { stale_after_heartbeats: 4 });
    const row = (id: string) => liveRows().find((r) => r.getAttribute('data-connection-id') === id)!;
    expect(within(row('p-0001')).getByTestId('conn-state').textContent).toBe('live');
    expect(within(row('p-0001')).getByTestId('rtt').textContent).toBe('12 ms');
    const stale = row('p-0002');
    expect(stale.className).toContain('table-warning');
    expect(within(stale).getByTestId('conn-state').getAttribute('title')).toBe('No acknowledgement for 4 heartbeats: the client may be gone');
    expect(within(stale).getByTestId('rtt').textContent).toBe('—');
    expect(within(stale).getByTestId('queue-depth').textContent).toBe('7');
    expect(within(stale).getByTestId('events-dropped').textContent).toBe('3');
    expect(row('p-0004').textContent).toContain('no ack');
    expect(screen.getByTestId('stat-stale').textContent).toBe('1 stale');
    // The summary's rule wins once it comes.
    act(() => FakeStream.last.emit('summary', { ...server.summary(), stale_after_heartbeats: 5, seq: server.seq + 1 }));
    expect(within(row('p-0002')).getByTestId('conn-state').getAttribute('title')).toBe('No acknowledgement for 5 heartbeats: the client may be gone');
  });

  it('marks this tab by the public_id of its connected event', async () => {
    const server = serve([conn(1), conn(2)]);
    await renderPage();
    act(() => FakeStream.last.emit('connected', { ...connectedData('tok-secret'), public_id: 'p-0002', monitor: true }));
    await settle();
    const own = liveRows().filter((r) => r.textContent?.includes('this tab'));
    expect(own).toHaveLength(1);
    expect(own[0].getAttribute('data-connection-id')).toBe('p-0002');
    void server;
  });
});

describe('System Monitoring: 500 connections, all held', () => {
  const many = () => Array.from({ length: 500 }, (_, i) => conn(i + 1));

  it('shows 50 rows a page, newest first, with pages to move through; compact rows by default', async () => {
    serve(many());
    await renderPage();
    expect(liveRows()).toHaveLength(50);
    expect(screen.getByTestId('table-range').textContent).toBe('1–50 of 500');
    expect(rowIds()[0]).toBe('p-0500');
    expect(screen.getByRole('table', { name: 'Live SSE connections' }).className).toContain('compact-rows');
    const pages = screen.getByRole('navigation', { name: 'Live SSE connections: pages' });
    act(() => within(pages).getByRole('button', { name: 'Next page' }).click());
    expect(screen.getByTestId('table-range').textContent).toBe('51–100 of 500');
    expect(rowIds()[0]).toBe('p-0450');
    act(() => within(pages).getByRole('button', { name: 'Page 10' }).click());
    expect(screen.getByTestId('table-range').textContent).toBe('451–500 of 500');
    select('Rows per page', '200');
    expect(liveRows()).toHaveLength(200);
    act(() => screen.getByRole('checkbox', { name: 'Compact rows' }).click());
    expect(screen.getByRole('table', { name: 'Live SSE connections' }).className).not.toContain('compact-rows');
    act(() => screen.getByRole('checkbox', { name: 'Compact rows' }).click());
  });

  it('filters by type, state and text (user, display, id or client) without asking the server', async () => {
    const server = serve(many().map((c, i) => (i % 50 === 0 ? { ...c, state: 'stale' as const } : c)));
    await renderPage();
    const asked = server.count('/stats');
    select('Filter by type', 'display');
    expect(screen.getByTestId('table-range').textContent).toBe('1–50 of 166 (334 filtered out)');
    expect(liveRows().every((r) => r.getAttribute('data-type') === 'display')).toBe(true);
    select('Filter by state', 'stale');
    expect(liveRows().every((r) => r.getAttribute('data-state') === 'stale')).toBe(true);
    select('Filter by state', 'all');
    const box = screen.getByRole('searchbox', { name: 'Filter by user, display, id or client' });
    fireEvent.change(box, { target: { value: 'screen-300' } });
    expect(liveRows()).toHaveLength(1);
    expect(liveRows()[0].textContent).toContain('screen-300');
    fireEvent.change(box, { target: { value: 'nobody-here' } });
    expect(screen.getByText('No connection matches the filter.')).toBeTruthy();
    expect(server.count('/stats')).toBe(asked);
  });

  it('sorts by a column, both ways', async () => {
    serve(many());
    await renderPage();
    const live = () => screen.getByRole('table', { name: 'Live SSE connections' });
    const header = () => within(live()).getByRole('button', { name: /^Events/ });
    act(() => header().click());
    expect(rowIds()[0]).toBe('p-0001');
    expect(header().closest('th')?.getAttribute('aria-sort')).toBe('ascending');
    act(() => header().click());
    expect(rowIds()[0]).toBe('p-0500');
    expect(header().closest('th')?.getAttribute('aria-sort')).toBe('descending');
    act(() => within(live()).getByRole('button', { name: /^User \/ display/ }).click());
    // Natural order: screen-3 before screen-12.
    expect(liveRows()[0].querySelector('.fw-medium')?.textContent).toBe('screen-3');
    expect(liveRows()[1].querySelector('.fw-medium')?.textContent).toBe('screen-6');
  });
});

describe('System Monitoring: 20,000 connections', () => {
  it('asks the server for the page on screen only, with its filters, and keeps it right with pushes', async () => {
    const server = serve(Array.from({ length: 20_000 }, (_, i) => conn(i + 1)));
    await renderPage();
    await goLive(server);
    await settle(50);
    const statsUrls = () => server.requests.filter((r) => r.url.startsWith('/api/v1/events/stats')).map((r) => r.url);
    expect(statsUrls().at(-1)).toBe('/api/v1/events/stats?limit=50&offset=0');
    expect(liveRows()).toHaveLength(50);
    expect(rowIds()[0]).toBe('p-20000');
    expect(screen.getByTestId('table-range').textContent).toBe('1–50 of 20000 · newest first');
    // Only the Connected column is sorted, by the server.
    expect(within(screen.getByRole('table', { name: 'Live SSE connections' })).queryByRole('button', { name: /^Events/ })).toBeNull();

    // A new connection: the page is fetched again and shows it on top.
    push(server.open(conn(20_001)));
    await settle(400);
    expect(rowIds()[0]).toBe('p-20001');
    // A row on the page closes: gone at once.
    push(server.close('p-19999'));
    expect(rowIds()).not.toContain('p-19999');

    fireEvent.change(screen.getByRole('searchbox', { name: 'Filter by user, display, id or client' }), { target: { value: 'screen-3000' } });
    await settle(400);
    expect(statsUrls().at(-1)).toBe('/api/v1/events/stats?limit=50&offset=0&q=screen-3000');
    expect(rowIds()).toEqual(['p-3000']);
  });
});

describe('System Monitoring: Disconnect, Recently closed, roster', () => {
  it('asks for confirmation, sends DELETE /connections/<public id>; the push removes the row', async () => {
    const server = serve([conn(1), conn(2)]);
    await renderPage();
    await goLive(server);
    const stats = server.count('/stats');
    act(() => screen.getByRole('button', { name: 'Disconnect admin user-2 (p-0002)' }).click());
    const dialog = await screen.findByRole('dialog');
    expect(dialog.textContent).toContain('p-0002');
    act(() => within(dialog).getByRole('button', { name: 'Cancel' }).click());
    await settle(400);
    expect(server.requests.some((r) => r.method === 'DELETE')).toBe(false);
    act(() => screen.getByRole('button', { name: 'Disconnect admin user-2 (p-0002)' }).click());
    const again = await screen.findByRole('dialog');
    await act(async () => within(again).getByRole('button', { name: 'Disconnect' }).click());
    await settle(50);
    expect(server.requests.filter((r) => r.method === 'DELETE').map((r) => r.url)).toEqual(['/api/v1/events/connections/p-0002']);
    expect(screen.getByTestId('disconnect-outcome').textContent).toContain('Disconnected admin user-2 (p-0002)');
    push(server.close('p-0002', 'admin_closed'));
    expect(rowIds()).toEqual(['p-0001']);
    expect(server.count('/stats')).toBe(stats);
  });

  it('lists recently closed connections sortably, with reasons in words (code on hover) and totals per reason', async () => {
    const server = serve([conn(1), conn(2), conn(3)]);
    server.close('p-0002', 'superseded');
    server.closed[0] = { ...server.closed[0], duration_seconds: 185, events_sent: 12, bytes_sent: 2048 };
    server.close('p-0003', 'admin_closed');
    server.closed[0] = { ...server.closed[0], duration_seconds: 3600, events_sent: 40, bytes_sent: 9000 };
    await renderPage();
    const table = screen.getByRole('table', { name: 'Recently closed connections' });
    const rows = () => within(table).getAllByRole('row').slice(1);
    expect(rows().map((r) => r.getAttribute('data-reason'))).toEqual(['admin_closed', 'superseded']);
    expect(rows()[0].textContent).toContain('1h 00m');
    expect(rows()[0].textContent).toContain('Closed by an admin');
    expect(rows()[1].textContent).toContain('3m 05s');
    act(() => within(table).getByRole('button', { name: /^Duration/ }).click());
    expect(rows().map((r) => r.getAttribute('data-reason'))).toEqual(['superseded', 'admin_closed']);
    act(() => within(table).getByRole('button', { name: /^Bytes/ }).click());
    act(() => within(table).getByRole('button', { name: /^Bytes/ }).click());
    expect(rows()[0].textContent).toContain('8.8 KiB');
    const totals = screen.getByTestId('close-totals');
    expect(totals.textContent).toContain('Closed since start: 2');
    const replaced = totals.querySelector('[data-reason="superseded"]')!;
    expect(replaced.textContent).toBe('Replaced1');
    expect(replaced.getAttribute('title')).toBe('Replaced by a newer stream with the same client id or display name (superseded)');
    expect(totals.querySelectorAll('[data-reason]')).toHaveLength(8);
    const reasons = within(screen.getByRole('combobox', { name: 'Filter by close reason' })).getAllByRole('option').map((o) => o.textContent);
    expect(reasons).toContain('Released by the page');
  });

  it('shows the roster with missing displays up front, with when each was last seen, kept by pushes', async () => {
    const server = serve([conn(3, { display: 'lobby' })], { displays: ['cafeteria', 'lobby', 'reception'] });
    server.lastSeen.set('cafeteria', new Date(Date.now() - 300_000).toISOString());
    await renderPage();
    await goLive(server);
    await settle();
    const roster = screen.getByTestId('roster');
    const missing = within(roster).getByTestId('roster-missing');
    expect(missing.textContent).toContain('2 displays are missing:');
    expect(missing.textContent).toContain('cafeteria(last seen 5m 00s ago)');
    expect(missing.textContent).toContain('reception(not seen since the server started)');
    expect(within(roster).getByTestId('roster-summary').textContent).toBe('3 expected · 1 connected · 0 stale · 2 missing');
    // The lobby kiosk is closed: missing at once, last seen just now.
    push(server.close('p-0003', 'admin_closed'));
    expect(within(roster).getByTestId('roster-summary').textContent).toBe('3 expected · 0 connected · 0 stale · 3 missing');
    expect(roster.querySelector('li[data-display="lobby"]')!.getAttribute('data-state')).toBe('missing');
    expect(roster.querySelector('li[data-display="lobby"]')!.textContent).toContain('last seen just now');
  });

  it('hides the roster when the responder has no --displays', async () => {
    serve([conn(3)]);
    await renderPage();
    expect(screen.queryByTestId('roster')).toBeNull();
  });
});

describe('Publish an announcement', () => {
  function fill(label: string, value: string) {
    fireEvent.change(within(screen.getByTestId('publish')).getByLabelText(label), { target: { value } });
  }

  it('sends an announcement to one display and says how many connections were notified', async () => {
    const server = serve([conn(3)]);
    await renderPage();
    fill('Send to', 'display');
    fill('Display name', 'lobby');
    fill('Announcement', 'Lunch is served');
    await act(async () => screen.getByRole('button', { name: 'Publish' }).click());
    await settle();
    const post = server.requests.find((r) => r.method === 'POST' && r.url.endsWith('/publish'))!;
    expect(post.body).toEqual({ event: 'announcement', data: { message: 'Lunch is served' }, target: 'display', display: 'lobby' });
    expect(screen.getByTestId('publish-result').textContent).toBe('Published announcement #1795958890999 to display lobby: 1 connection notified.');
  });

  it('targets everyone, all displays, all dashboards or one user', async () => {
    const server = serve([]);
    await renderPage();
    const sent = async () => {
      await act(async () => screen.getByRole('button', { name: 'Publish' }).click());
      await settle();
      return server.requests.filter((r) => r.url.endsWith('/publish')).at(-1)!.body;
    };
    fill('Announcement', 'Hi');
    fill('Send to', 'all');
    expect(await sent()).toEqual({ event: 'announcement', data: { message: 'Hi' }, target: 'all' });
    fill('Send to', 'displays');
    expect(await sent()).toEqual({ event: 'announcement', data: { message: 'Hi' }, target: 'display' });
    fill('Send to', 'admins');
    fill('Event type', 'ops.notice');
    expect(await sent()).toEqual({ event: 'ops.notice', data: { message: 'Hi' }, target: 'admin' });
    fill('Send to', 'user');
    fill('User', 'alice');
    expect(await sent()).toEqual({ event: 'ops.notice', data: { message: 'Hi' }, target: 'admin', user: 'alice' });
  });

  it('warns when nobody received it, and shows the server’s error', async () => {
    const server = serve([]);
    await renderPage();
    fill('Display name', 'attic');
    fill('Announcement', 'Hello');
    server.publishAnswer = { status: 200, body: { event: 'announcement', id: 5, connections_notified: 0 } };
    await act(async () => screen.getByRole('button', { name: 'Publish' }).click());
    await settle();
    expect(screen.getByTestId('publish-result').textContent).toContain('no connection received it: display attic is not connected');
    server.publishAnswer = {
      status: 400,
      body: { success: false, error: 'Unknown display', message: 'Unknown display', errors: ['Unknown display'], error_info: { code: 'BAD_REQUEST', message: 'Unknown display' } },
    };
    await act(async () => screen.getByRole('button', { name: 'Publish' }).click());
    await settle();
    expect(screen.getByTestId('publish-result').textContent).toBe('Could not publish: Unknown display (HTTP 400 · BAD_REQUEST)');
    // An event type kiosks do not show is pointed out.
    fill('Event type', 'foo.bar');
    expect(screen.getByTestId('publish-hint').textContent).toContain('foo.bar');
    // Nothing to send without a message.
    fill('Announcement', ' ');
    expect((screen.getByRole('button', { name: 'Publish' }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('Your SSE connection', () => {
  it('labels the public id and keeps the secret token hidden until asked', async () => {
    serve([]);
    await renderPage();
    act(() => FakeStream.last.emit('connected', { ...connectedData('0d1b6c0e-8f2a-4c53-9a1e-5b7d2f3c4e5a'), public_id: 'c-1a2b3c', monitor: true }));
    const card = screen.getByTestId('own-connection');
    expect(card.textContent).toContain('Public idc-1a2b3c');
    expect(card.textContent).not.toContain('0d1b6c0e');
    expect(within(card).getByTestId('secret-token').textContent).toBe('•••••••• (hidden)');
    act(() => within(card).getByRole('button', { name: 'Show' }).click());
    expect(within(card).getByTestId('secret-token').textContent).toBe('0d1b6c0e-8f2a-4c53-9a1e-5b7d2f3c4e5a');
    act(() => within(card).getByRole('button', { name: 'Hide' }).click());
    expect(card.textContent).not.toContain('0d1b6c0e');
  });
});

describe('the per-user stream limit', () => {
  it('says why the tab has no stream (429), what to do, and when it tries again', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const server = serve([conn(1)]);
    render(
      <MemoryRouter initialEntries={['/admin/monitoring']}>
        <Routes>
          <Route path="/admin" element={<AdminLayout />}>
            <Route path="monitoring" element={<MonitoringPage />} />
          </Route>
        </Routes>
      </MemoryRouter>,
    );
    await settle(200); // the client id claim
    expect(FakeStream.last.url).toContain('monitor=1');
    act(() => FakeStream.last.refuse(429, 'Too many streams for this user', 'TOO_MANY_REQUESTS', 20));
    const banner = screen.getByTestId('stream-problem');
    expect(banner.textContent).toContain('This tab cannot open its live stream: Too many streams for this user (HTTP 429 · TOO_MANY_REQUESTS)');
    expect(banner.textContent).toContain('Close dashboard tabs you do not need');
    expect(banner.textContent).toMatch(/Trying again in 20s \(at .+; attempt 2\)/);
    const badge = screen.getAllByTestId('live-badge')[0];
    expect(badge.textContent).toBe('Refused');
    expect(badge.getAttribute('title')).toContain('HTTP 429: Too many streams for this user; retrying at');
    expect(screen.getByTestId('live-status').textContent).toBe(
      "Live updates paused: the server refused this tab's stream (HTTP 429); retrying; refreshing every 10 s",
    );
    // The page still shows the counts, from the slow poll.
    expect(screen.getByTestId('stat-total').textContent).toBe('1');
    // Once the stream is up, the banner goes.
    await act(async () => {
      await vi.advanceTimersByTimeAsync(20_000);
    });
    act(() => FakeStream.last.emit('connected', { ...connectedData('tok-ok'), monitor: true }));
    expect(screen.queryByTestId('stream-problem')).toBeNull();
    void server;
  });
});
