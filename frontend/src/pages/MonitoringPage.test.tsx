import { act, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SSEProvider } from '../sse';
import { connectedData, FakeEventSource, installFakes } from '../sse/test-utils';
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
    act(() => FakeEventSource.last.emit('connected', connectedData('tok-1')));
    await act(() => new Promise((r) => setTimeout(r, 250)));
    expect(calls()).toBe(first + 1);
    act(() => FakeEventSource.last.emit('system.test_event', { message: 'x' }));
    await act(() => new Promise((r) => setTimeout(r, 250)));
    expect(calls()).toBe(first + 2);
    act(() => FakeEventSource.last.emit('ping', { message: 'keep-alive' }));
    await act(() => new Promise((r) => setTimeout(r, 250)));
    expect(calls()).toBe(first + 2);
  });
});
