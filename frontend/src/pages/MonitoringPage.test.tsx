import { act, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SSEProvider } from '../sse';
import { connectedData, FakeStream, installFakes } from '../sse/test-utils';
import { MonitoringPage } from './MonitoringPage';

let fakes: ReturnType<typeof installFakes>;

beforeEach(() => {
  fakes = installFakes();
});
afterEach(() => vi.unstubAllGlobals());

function statsWith(connections: object[]) {
  const admin = connections.filter((c) => (c as { type: string }).type === 'admin');
  return {
    success: true,
    data: {
      total_connections: connections.length,
      admin_connections: admin.length,
      display_connections: connections.length - admin.length,
      average_connection_age_seconds: 12,
      events_sent_last_hour: 7,
      active_connection_ids: connections.map((c) => (c as { id: string }).id),
      connections,
    },
  };
}

function answerWith(status: number, body: unknown) {
  fakes.fetch.mockImplementation(() => Promise.resolve(new Response(JSON.stringify(body), { status })));
}

async function renderPage() {
  render(
    <SSEProvider url="/api/v1/events/admin" disconnectUrl="/api/v1/events/disconnect">
      <MonitoringPage />
    </SSEProvider>,
  );
  await act(() => new Promise((r) => setTimeout(r, 20)));
}

describe('System Monitoring', () => {
  it('shows the counters and one row per connection', async () => {
    const at = new Date(Date.now() - 65_000).toISOString();
    answerWith(
      200,
      statsWith([
        { id: 'c-1', type: 'admin', user: 'alice', connected_at: at, last_ping: at, events_sent: 4 },
        { id: 'c-2', type: 'display', display: 'lobby', connected_at: at, last_ping: null, events_sent: 0 },
      ]),
    );
    await renderPage();
    expect(screen.getByTestId('stat-total').textContent).toBe('2');
    expect(screen.getByTestId('stat-admin').textContent).toBe('1');
    expect(screen.getByTestId('stat-display').textContent).toBe('1');
    expect(screen.getByTestId('stat-events').textContent).toBe('7');
    const table = screen.getByRole('table', { name: 'Live SSE connections' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0].textContent).toContain('alice');
    expect(rows[0].textContent).toMatch(/1m 0[5-6]s/);
    expect(rows[1].textContent).toContain('lobby');
    expect(rows[1].textContent).toContain('not yet');
  });

  it('shows an empty state', async () => {
    answerWith(200, statsWith([]));
    await renderPage();
    expect(screen.getByText(/No live connections/)).toBeTruthy();
  });

  it("shows the server's message when stats fail", async () => {
    answerWith(503, {
      success: false,
      error: 'Too many connections, try again later',
      message: 'Too many connections, try again later',
      errors: ['Too many connections, try again later'],
      error_info: { code: 'SERVICE_UNAVAILABLE', message: 'Too many connections, try again later' },
    });
    await renderPage();
    const alert = screen.getByTestId('stats-error');
    expect(alert.textContent).toContain('Too many connections, try again later');
    expect(alert.textContent).toContain('HTTP 503 · SERVICE_UNAVAILABLE');
  });

  it('refetches stats when our stream is connected and when an event arrives', async () => {
    answerWith(200, statsWith([]));
    await renderPage();
    const calls = () => fakes.fetch.mock.calls.filter(([u]) => String(u).endsWith('/stats')).length;
    const first = calls();
    act(() => FakeStream.last.emit('connected', connectedData('tok-1')));
    await act(() => new Promise((r) => setTimeout(r, 250)));
    expect(calls()).toBe(first + 1);
    act(() => FakeStream.last.emit('system.test_event', { message: 'x' }));
    await act(() => new Promise((r) => setTimeout(r, 250)));
    expect(calls()).toBe(first + 2);
    act(() => FakeStream.last.emit('ping', { message: 'keep-alive' }));
    await act(() => new Promise((r) => setTimeout(r, 250)));
    expect(calls()).toBe(first + 2);
  });
});

// ---- the truthful monitor (docs/api-additions.md) --------------------------------

const REASONS = ['client_closed', 'write_failed', 'disconnect_route', 'superseded', 'ack_timeout', 'slow_consumer', 'admin_closed', 'shutdown'];

function conn(i: number, extra: object = {}) {
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
    client: display ? `screen-${i}` : `tab-${i}`,
    last_ack: at,
    last_ack_rtt_ms: 1 + (i % 10),
    events_queued: i,
    events_dropped: 0,
    queue_depth: 0,
    bytes_sent: 100 * i,
    ...extra,
  };
}

function fullStats(connections: object[], extra: object = {}) {
  const base = statsWith(connections);
  return {
    ...base,
    data: {
      ...base.data,
      stale_connections: connections.filter((c) => (c as { state?: string }).state === 'stale').length,
      closed_total: 5,
      closed_by_reason: Object.fromEntries(REASONS.map((r) => [r, r === 'superseded' ? 3 : r === 'admin_closed' ? 2 : 0])),
      heartbeat_seconds: 5,
      ...extra,
    },
  };
}

const closedBody = {
  success: true,
  data: {
    capacity: 500,
    closed: [
      {
        id: 'p-old1',
        type: 'admin',
        user: 'alice',
        client: 'tab-1',
        opened_at: '2026-01-01T10:00:00.000Z',
        closed_at: new Date(Date.now() - 5_000).toISOString(),
        duration_seconds: 185,
        events_sent: 12,
        bytes_sent: 2048,
        reason: 'superseded',
      },
      {
        id: 'p-old2',
        type: 'display',
        display: 'lobby',
        client: 'lobby',
        opened_at: '2026-01-01T09:00:00.000Z',
        closed_at: new Date(Date.now() - 60_000).toISOString(),
        duration_seconds: 3600,
        events_sent: 40,
        bytes_sent: 9000,
        reason: 'admin_closed',
      },
    ],
    totals: {},
  },
};

/** Answer each route with its own body; records DELETEs. */
function routeFetch(statsBody: () => unknown) {
  const deleted: string[] = [];
  fakes.fetch.mockImplementation((input, init) => {
    const url = String(input);
    const json = (status: number, body: unknown) => Promise.resolve(new Response(JSON.stringify(body), { status }));
    if (url.endsWith('/stats')) return json(200, statsBody());
    if (url.endsWith('/closed')) return json(200, closedBody);
    if (url.includes('/connections/') && init?.method === 'DELETE') {
      const id = decodeURIComponent(url.split('/connections/')[1]);
      deleted.push(id);
      return json(200, { success: true, data: { id, closed: true } });
    }
    return json(200, { success: true, data: {} });
  });
  return deleted;
}

function liveRows() {
  return within(screen.getByRole('table', { name: 'Live SSE connections' })).getAllByRole('row').slice(1);
}

async function settle(ms = 20) {
  await act(() => new Promise((r) => setTimeout(r, ms)));
}

describe('System Monitoring: state, RTT, queue and dropped', () => {
  it('shows live/stale badges, RTT, queue depth and dropped events; counts stale connections', async () => {
    routeFetch(() =>
      fullStats([
        conn(1, { last_ack_rtt_ms: 12.4 }),
        conn(2, { state: 'stale', last_ack_rtt_ms: null, queue_depth: 7, events_dropped: 3 }),
        conn(4, { ack: false, client: null, last_ack_rtt_ms: null }),
      ]),
    );
    await renderPage();
    const [r1, r2, r3] = liveRows();
    expect(within(r1).getByTestId('conn-state').textContent).toBe('live');
    expect(within(r1).getByTestId('rtt').textContent).toBe('12 ms');
    expect(r2.getAttribute('data-state')).toBe('stale');
    expect(r2.className).toContain('table-warning');
    expect(within(r2).getByTestId('conn-state').textContent).toBe('stale');
    expect(within(r2).getByTestId('rtt').textContent).toBe('—');
    expect(within(r2).getByTestId('queue-depth').textContent).toBe('7');
    expect(within(r2).getByTestId('events-dropped').textContent).toBe('3');
    expect(r3.textContent).toContain('no ack');
    expect(screen.getByTestId('stat-stale').textContent).toBe('1 stale');
  });

  it('marks this tab by the public_id of its connected event', async () => {
    routeFetch(() => fullStats([conn(1), conn(2)]));
    await renderPage();
    act(() => FakeStream.last.emit('connected', { ...connectedData('tok-secret'), public_id: 'p-0002' }));
    await settle(250);
    const own = liveRows().filter((r) => r.textContent?.includes('this tab'));
    expect(own).toHaveLength(1);
    expect(own[0].getAttribute('data-connection-id')).toBe('p-0002');
  });
});

describe('System Monitoring: 500 connections', () => {
  const many = Array.from({ length: 500 }, (_, i) => conn(i + 1));

  it('shows 50 rows a page, with pages to move through', async () => {
    routeFetch(() => fullStats(many));
    await renderPage();
    expect(liveRows()).toHaveLength(50);
    expect(screen.getByTestId('table-range').textContent).toBe('1–50 of 500');
    // Oldest first by default: p-0001 connected first.
    expect(liveRows()[0].getAttribute('data-connection-id')).toBe('p-0001');
    const pages = screen.getByRole('navigation', { name: 'Live SSE connections: pages' });
    act(() => within(pages).getByRole('button', { name: 'Next page' }).click());
    expect(screen.getByTestId('table-range').textContent).toBe('51–100 of 500');
    expect(liveRows()[0].getAttribute('data-connection-id')).toBe('p-0051');
    act(() => within(pages).getByRole('button', { name: 'Page 10' }).click());
    expect(screen.getByTestId('table-range').textContent).toBe('451–500 of 500');
    expect(liveRows()).toHaveLength(50);
  });

  it('filters by type and by text (user, display, id or client)', async () => {
    routeFetch(() => fullStats(many));
    await renderPage();
    act(() => {
      const select = screen.getByRole('combobox', { name: 'Filter by type' }) as HTMLSelectElement;
      select.value = 'display';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(screen.getByTestId('table-range').textContent).toBe('1–50 of 166 (334 filtered out)');
    expect(liveRows().every((r) => r.getAttribute('data-type') === 'display')).toBe(true);
    const box = screen.getByRole('searchbox', { name: 'Filter by user, display, id or client' });
    await act(async () => {
      fireInput(box, 'screen-300');
    });
    await settle();
    expect(liveRows()).toHaveLength(1);
    expect(liveRows()[0].textContent).toContain('screen-300');
    await act(async () => {
      fireInput(box, 'nobody-here');
    });
    await settle();
    expect(screen.getByText('No connection matches the filter.')).toBeTruthy();
  });

  it('sorts by a column, both ways', async () => {
    routeFetch(() => fullStats(many));
    await renderPage();
    const header = () => screen.getByRole('button', { name: /^Events/ });
    act(() => header().click());
    expect(liveRows()[0].getAttribute('data-connection-id')).toBe('p-0001');
    expect(header().closest('th')?.getAttribute('aria-sort')).toBe('ascending');
    act(() => header().click());
    expect(liveRows()[0].getAttribute('data-connection-id')).toBe('p-0500');
    expect(header().closest('th')?.getAttribute('aria-sort')).toBe('descending');
    act(() => screen.getByRole('button', { name: /^User \/ display/ }).click());
    // Natural order: screen-3 before screen-12.
    expect(liveRows()[0].querySelector('.fw-medium')?.textContent).toBe('screen-3');
    expect(liveRows()[1].querySelector('.fw-medium')?.textContent).toBe('screen-6');
  });
});

function fireInput(el: HTMLElement, value: string) {
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
  setter.call(el, value);
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

describe('System Monitoring: Disconnect, Recently closed, roster', () => {
  it('asks for confirmation, sends DELETE /connections/<public id>, then refetches', async () => {
    const deleted = routeFetch(() => fullStats([conn(1), conn(2)]));
    await renderPage();
    const statsCalls = () => fakes.fetch.mock.calls.filter(([u]) => String(u).endsWith('/stats')).length;
    const before = statsCalls();
    act(() => screen.getByRole('button', { name: 'Disconnect admin user-2 (p-0002)' }).click());
    const dialog = await screen.findByRole('dialog');
    expect(dialog.textContent).toContain('p-0002');
    expect(deleted).toEqual([]);
    // Cancel does nothing.
    act(() => within(dialog).getByRole('button', { name: 'Cancel' }).click());
    await settle(400);
    expect(deleted).toEqual([]);
    act(() => screen.getByRole('button', { name: 'Disconnect admin user-2 (p-0002)' }).click());
    const again = await screen.findByRole('dialog');
    await act(async () => within(again).getByRole('button', { name: 'Disconnect' }).click());
    await settle(50);
    expect(deleted).toEqual(['p-0002']);
    const del = fakes.fetch.mock.calls.find(([, init]) => init?.method === 'DELETE')!;
    expect(String(del[0])).toBe('/api/v1/events/connections/p-0002');
    expect(statsCalls()).toBeGreaterThan(before);
    expect(screen.getByTestId('disconnect-outcome').textContent).toContain('Disconnected admin user-2 (p-0002)');
  });

  it('lists recently closed connections with reason badges, durations and events, and the totals per reason', async () => {
    routeFetch(() => fullStats([conn(1)]));
    await renderPage();
    await settle(50);
    const table = screen.getByRole('table', { name: 'Recently closed connections' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0].getAttribute('data-reason')).toBe('superseded');
    expect(rows[0].textContent).toContain('3m 05s');
    expect(rows[0].textContent).toContain('alice');
    expect(rows[1].getAttribute('data-reason')).toBe('admin_closed');
    expect(rows[1].textContent).toContain('1h 00m');
    expect(rows[1].textContent).toContain('40');
    const totals = screen.getByTestId('close-totals');
    expect(totals.textContent).toContain('Closed since start: 5');
    expect(totals.querySelector('[data-reason="superseded"]')?.textContent).toBe('superseded3');
    expect(totals.querySelectorAll('[data-reason]')).toHaveLength(8);
  });

  it('shows the roster with missing displays up front', async () => {
    routeFetch(() =>
      fullStats([conn(3)], {
        expected_displays: [
          { display: 'cafeteria', state: 'missing', id: null },
          { display: 'lobby', state: 'stale', id: 'p-9' },
          { display: 'reception', state: 'missing', id: null },
          { display: 'screen-3', state: 'connected', id: 'p-0003' },
        ],
      }),
    );
    await renderPage();
    const roster = screen.getByTestId('roster');
    expect(within(roster).getByTestId('roster-missing').textContent).toBe('2 displays are missing:cafeteriareception');
    expect(within(roster).getByTestId('roster-stale').textContent).toContain('lobby');
    expect(within(roster).getByTestId('roster-summary').textContent).toBe('4 expected · 1 connected · 1 stale · 2 missing');
  });

  it('hides the roster when the responder has no --displays', async () => {
    routeFetch(() => fullStats([conn(3)]));
    await renderPage();
    expect(screen.queryByTestId('roster')).toBeNull();
  });
});
