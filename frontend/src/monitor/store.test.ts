import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClosedConnection, ClosedList, ConnectionInfo, Stats, StatsPageQuery, Summary } from '../api/types';
import { MonitorStore, type MonitorApi } from './store';

/** A promise the test settles. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function conn(id: string, extra: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return { id, type: 'admin', user: 'alice', connected_at: '2026-12-08T10:00:00.000Z', last_ping: null, events_sent: 0, state: 'live', ...extra };
}

function closedOf(id: string, seq: number, extra: Partial<ClosedConnection> = {}): ClosedConnection {
  return {
    id,
    type: 'admin',
    user: 'alice',
    client: null,
    opened_at: '2026-12-08T10:00:00.000Z',
    closed_at: new Date(Date.UTC(2026, 11, 8, 10, 0, seq)).toISOString(),
    duration_seconds: 1,
    events_sent: 0,
    bytes_sent: 0,
    reason: 'client_closed',
    seq,
    ...extra,
  };
}

function summary(total: number, seq: number, extra: Partial<Summary> = {}): Summary {
  return {
    total_connections: total,
    admin_connections: total,
    display_connections: 0,
    average_connection_age_seconds: 0,
    events_sent_last_hour: 0,
    roster: null,
    seq,
    ...extra,
  };
}

function pageAnswer(connections: ConnectionInfo[], seq: number, total = connections.length, extra: Partial<Stats> = {}): Stats {
  return { ...summary(total, seq), connections, page: { offset: 0, limit: 1000, total }, ...extra };
}

/** A fake API whose answers the test gives, one request at a time. */
function fakeApi() {
  const pages: { query: StatsPageQuery; answer: ReturnType<typeof deferred<Stats>> }[] = [];
  const fulls: ReturnType<typeof deferred<Stats>>[] = [];
  const closed: ReturnType<typeof deferred<ClosedList>>[] = [];
  const summaries: ReturnType<typeof deferred<Summary>>[] = [];
  const api: MonitorApi = {
    fetchStatsPage: (query) => {
      const answer = deferred<Stats>();
      pages.push({ query, answer });
      return answer.promise;
    },
    fetchStats: () => {
      const answer = deferred<Stats>();
      fulls.push(answer);
      return answer.promise;
    },
    fetchClosed: () => {
      const answer = deferred<ClosedList>();
      closed.push(answer);
      return answer.promise;
    },
    fetchSummary: () => {
      const answer = deferred<Summary>();
      summaries.push(answer);
      return answer.promise;
    },
  };
  return { api, pages, fulls, closed, summaries };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

const ids = (s: MonitorStore) => s.getSnapshot().table!.rows.map((r) => r.id).sort();

let store: MonitorStore | null = null;
afterEach(() => {
  store?.dispose();
  store = null;
  vi.useRealTimers();
});

function liveStore(f: ReturnType<typeof fakeApi>, options: Partial<ConstructorParameters<typeof MonitorStore>[0]> = {}) {
  store = new MonitorStore({ api: f.api, table: {}, ...options });
  store.start();
  store.onConnected({ monitor: true, stale_after_heartbeats: 2, close_after_heartbeats: 3 });
  return store;
}

describe('applying changes', () => {
  it('applies the entries of a changes event in the order of their seq, across and within lists', async () => {
    const f = fakeApi();
    const s = liveStore(f);
    f.pages.at(-1)!.answer.resolve(pageAnswer([conn('c-a')], 10));
    await flush();
    expect(ids(s)).toEqual(['c-a']);
    // Listed out of order: the stale update (11) came before the live one (13).
    s.onChanges({
      seq: 14,
      opened: [conn('c-b', { seq: 12 })],
      updated: [conn('c-a', { state: 'live', seq: 13 }), conn('c-a', { state: 'stale', seq: 11 })],
      closed: [closedOf('c-b', 14)],
    });
    expect(ids(s)).toEqual(['c-a']);
    expect(s.getSnapshot().table!.rows[0].state).toBe('live');
  });

  it('ignores entries not above the snapshot seq of a fetch they raced with, and applies the later ones', async () => {
    const f = fakeApi();
    const s = liveStore(f);
    f.pages.at(-1)!.answer.resolve(pageAnswer([conn('c-a')], 4));
    await flush();
    // A resync: a fetch goes out...
    s.onResync({ reason: 'behind' });
    expect(f.pages).toHaveLength(3); // mount, connected, resync
    // ...while changes arrive: c-x opened (5) and closed (6) before the snapshot (6); c-y opened after it (7).
    s.onChanges({ seq: 5, opened: [conn('c-x', { seq: 5 })] });
    s.onChanges({ seq: 7, opened: [conn('c-y', { seq: 7 })] });
    // The snapshot was taken at seq 6: c-x is already gone in it.
    f.pages.at(-1)!.answer.resolve(pageAnswer([conn('c-a')], 6));
    await flush();
    expect(ids(s)).toEqual(['c-a', 'c-y']);
    // The close of c-x (seq 6) is pushed late: it changes nothing, and c-x is not shown.
    s.onChanges({ seq: 6, closed: [closedOf('c-x', 6)] });
    expect(ids(s)).toEqual(['c-a', 'c-y']);
    // Later entries apply as they come.
    s.onChanges({ seq: 8, closed: [closedOf('c-a', 8)] });
    expect(ids(s)).toEqual(['c-y']);
  });

  it('an older answer never replaces a newer summary; an equal seq does (ages move on)', async () => {
    const f = fakeApi();
    const s = liveStore(f);
    s.onSummary(summary(3, 20));
    f.pages.at(-1)!.answer.resolve(pageAnswer([conn('c-a')], 18, 1));
    await flush();
    expect(s.getSnapshot().summary!.total_connections).toBe(3);
    s.onSummary(summary(2, 20, { average_connection_age_seconds: 9 }));
    expect(s.getSnapshot().summary).toMatchObject({ total_connections: 2, average_connection_age_seconds: 9 });
    s.onSummary(summary(5, 19));
    expect(s.getSnapshot().summary!.total_connections).toBe(2);
  });

  it('takes the liveness thresholds from connected, then from the summary', () => {
    const f = fakeApi();
    const s = liveStore(f);
    expect(s.getSnapshot()).toMatchObject({ staleAfterHeartbeats: 2, closeAfterHeartbeats: 3 });
    s.onSummary(summary(0, 1, { stale_after_heartbeats: 4, close_after_heartbeats: 7 }));
    expect(s.getSnapshot()).toMatchObject({ staleAfterHeartbeats: 4, closeAfterHeartbeats: 7 });
  });

  it('keeps the closed list: fetched, plus pushed closes, once each, newest first', async () => {
    const f = fakeApi();
    const s = liveStore(f, { closed: true });
    s.onChanges({ seq: 3, closed: [closedOf('c-2', 3)] });
    f.closed.at(-1)!.resolve({ capacity: 500, closed: [closedOf('c-2', 3), closedOf('c-1', 2)] });
    await flush();
    s.onChanges({ seq: 4, closed: [closedOf('c-3', 4)] });
    expect(s.getSnapshot().closed!.list.map((c) => c.id)).toEqual(['c-3', 'c-2', 'c-1']);
  });
});

describe('resync and new streams', () => {
  it('refetches everything on resync, reset and connected', async () => {
    const f = fakeApi();
    const s = liveStore(f, { closed: true });
    const before = { pages: f.pages.length, closed: f.closed.length };
    s.onResync({ reason: 'overflow', message: 'Too many changes' });
    expect(s.getSnapshot().lastResync?.reason).toBe('overflow');
    s.onReset();
    s.onConnected({ monitor: true });
    expect(f.pages.length - before.pages).toBe(3);
    expect(f.closed.length - before.closed).toBe(3);
  });
});

describe('polling', () => {
  it('never polls while the stream pushes; polls every downPollMs while it is down, and stops once it is back', async () => {
    vi.useFakeTimers();
    const f = fakeApi();
    const s = liveStore(f, { closed: true, downPollMs: 10_000 });
    s.setStream('open', true);
    const start = f.pages.length;
    vi.advanceTimersByTime(120_000);
    expect(f.pages.length).toBe(start);
    expect(s.getSnapshot().mode).toBe('live');

    s.setStream('error', true);
    expect(s.getSnapshot()).toMatchObject({ mode: 'down', pollMs: 10_000 });
    vi.advanceTimersByTime(9_999);
    expect(f.pages.length).toBe(start);
    vi.advanceTimersByTime(1);
    expect(f.pages.length).toBe(start + 1);
    s.setStream('connecting', true);
    vi.advanceTimersByTime(10_000);
    expect(f.pages.length).toBe(start + 2);
    expect(f.closed.length).toBeGreaterThan(2);

    s.onConnected({ monitor: true }); // the stream is back: one fetch for what was missed
    expect(s.getSnapshot().mode).toBe('live');
    const back = f.pages.length;
    vi.advanceTimersByTime(120_000);
    expect(f.pages.length).toBe(back);
  });

  it('keeps polling across dispose() and start() (React remounting its effects)', () => {
    vi.useFakeTimers();
    const f = fakeApi();
    const s = liveStore(f);
    s.setStream('error', true);
    s.dispose();
    vi.advanceTimersByTime(30_000);
    const n = f.pages.length;
    expect(n).toBe(2); // mount and connected: nothing while disposed
    s.start();
    s.setStream('error', true);
    vi.advanceTimersByTime(10_000);
    expect(f.pages.length).toBe(n + 2); // start(), then the poll
  });

  it('does not poll while the first stream is still connecting', () => {
    vi.useFakeTimers();
    const f = fakeApi();
    store = new MonitorStore({ api: f.api, table: {} });
    store.start();
    store.setStream('connecting', null);
    vi.advanceTimersByTime(60_000);
    expect(f.pages).toHaveLength(1);
    expect(store.getSnapshot().mode).toBe('starting');
    store.setStream('error', null); // refused (e.g. 429): poll
    vi.advanceTimersByTime(10_000);
    expect(f.pages).toHaveLength(2);
  });

  it('polls every legacyPollMs a responder that does not push', () => {
    vi.useFakeTimers();
    const f = fakeApi();
    store = new MonitorStore({ api: f.api, table: {}, legacyPollMs: 5_000 });
    store.start();
    store.onConnected({ connection_id: 'x' }); // no "monitor": an older responder
    expect(store.getSnapshot()).toMatchObject({ mode: 'legacy', pollMs: 5_000 });
    const n = f.pages.length;
    vi.advanceTimersByTime(15_000);
    expect(f.pages.length).toBe(n + 3);
  });
});

describe('a registry too large to hold', () => {
  it('fetches only the page on screen, with the filters, and refetches it when rows move', async () => {
    vi.useFakeTimers();
    const f = fakeApi();
    const s = liveStore(f);
    // The first answer says there are 20,000: hold no set, ask for the page.
    const many = Array.from({ length: 1000 }, (_, i) => conn(`c-${i}`));
    f.pages.at(-1)!.answer.resolve(pageAnswer(many, 30, 20_000));
    await vi.advanceTimersByTimeAsync(0);
    const pageReq = f.pages.at(-1)!;
    expect(pageReq.query).toEqual({ limit: 50, offset: 0 });
    pageReq.answer.resolve({ ...pageAnswer(many.slice(0, 50), 31, 20_000), page: { offset: 0, limit: 50, total: 20_000 } });
    await vi.advanceTimersByTimeAsync(0);
    const table = s.getSnapshot().table!;
    expect(table.complete).toBe(false);
    expect(table.rows).toHaveLength(50);
    expect(table.total).toBe(20_000);

    // A row on the page closes: gone at once, and the page is fetched again to fill it.
    const n = f.pages.length;
    s.onChanges({ seq: 32, closed: [closedOf('c-3', 32)] });
    expect(s.getSnapshot().table!.rows.map((r) => r.id)).not.toContain('c-3');
    expect(s.getSnapshot().table!.total).toBe(19_999);
    await vi.advanceTimersByTimeAsync(250);
    expect(f.pages.length).toBe(n + 1);

    // Filters and pages go to the server.
    s.setFilter({ type: 'display', state: 'stale', q: 'lobby' });
    await vi.advanceTimersByTimeAsync(250);
    expect(f.pages.at(-1)!.query).toEqual({ limit: 50, offset: 0, type: 'display', state: 'stale', q: 'lobby' });
    s.setPage(3);
    expect(f.pages.at(-1)!.query).toEqual({ limit: 50, offset: 100, type: 'display', state: 'stale', q: 'lobby' });
  });

  it('holds every connection again once there are few enough', async () => {
    vi.useFakeTimers();
    const f = fakeApi();
    const s = liveStore(f);
    f.pages.at(-1)!.answer.resolve(pageAnswer([conn('c-0')], 1, 5_000));
    await vi.advanceTimersByTimeAsync(0);
    f.pages.at(-1)!.answer.resolve({ ...pageAnswer([conn('c-0')], 2, 700), page: { offset: 0, limit: 50, total: 700 } });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.pages.at(-1)!.query).toEqual({ limit: 1000, offset: 0 });
    f.pages.at(-1)!.answer.resolve(pageAnswer([conn('c-0'), conn('c-1')], 3, 2));
    await vi.advanceTimersByTimeAsync(0);
    expect(s.getSnapshot().table!.complete).toBe(true);
  });
});

describe('a responder without paging', () => {
  it('uses the full answer as the complete set, filtered by the fixed filter', async () => {
    const f = fakeApi();
    const s = liveStore(f, { table: { fixed: { type: 'display' } } });
    const { page: _page, seq: _seq, ...full } = pageAnswer([conn('c-a'), conn('c-d', { type: 'display', display: 'lobby', user: undefined })], 0);
    void _page;
    void _seq;
    f.pages.at(-1)!.answer.resolve(full as Stats);
    await flush();
    expect(ids(s)).toEqual(['c-d']);
    expect(s.getSnapshot().table!.complete).toBe(true);
  });
});

describe('the roster', () => {
  const roster = [
    { display: 'cafeteria', state: 'missing' as const, id: null, last_seen: null },
    { display: 'lobby', state: 'connected' as const, id: 'c-l', last_seen: null },
  ];

  it('is fetched in full when the paged answer has none, then kept by changes', async () => {
    const f = fakeApi();
    const s = liveStore(f, { roster: true });
    f.pages.at(-1)!.answer.resolve(pageAnswer([], 5, 0, { roster: { expected: 2, connected: 1, stale: 0, missing: 1 } }));
    await flush();
    expect(f.fulls).toHaveLength(1);
    f.fulls[0].resolve({ ...pageAnswer([], 5), page: undefined, expected_displays: roster });
    await flush();
    expect(s.getSnapshot().roster).toEqual(roster);
    s.onChanges({ seq: 6, closed: [closedOf('c-l', 6, { type: 'display', display: 'lobby', user: undefined, closed_at: '2026-12-08T11:00:00.000Z' })] });
    s.onChanges({ seq: 7, opened: [conn('c-c', { type: 'display', display: 'cafeteria', user: undefined, seq: 7 })] });
    expect(s.getSnapshot().roster).toEqual([
      { display: 'cafeteria', state: 'connected', id: 'c-c', last_seen: null },
      { display: 'lobby', state: 'missing', id: null, last_seen: '2026-12-08T11:00:00.000Z' },
    ]);
  });

  it('is absent without --displays', async () => {
    const f = fakeApi();
    const s = liveStore(f, { roster: true });
    f.pages.at(-1)!.answer.resolve(pageAnswer([], 5));
    await flush();
    expect(f.fulls).toHaveLength(0);
    expect(s.getSnapshot().roster).toBeNull();
  });
});

describe('a cluster: stats and pushes from different nodes', () => {
  const clusterOf = (node: string, state = 'ok') => ({ backend: 'redis', node, state });
  const nodeList = (lost: string[] = []) =>
    ['node-1', 'node-2', 'node-3'].map((node) => ({
      node,
      state: lost.includes(node) ? 'lost' : 'up',
      connections: 0,
      last_seen: '2026-12-08T10:00:00.000Z',
    }));

  it('a stats answer from a node behind the stream keeps the changes the stream pushed before the request', async () => {
    const f = fakeApi();
    const s = liveStore(f);
    f.pages.at(-1)!.answer.resolve(pageAnswer([conn('c-a', { node: 'node-1' })], 10));
    await flush();
    // node-1 (the stream) pushes 11 and 12 before the page asks again.
    s.onChanges({ seq: 11, opened: [conn('c-b', { node: 'node-2', seq: 11 })] });
    s.onChanges({ seq: 12, closed: [closedOf('c-a', 12, { node: 'node-1' })] });
    expect(ids(s)).toEqual(['c-b']);
    // The counters are refetched; round robin sends it to node-3, which has applied only up to 10.
    s.refresh();
    f.pages.at(-1)!.answer.resolve(pageAnswer([conn('c-a', { node: 'node-1' })], 10, 1, { cluster: clusterOf('node-3') }));
    await flush();
    expect(ids(s)).toEqual(['c-b']);
    // Later pushes apply on top, nothing twice.
    s.onChanges({ seq: 13, opened: [conn('c-c', { node: 'node-3', seq: 13 })] });
    expect(ids(s)).toEqual(['c-b', 'c-c']);
  });

  it('a stats answer from a node ahead of the stream: the entries it holds, pushed late, change nothing', async () => {
    const f = fakeApi();
    const s = liveStore(f);
    f.pages.at(-1)!.answer.resolve(
      pageAnswer([conn('c-b', { node: 'node-2' })], 20, 1, { cluster: clusterOf('node-2') }),
    );
    await flush();
    // The stream's node is behind: it pushes c-a open (19), and c-b's open (20) is in the snapshot already.
    s.onChanges({ seq: 19, closed: [closedOf('c-a', 19)] });
    s.onChanges({ seq: 20, opened: [conn('c-b', { node: 'node-2', seq: 20 })] });
    expect(ids(s)).toEqual(['c-b']);
    expect(s.getSnapshot().table!.total).toBe(1);
    s.onChanges({ seq: 21, closed: [closedOf('c-b', 21, { reason: 'node_lost', node: 'node-2' })] });
    expect(ids(s)).toEqual([]);
  });

  it('the rolling log forgets entries after ROLLING_MS', async () => {
    vi.useFakeTimers();
    const f = fakeApi();
    const s = liveStore(f);
    f.pages.at(-1)!.answer.resolve(pageAnswer([], 1));
    await flush();
    s.onChanges({ seq: 2, opened: [conn('c-old', { seq: 2 })] });
    vi.advanceTimersByTime(31_000);
    s.onChanges({ seq: 3, opened: [conn('c-new', { seq: 3 })] });
    s.refresh();
    // An answer at seq 1 that lacks both: only the entry still logged is applied again.
    f.pages.at(-1)!.answer.resolve(pageAnswer([], 1));
    await flush();
    expect(ids(s)).toEqual(['c-new']);
  });

  it('Recently closed: a /closed answer from a node that has not seen a pushed close keeps it, and lists each id once', async () => {
    const f = fakeApi();
    const s = liveStore(f, { closed: true });
    f.closed.at(-1)!.resolve({ capacity: 500, closed: [closedOf('c-1', 2)] });
    await flush();
    s.onChanges({ seq: 5, closed: [closedOf('c-5', 5, { reason: 'node_lost', node: 'node-2' }), closedOf('c-4', 4, { reason: 'node_lost', node: 'node-2' })] });
    expect(s.getSnapshot().closed!.list.map((c) => c.id)).toEqual(['c-5', 'c-4', 'c-1']);
    // A resync: /closed lands on node-3, which has seen c-4 but not yet c-5.
    s.onResync({ reason: 'overflow' });
    f.closed.at(-1)!.resolve({ capacity: 500, closed: [closedOf('c-4', 4, { reason: 'node_lost' }), closedOf('c-1', 2)] });
    await flush();
    expect(s.getSnapshot().closed!.list.map((c) => c.id)).toEqual(['c-5', 'c-4', 'c-1']);
    // The same close pushed again (a new stream on another node) adds nothing.
    const before = s.getSnapshot().closed!.list;
    s.onChanges({ seq: 5, closed: [closedOf('c-5', 5, { reason: 'node_lost' })] });
    expect(s.getSnapshot().closed!.list).toBe(before);
  });

  it('Recently closed: the node and seq a pushed close carries fill in the same close from /closed, which lacks them', async () => {
    const f = fakeApi();
    const s = liveStore(f, { closed: true });
    s.onChanges({ seq: 5, closed: [closedOf('c-5', 5, { reason: 'node_lost', node: 'node-2' })] });
    const { node: _node, seq: _seq, ...bare } = closedOf('c-5', 5, { reason: 'node_lost', node: 'node-2' });
    void _node;
    void _seq;
    f.closed.at(-1)!.resolve({ capacity: 500, closed: [bare] });
    await flush();
    expect(s.getSnapshot().closed!.list).toEqual([expect.objectContaining({ id: 'c-5', node: 'node-2', seq: 5, reason: 'node_lost' })]);
  });

  it('Recently closed: a /closed answer that lists an id twice (a node lost, then back) shows its newest close once', async () => {
    const f = fakeApi();
    const s = liveStore(f, { closed: true });
    f.closed.at(-1)!.resolve({
      capacity: 500,
      closed: [closedOf('c-1', 9, { reason: 'client_closed' }), closedOf('c-2', 8), closedOf('c-1', 7, { reason: 'node_lost' })],
    });
    await flush();
    const list = s.getSnapshot().closed!.list;
    expect(list.map((c) => `${c.id}:${c.reason}`)).toEqual(['c-1:client_closed', 'c-2:client_closed']);
  });

  it('a resync with reason cluster forgets the logged entries (a node numbered them itself)', async () => {
    const f = fakeApi();
    const s = liveStore(f);
    f.pages.at(-1)!.answer.resolve(pageAnswer([], 1));
    await flush();
    s.onChanges({ seq: 50, opened: [conn('c-local', { seq: 50 })] });
    s.onResync({ reason: 'cluster' });
    f.pages.at(-1)!.answer.resolve(pageAnswer([conn('c-b')], 30));
    await flush();
    expect(ids(s)).toEqual(['c-b']);
  });

  it('nodes come from the newest summary; no cluster for one process', async () => {
    const f = fakeApi();
    const s = liveStore(f);
    expect(s.getSnapshot().cluster).toBeNull();
    s.onSummary(summary(1, 3));
    expect(s.getSnapshot().cluster).toBeNull();
    s.onSummary(summary(1, 4, { nodes: nodeList(), cluster: clusterOf('node-1') }));
    expect(s.getSnapshot().cluster!.nodes.map((n) => `${n.node}:${n.state}`)).toEqual(['node-1:up', 'node-2:up', 'node-3:up']);
    s.onSummary(summary(0, 6, { nodes: nodeList(['node-2']), cluster: clusterOf('node-1') }));
    expect(s.getSnapshot().cluster!.nodes.find((n) => n.node === 'node-2')!.state).toBe('lost');
    // An older answer (a node behind) does not bring node-2 back.
    f.pages.at(-1)!.answer.resolve(pageAnswer([], 5, 0, { nodes: nodeList(), cluster: clusterOf('node-3') }));
    await flush();
    expect(s.getSnapshot().cluster!.nodes.find((n) => n.node === 'node-2')!.state).toBe('lost');
  });

  it('degraded: kept per node from every answer, whatever its seq; the summary is fetched every 5 s until the node says ok', async () => {
    vi.useFakeTimers();
    const f = fakeApi();
    const s = liveStore(f);
    s.onSummary(summary(1, 10, { nodes: nodeList(), cluster: clusterOf('node-1') }));
    expect(s.getSnapshot().cluster!.degraded).toEqual([]);
    // node-2 cannot reach Redis; its numbers lag (seq 8), its state still counts.
    f.pages.at(-1)!.answer.resolve(pageAnswer([], 8, 0, { nodes: nodeList(), cluster: clusterOf('node-2', 'degraded') }));
    await flush();
    expect(s.getSnapshot().cluster!.degraded.map((d) => d.node)).toEqual(['node-2']);
    expect(s.getSnapshot().summary!.seq).toBe(10);
    const n = f.summaries.length;
    vi.advanceTimersByTime(3_999);
    expect(f.summaries.length).toBe(n);
    vi.advanceTimersByTime(2_001); // 5 s ± 20 %
    expect(f.summaries.length).toBe(n + 1);
    f.summaries.at(-1)!.resolve(summary(1, 10, { nodes: nodeList(), cluster: clusterOf('node-2', 'degraded') }));
    await flush();
    vi.advanceTimersByTime(6_000);
    expect(f.summaries.length).toBe(n + 2);
    f.summaries.at(-1)!.resolve(summary(1, 10, { nodes: nodeList(), cluster: clusterOf('node-2', 'ok') }));
    await flush();
    expect(s.getSnapshot().cluster!.degraded).toEqual([]);
    vi.advanceTimersByTime(20_000);
    expect(f.summaries.length).toBe(n + 2);
  });

  it('degraded: when the stream\'s own node reaches Redis again, the other nodes\' degraded reports go (their next answers say if not)', async () => {
    const f = fakeApi();
    store = new MonitorStore({ api: f.api, table: {} });
    const s = store;
    s.start();
    s.onConnected({ monitor: true, node: 'node-1' });
    s.onSummary(summary(1, 10, { nodes: nodeList(), cluster: clusterOf('node-1', 'degraded') }));
    f.pages.at(-1)!.answer.resolve(pageAnswer([], 10, 0, { nodes: nodeList(), cluster: clusterOf('node-3', 'degraded') }));
    await flush();
    expect(s.getSnapshot().cluster!.degraded.map((d) => d.node)).toEqual(['node-1', 'node-3']);
    // Another node's ok does not speak for node-3 ...
    s.onSummary(summary(1, 10, { nodes: nodeList(), cluster: clusterOf('node-2', 'ok') }));
    expect(s.getSnapshot().cluster!.degraded.map((d) => d.node)).toEqual(['node-1', 'node-3']);
    // ... the stream's node back to ok does.
    s.onSummary(summary(1, 11, { nodes: nodeList(), cluster: clusterOf('node-1', 'ok') }));
    expect(s.getSnapshot().cluster!.degraded).toEqual([]);
  });
});
