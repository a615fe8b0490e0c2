import { act, render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { ConnectionInfo } from '../api/types';
import { FakeMonitorServer, type ServerOptions } from '../monitor/test-server';
import { SSEProvider } from '../sse';
import { connectedData, FakeStream, setupFakes } from '../sse/test-utils';
import { MonitoringPage } from './MonitoringPage';

const fakes = setupFakes();

function conn(i: number, node?: string, extra: Partial<ConnectionInfo> = {}): ConnectionInfo {
  const at = new Date(Date.now() - (100 - i) * 1000).toISOString();
  const display = i % 2 === 0;
  return {
    id: `p-${String(i).padStart(4, '0')}`,
    type: display ? 'display' : 'admin',
    ...(display ? { display: `screen-${i}` } : { user: 'alice' }),
    ...(node ? { node } : {}),
    connected_at: at,
    last_ping: at,
    events_sent: 0,
    state: 'live',
    ack: true,
    client: `c-${i}`,
    ...extra,
  };
}

function serve(connections: ConnectionInfo[], options: ServerOptions = {}) {
  const server = new FakeMonitorServer(options);
  server.seed(connections);
  fakes.fetch.mockImplementation(server.fetch);
  return server;
}

async function settle(ms = 20) {
  await act(() => new Promise((r) => setTimeout(r, ms)));
}

async function renderLive(server: FakeMonitorServer, node?: string) {
  render(
    <SSEProvider url="/api/v1/events/admin" disconnectUrl="/api/v1/events/disconnect" params={{ monitor: '1' }}>
      <MonitoringPage />
    </SSEProvider>,
  );
  await settle();
  act(() =>
    FakeStream.last.emit('connected', { ...connectedData('tok-1'), public_id: 'p-0001', monitor: true, ...(node ? { node } : {}) }),
  );
  act(() => FakeStream.last.emit('summary', server.summary()));
  await settle();
}

const liveTable = () => screen.getByRole('table', { name: 'Live SSE connections' });
const rowIds = () =>
  within(liveTable())
    .getAllByRole('row')
    .slice(1)
    .map((r) => r.getAttribute('data-connection-id'))
    .filter(Boolean);
const headers = (name: string) =>
  within(screen.getByRole('table', { name }))
    .getAllByRole('columnheader')
    .map((h) => h.textContent?.replace(/[▲▼↕]/g, '').trim());
const nodeRows = () =>
  within(screen.getByRole('table', { name: 'Cluster nodes' }))
    .getAllByRole('row')
    .slice(1)
    .map((r) => `${r.getAttribute('data-node')}:${r.getAttribute('data-state')}:${within(r).getByTestId('node-connections').textContent}`);

describe('System Monitoring for one process', () => {
  it('shows no Nodes panel, no Node column, no degraded banner and no node_lost reason', async () => {
    const server = serve([conn(1), conn(2)]);
    await renderLive(server);
    expect(rowIds()).toHaveLength(2);
    expect(screen.queryByTestId('nodes')).toBeNull();
    expect(screen.queryByTestId('cluster-degraded')).toBeNull();
    expect(headers('Live SSE connections')).not.toContain('Node');
    expect(screen.queryAllByTestId('conn-node')).toHaveLength(0);
    const totals = screen.getByTestId('close-totals');
    expect(totals.querySelector('[data-reason="node_lost"]')).toBeNull();
    const reasons = within(screen.getByRole('combobox', { name: 'Filter by close reason' }))
      .getAllByRole('option')
      .map((o) => o.textContent);
    expect(reasons).not.toContain('Node lost');
  });
});

describe('System Monitoring in a cluster', () => {
  const nodes = ['node-1', 'node-2', 'node-3'];

  it('lists the nodes, up, with their connection counts, and which node holds each connection', async () => {
    const server = serve([conn(1, 'node-1'), conn(2, 'node-2'), conn(3, 'node-2'), conn(4, 'node-3')], { nodes });
    await renderLive(server, 'node-1');
    expect(nodeRows()).toEqual(['node-1:up:1', 'node-2:up:2', 'node-3:up:1']);
    expect(screen.getByTestId('nodes-summary').textContent).toContain('3 nodes · 3 up · 0 lost');
    expect(headers('Live SSE connections')).toContain('Node');
    const row = within(liveTable()).getAllByRole('row').find((r) => r.getAttribute('data-connection-id') === 'p-0003')!;
    expect(within(row).getByTestId('conn-node').textContent).toBe('node-2');
    // A push moves the counts at once (the nodes list's own counts lag a heartbeat).
    act(() => FakeStream.last.emit('changes', server.open(conn(5, 'node-3'))));
    expect(nodeRows()).toEqual(['node-1:up:1', 'node-2:up:2', 'node-3:up:2']);
  });

  it('a lost node: its connections leave the table as "Node lost" in Recently closed, the panel says lost', async () => {
    const server = serve([conn(1, 'node-1'), conn(2, 'node-2'), conn(3, 'node-2')], { nodes });
    await renderLive(server, 'node-1');
    act(() => FakeStream.last.emit('changes', server.loseNode('node-2')));
    act(() => FakeStream.last.emit('summary', server.summary()));
    expect(rowIds()).toEqual(['p-0001']);
    expect(nodeRows()).toEqual(['node-1:up:1', 'node-2:lost:—', 'node-3:up:0']);
    expect(screen.getByTestId('nodes-lost').textContent).toContain('Node node-2 is lost');
    const closed = within(screen.getByRole('table', { name: 'Recently closed connections' })).getAllByRole('row').slice(1);
    expect(closed.map((r) => r.getAttribute('data-reason'))).toEqual(['node_lost', 'node_lost']);
    const badge = closed[0].querySelector('[data-reason]')!;
    expect(badge.textContent).toBe('Node lost');
    expect(badge.getAttribute('title')).toContain('stopped answering');
    expect(badge.getAttribute('title')).toContain('(node_lost)');
    expect(within(closed[0]).getByTestId('closed-node').textContent).toBe('on node-2');
    const totals = screen.getByTestId('close-totals');
    expect(totals.querySelector('[data-reason="node_lost"]')!.textContent).toBe('Node lost2');
    // The same closes again (a monitor stream on another node) list each once.
    act(() =>
      FakeStream.last.emit('changes', { seq: server.seq, closed: server.closed.filter((c) => c.reason === 'node_lost') }),
    );
    expect(within(screen.getByRole('table', { name: 'Recently closed connections' })).getAllByRole('row').slice(1)).toHaveLength(2);
  });

  it('a degraded node: a banner says what still works and what answers 503; it goes when the node says ok', async () => {
    const server = serve([conn(1, 'node-1')], { nodes });
    await renderLive(server, 'node-1');
    expect(screen.queryByTestId('cluster-degraded')).toBeNull();
    server.degraded = true;
    act(() => FakeStream.last.emit('summary', server.summary()));
    const banner = screen.getByTestId('cluster-degraded');
    expect(banner.textContent).toContain('Node node-1 cannot reach Redis');
    expect(banner.textContent).toContain('Still works');
    expect(banner.textContent).toMatch(/Answers 503.*publishing.*test events.*another node/s);
    expect(within(screen.getByRole('table', { name: 'Cluster nodes' })).getByText('degraded')).toBeTruthy();
    server.degraded = false;
    act(() => FakeStream.last.emit('summary', server.summary()));
    expect(screen.queryByTestId('cluster-degraded')).toBeNull();
  });
});
