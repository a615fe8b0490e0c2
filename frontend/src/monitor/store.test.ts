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
