/**
 * MonitorStore: what the monitor pages show (counts, connections, recently
 * closed, the display roster), kept right by the pushed monitor of the tab's
 * own admin stream (`?monitor=1`), with no periodic poll while it is up.
 *
 * - Counts: `event: summary` (and the counts in every stats answer); the one
 *   with the higher `seq` wins.
 * - Connections, two ways, chosen by size (see frontend/README.md):
 *   while the registry (or the part of it the page lists, e.g. displays) has
 *   at most SMALL_LIMIT connections, the page holds all of them, from one
 *   stats answer (`limit=1000`), and every `changes` entry keeps that set
 *   exact: filters, sorting and paging are local and instant. Above it the
 *   page holds only the page on screen, fetched with `limit/offset` and the
 *   server's `type/state/q` filters, newest first; a change that moves rows
 *   of that page refetches it (within DIRTY_DELAY_MS), a closed or updated
 *   row on it is removed or replaced at once.
 * - Recently closed: `GET /closed`, then each closed entry of `changes`.
 * - Roster: `expected_displays` of a stats answer, then each display entry.
 * - `resync`, `reset` and every new stream (`connected`): fetch it all again.
 *
 * Races between a fetch and pushes: a stats answer carries the `seq` of its
 * snapshot. Every entry is kept for a while in a rolling log (ROLLING_MS, at
 * most ROLLING_MAX); when an answer lands, the logged entries whose `seq` is
 * above the snapshot's are applied to it (the others are in it already).
 * One process never answers with a snapshot older than an entry it pushed
 * before the request, but a cluster does: behind a round-robin web server
 * the stats request lands on another node than the stream, and that node
 * may not have applied the newest change yet (`seq` is the cluster's, the
 * same on every node). So the log reaches back before the fetch, not only
 * to its start. The closed list is merged with every logged close, by id.
 * A `resync` with reason `cluster` (a node numbered changes itself) empties
 * the log: its numbers may not be the cluster's.
 *
 * Cluster (`nodes` and `cluster` in stats and summary): the nodes of the
 * newest summary, and whether each node that answered reaches Redis
 * (`cluster.state`, taken from every answer whatever its `seq`: a degraded
 * node's numbers lag). The stream's own node pushes its state with the
 * summary after each `resync` (Redis lost, Redis back); another node's is
 * known only from its answers, so while one is degraded the summary is
 * fetched every DEGRADED_POLL_MS, give or take a fifth at random: round
 * robin gives each request the next node, and at a fixed period the poll
 * could land on the same node every time (the acks of the tab's stream go
 * through the same web server). When the stream's own node says `ok` again
 * after `degraded`, Redis is back: the other nodes' degraded reports are
 * dropped, and their next answers say again if one is still cut off.
 *
 * While the stream is down (reconnecting, refused, disconnected, replaced)
 * everything is fetched every `downPollMs` instead; a responder that does
 * not push (its `connected` says `monitor: false`) is polled every
 * `legacyPollMs`.
 */
import { ApiError } from '../api/client';
import type {
  ChangesEvent,
  ClosedConnection,
  ClosedList,
  ClusterNode,
  ConnectionInfo,
  ExpectedDisplay,
  ResyncEvent,
  Stats,
  StatsPageQuery,
  Summary,
} from '../api/types';
import type { SSEState } from '../sse';
import {
  applyToPage,
  applyToRoster,
  applyToSet,
  changeEntries,
  matchesFilter,
  mergeClosed,
  type ChangeEntry,
  type ConnectionFilter,
} from './apply';

/** The most connections the page holds all of (the server's largest page). */
export const SMALL_LIMIT = 1000;
/** Back to holding all of them only at this many or fewer (no flapping at the edge). */
const SMALL_AGAIN = 800;
/** A page whose rows moved is fetched again this long after the change (changes come at most 4 a second). */
const DIRTY_DELAY_MS = 250;
/** Counters (events sent, last ping, RTT) of the rows held are refreshed at most this often after a broadcast. */
const COUNTER_REFRESH_MS = 2_000;
/** How long pushed entries are kept for answers that come from a node behind the stream's. */
export const ROLLING_MS = 30_000;
/** The most entries kept in the rolling log. */
export const ROLLING_MAX = 5_000;
/** While a node says degraded, the summary is fetched this often (±20 %). */
export const DEGRADED_POLL_MS = 5_000;
/** A node's report of its cluster state counts for this long after its last answer. */
const CLUSTER_REPORT_MS = 120_000;

export interface MonitorApi {
  fetchSummary(signal: AbortSignal): Promise<Summary>;
  fetchStats(signal: AbortSignal): Promise<Stats>;
  fetchStatsPage(query: StatsPageQuery, signal: AbortSignal): Promise<Stats>;
  fetchClosed(signal: AbortSignal): Promise<ClosedList>;
}

export interface MonitorOptions {
  api: MonitorApi;
  /** Hold connections; `fixed` always applies (the Displays page: type display). */
  table?: { fixed?: ConnectionFilter; pageSize?: number } | null;
  closed?: boolean;
  roster?: boolean;
  /** The slow poll while the stream is down. */
  downPollMs?: number;
  /** The poll of a responder that does not push. */
  legacyPollMs?: number;
}

/**
 * starting: the first stream is not up yet; live: pushes arrive; down: the
 * stream is lost or closed (slow poll); legacy: the responder does not push
 * (poll).
 */
export type MonitorMode = 'starting' | 'live' | 'down' | 'legacy';

/** What the page knows of the cluster; null for one process. */
export interface ClusterSnapshot {
  /** Every node of the newest summary (up or lost), by name. */
  nodes: ClusterNode[];
  /** Nodes whose last answer said `degraded` (cannot reach Redis), with when that answer came. */
  degraded: { node: string; since: number; at: number }[];
  /** The node that gave the newest summary. */
  answeredBy: string | null;
}

export interface TableSnapshot {
  /** complete: every connection that passes `fixed` (filter, sort, page locally); else the page on screen. */
  rows: ConnectionInfo[];
  complete: boolean;
  /** Paged: how many connections match (server's `page.total`, kept up to date by changes). */
  total: number;
  filter: ConnectionFilter;
  page: number;
  pageSize: number;
  loading: boolean;
  /** When the rows' counters were fetched. */
  fetchedAt: number | null;
}

export interface MonitorSnapshot {
  mode: MonitorMode;
  /** The poll's period in `down` and `legacy` modes. */
  pollMs: number;
  summary: Summary | null;
  table: TableSnapshot | null;
  closed: { list: ClosedConnection[]; capacity: number } | null;
  roster: ExpectedDisplay[] | null;
  staleAfterHeartbeats: number | null;
  closeAfterHeartbeats: number | null;
  error: ApiError | null;
  closedError: ApiError | null;
  /** When anything shown last changed (fetch or push). */
  updatedAt: number | null;
  loading: boolean;
  lastResync: { reason: string; at: number } | null;
  cluster: ClusterSnapshot | null;
}

type Dataset = 'table' | 'closed' | 'roster' | 'summary';

interface Flight {
  controller: AbortController;
}

function toApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(err instanceof Error ? err.message : String(err), 0);
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}

function numberOr(x: unknown, fallback: number | null): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : fallback;
}

/** The members of a stats answer that are lists, not counts. */
const LIST_KEYS = new Set(['connections', 'connection_details', 'active_connection_ids', 'expected_displays', 'page']);

/** The counts of a stats answer (everything but its lists). */
function summaryOf(stats: Stats): Summary {
  return Object.fromEntries(Object.entries(stats).filter(([k]) => !LIST_KEYS.has(k))) as unknown as Summary;
}

export class MonitorStore {
  private readonly api: MonitorApi;
  private readonly wantTable: boolean;
  private readonly fixed: ConnectionFilter;
  private readonly wantClosed: boolean;
  private readonly wantRoster: boolean;
  private readonly downPollMs: number;
  private readonly legacyPollMs: number;

  private snapshot: MonitorSnapshot;
  private readonly listeners = new Set<() => void>();

  // The connections.
  private set = new Map<string, ConnectionInfo>();
  private large = false;
  private tableSeq = -Infinity;
  private rosterSeq = -Infinity;
  private summarySeq = -Infinity;
  private lastTableFetch = 0;

  // The rolling log: recent entries, with when each arrived.
  private log: { entry: ChangeEntry; at: number }[] = [];
  private readonly flights = new Map<Dataset, Flight>();

  // Cluster: each answering node's last cluster state.
  private reports = new Map<string, { state: string; since: number; at: number }>();
  private degradedTimer: ReturnType<typeof setTimeout> | null = null;
  /** The node of the tab's stream (`connected`), whose summaries come pushed. */
  private streamNode: string | null = null;

  private dirtyTimer: ReturnType<typeof setTimeout> | null = null;
  private refetchAfterFlight = false;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private stream: { state: SSEState; monitor: boolean | null; everOpen: boolean } = { state: 'idle', monitor: null, everOpen: false };
  private disposed = false;

  constructor(options: MonitorOptions) {
    this.api = options.api;
    this.wantTable = !!options.table;
    this.fixed = options.table?.fixed ?? {};
    this.wantClosed = options.closed ?? false;
    this.wantRoster = options.roster ?? false;
    this.downPollMs = options.downPollMs ?? 10_000;
    this.legacyPollMs = options.legacyPollMs ?? 5_000;
    this.snapshot = {
      mode: 'starting',
      pollMs: this.downPollMs,
      summary: null,
      table: this.wantTable
        ? { rows: [], complete: true, total: 0, filter: {}, page: 1, pageSize: options.table?.pageSize ?? 50, loading: true, fetchedAt: null }
        : null,
      closed: null,
      roster: null,
      staleAfterHeartbeats: null,
      closeAfterHeartbeats: null,
      error: null,
      closedError: null,
      updatedAt: null,
      loading: true,
      lastResync: null,
      cluster: null,
    };
  }

  // ---- store interface ----

  getSnapshot = (): MonitorSnapshot => this.snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private update(patch: Partial<MonitorSnapshot>): void {
    if (this.disposed) return;
    this.snapshot = { ...this.snapshot, ...patch };
    for (const l of [...this.listeners]) l();
  }

  private updateTable(patch: Partial<TableSnapshot>): void {
    if (!this.snapshot.table) return;
    this.update({ table: { ...this.snapshot.table, ...patch } });
  }

  /** Begin (again, after dispose()): fetch everything. */
  start(): void {
    this.disposed = false;
    this.armPoll();
    this.armDegradedPoll();
    this.fetchAll();
  }

  /** Stop fetching and polling; start() begins again. */
  dispose(): void {
    this.disposed = true;
    for (const f of this.flights.values()) f.controller.abort();
    this.flights.clear();
    if (this.dirtyTimer) clearTimeout(this.dirtyTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.degradedTimer) clearTimeout(this.degradedTimer);
    this.dirtyTimer = null;
    this.pollTimer = null;
    this.degradedTimer = null;
  }

  // ---- inputs: the page ----

  /** Fetch everything now (mount, the Refresh button). */
  refresh = (): void => {
    this.fetchAll();
  };

  /** Change the user's filter (type, state, text): local when all rows are held, else a fetch. */
  setFilter = (filter: ConnectionFilter): void => {
    const table = this.snapshot.table;
    if (!table) return;
    this.updateTable({ filter, page: 1 });
    // (A fetch on its way is for the old filter: the new one replaces it.)
    if (this.large) this.markDirty(DIRTY_DELAY_MS, true);
  };

  setPage = (page: number): void => {
    const table = this.snapshot.table;
    if (!table || page === table.page) return;
    this.updateTable({ page });
    if (this.large) this.fetchTable();
  };

  setPageSize = (pageSize: number): void => {
    const table = this.snapshot.table;
    if (!table || pageSize === table.pageSize) return;
    this.updateTable({ pageSize, page: 1 });
    if (this.large) this.fetchTable();
  };

  // ---- inputs: the stream ----

  /** The tab's stream changed state (SSEClient snapshot). */
  setStream(state: SSEState, monitor: boolean | null): void {
    const everOpen = this.stream.everOpen || state === 'open';
    this.stream = { state, monitor, everOpen };
    let mode: MonitorMode;
    if (state === 'open') mode = monitor === true ? 'live' : monitor === false ? 'legacy' : this.snapshot.mode;
    else if ((state === 'connecting' || state === 'idle') && !everOpen && this.snapshot.mode === 'starting') mode = 'starting';
    else mode = 'down';
    this.setMode(mode);
  }

  private setMode(mode: MonitorMode): void {
    const pollMs = mode === 'legacy' ? this.legacyPollMs : this.downPollMs;
    if (mode === this.snapshot.mode && pollMs === this.snapshot.pollMs) return;
    this.update({ mode, pollMs });
    this.armPoll();
    this.armDegradedPoll();
  }

  /** Poll in the modes that need it (down, legacy), at their period; not otherwise. */
  private armPoll(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    const { mode, pollMs } = this.snapshot;
    if (!this.disposed && (mode === 'down' || mode === 'legacy')) this.pollTimer = setInterval(() => this.fetchAll(), pollMs);
  }

  /** `connected` on the tab's stream: a new stream, whose pushes start now; what came before is fetched. */
  onConnected(data: unknown): void {
    const d = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
    this.streamNode = typeof d.node === 'string' ? d.node : null;
    this.update({
      staleAfterHeartbeats: numberOr(d.stale_after_heartbeats, this.snapshot.staleAfterHeartbeats),
      closeAfterHeartbeats: numberOr(d.close_after_heartbeats, this.snapshot.closeAfterHeartbeats),
    });
    this.setStream('open', d.monitor === true);
    this.fetchAll();
  }

  onSummary(data: unknown): void {
    if (!data || typeof data !== 'object') return;
    const info = (data as Summary).cluster;
    if (info && info.node === this.streamNode && info.state !== 'degraded' && this.reports.get(info.node)?.state === 'degraded') {
      // The stream's node reaches Redis again: so, most likely, do the others; their answers say if not.
      for (const [node, r] of this.reports) if (node !== info.node && r.state === 'degraded') this.reports.delete(node);
    }
    this.acceptSummary(data as Summary);
  }

  onResync(data: unknown): void {
    const given = data && typeof data === 'object' ? (data as ResyncEvent).reason : undefined;
    const reason = typeof given === 'string' && given !== '' ? given : 'resync';
    this.update({ lastResync: { reason, at: Date.now() } });
    // A node numbered these itself: they are not the cluster's numbers.
    if (reason === 'cluster') this.log = [];
    this.fetchAll();
  }

  /** `reset`: broadcast events this tab missed are gone; reload what is shown. */
  onReset(): void {
    this.fetchAll();
  }

  /** A broadcast event reached this tab: events_sent moved for many rows. Refresh the counters, not too often. */
  onBroadcast(): void {
    if (!this.wantTable) return;
    const wait = Math.max(300, this.lastTableFetch + COUNTER_REFRESH_MS - Date.now());
    this.markDirty(wait);
  }

  onChanges(data: unknown): void {
    if (!data || typeof data !== 'object') return;
    const entries = changeEntries(data as ChangesEvent);
    if (entries.length === 0) return;
    this.remember(entries);
    this.applyEntries(entries, { table: this.tableSeq, roster: this.rosterSeq }, true);
  }

  // ---- applying ----

  /**
   * Apply entries (in seq order) to what is held: to the connections if above
   * `after.table`, to the roster if above `after.roster` (the snapshots'
   * seqs), to the closed list always (it is keyed by id).
   */
  private applyEntries(entries: ChangeEntry[], after: { table: number; roster: number }, closedToo: boolean): void {
    let tableChanged = false;
    let stale = false;
    const table = this.snapshot.table;
    let rows = table?.rows ?? [];
    let total = table?.total ?? 0;
    let roster = this.snapshot.roster;
    const closedAdded: ClosedConnection[] = [];
    for (const e of entries) {
      if (table && e.seq > after.table) {
        if (table.complete) {
          if (applyToSet(this.set, e, this.fixed)) tableChanged = true;
        } else {
          const filter = { ...this.fixed, ...table.filter };
          const r = applyToPage(rows, e, filter);
          if (r.rows !== rows) {
            if (r.rows.length < rows.length) total = Math.max(0, total - 1);
            rows = r.rows;
            tableChanged = true;
          } else if (e.kind === 'opened' && r.stale) {
            total += 1;
          }
          stale ||= r.stale;
        }
      }
      if (roster && e.seq > after.roster) roster = applyToRoster(roster, e);
      if (closedToo && e.kind === 'closed') closedAdded.push(e.closed);
    }
    const patch: Partial<MonitorSnapshot> = {};
    if (tableChanged && table) {
      patch.table = table.complete ? { ...table, rows: [...this.set.values()], total: this.set.size } : { ...table, rows, total };
    }
    if (roster !== this.snapshot.roster) patch.roster = roster;
    if (closedAdded.length > 0 && this.snapshot.closed) {
      const list = mergeClosed(this.snapshot.closed.list, closedAdded, this.snapshot.closed.capacity);
      if (list !== this.snapshot.closed.list) patch.closed = { ...this.snapshot.closed, list };
    }
    if (Object.keys(patch).length > 0) this.update({ ...patch, updatedAt: Date.now() });
    if (stale) this.markDirty(DIRTY_DELAY_MS);
  }

  /** Keep entries in the rolling log; forget those past ROLLING_MS or ROLLING_MAX. */
  private remember(entries: ChangeEntry[]): void {
    const at = Date.now();
    for (const entry of entries) this.log.push({ entry, at });
    let drop = Math.max(0, this.log.length - ROLLING_MAX);
    while (drop < this.log.length && this.log[drop].at < at - ROLLING_MS) drop++;
    if (drop > 0) this.log = this.log.slice(drop);
  }

  /** The logged entries above `seq` (newer than a snapshot), in seq order. */
  private after(seq: number): ChangeEntry[] {
    return this.log
      .map((l) => l.entry)
      .filter((e) => e.seq > seq)
      .sort((a, b) => a.seq - b.seq);
  }

  /** The cluster members of an answer: each node's state, whatever the answer's seq. */
  private noteCluster(summary: Summary, accepted: boolean): void {
    const info = summary.cluster;
    if (!info || typeof info !== 'object' || typeof info.node !== 'string') {
      if (accepted && this.snapshot.cluster && !summary.nodes) this.update({ cluster: null });
      return;
    }
    const now = Date.now();
    const before = this.reports.get(info.node);
    const state = info.state === 'degraded' ? 'degraded' : 'ok';
    this.reports.set(info.node, { state, since: before && before.state === state ? before.since : now, at: now });
    const degraded = [...this.reports.entries()]
      .filter(([, r]) => r.state === 'degraded' && r.at > now - CLUSTER_REPORT_MS)
      .map(([node, r]) => ({ node, since: r.since, at: r.at }))
      .sort((a, b) => a.node.localeCompare(b.node));
    const prev = this.snapshot.cluster;
    const nodes = accepted && Array.isArray(summary.nodes) ? summary.nodes : (prev?.nodes ?? []);
    const answeredBy = accepted ? info.node : (prev?.answeredBy ?? null);
    this.update({ cluster: { nodes, degraded, answeredBy } });
    this.armDegradedPoll();
  }

  /** While a node says degraded (and the stream is up: otherwise the slow poll runs), fetch the summary now and then. */
  private armDegradedPoll(): void {
    const want = !this.disposed && (this.snapshot.cluster?.degraded.length ?? 0) > 0 && (this.snapshot.mode === 'live' || this.snapshot.mode === 'starting');
    if (want && !this.degradedTimer) {
      const wait = DEGRADED_POLL_MS * (0.8 + 0.4 * Math.random());
      this.degradedTimer = setTimeout(() => {
        this.degradedTimer = null;
        this.fetchSummaryOnly();
        this.armDegradedPoll();
      }, wait);
    } else if (!want && this.degradedTimer) {
      clearTimeout(this.degradedTimer);
      this.degradedTimer = null;
    }
  }

  private acceptSummary(summary: Summary): void {
    const seq = typeof summary.seq === 'number' ? summary.seq : -Infinity;
    this.noteCluster(summary, seq >= this.summarySeq);
    // Equal seqs: the later one is newer (ages and hourly counts move without changes).
    if (seq < this.summarySeq) return;
    this.summarySeq = seq;
    this.update({
      summary,
      staleAfterHeartbeats: numberOr(summary.stale_after_heartbeats, this.snapshot.staleAfterHeartbeats),
      closeAfterHeartbeats: numberOr(summary.close_after_heartbeats, this.snapshot.closeAfterHeartbeats),
      updatedAt: Date.now(),
    });
  }

  // ---- fetching ----

  private begin(dataset: Dataset): Flight {
    this.flights.get(dataset)?.controller.abort();
    const flight = { controller: new AbortController() };
    this.flights.set(dataset, flight);
    this.update({ loading: true });
    return flight;
  }

  private end(dataset: Dataset, flight: Flight): void {
    if (this.flights.get(dataset) === flight) this.flights.delete(dataset);
    if (this.flights.size === 0) this.update({ loading: false });
  }

  private fetchAll(): void {
    if (this.disposed) return;
    if (this.wantTable) this.fetchTable(true);
    else this.fetchSummaryOnly();
    if (this.wantClosed) this.fetchClosed();
    if (this.wantRoster && !this.wantTable) this.fetchRoster();
  }

  private fetchSummaryOnly(): void {
    const flight = this.begin('summary');
    this.api.fetchSummary(flight.controller.signal).then(
      (summary) => {
        if (flight.controller.signal.aborted) return;
        this.acceptSummary(summary);
        this.update({ error: null });
        this.end('summary', flight);
      },
      (err: unknown) => this.failed('summary', flight, err),
    );
  }

  private failed(dataset: Dataset, flight: Flight, err: unknown): void {
    if (isAbort(err) || flight.controller.signal.aborted) return;
    if (dataset === 'closed') this.update({ closedError: toApiError(err) });
    else this.update({ error: toApiError(err) });
    if (dataset === 'table') this.updateTable({ loading: false });
    this.end(dataset, flight);
  }

  /** Fetch the table again in `delayMs`, or when the fetch on its way lands (unless `replace`: then in `delayMs` anyway). */
  private markDirty(delayMs: number, replace = false): void {
    if (this.disposed || !this.wantTable) return;
    if (this.flights.has('table') && !replace) {
      this.refetchAfterFlight = true;
      return;
    }
    if (this.dirtyTimer) return;
    this.dirtyTimer = setTimeout(() => {
      this.dirtyTimer = null;
      this.fetchTable();
    }, delayMs);
  }

  /** The request for the connections: all of them (small), or the page on screen (large). */
  private tableQuery(): StatsPageQuery {
    const table = this.snapshot.table!;
    if (!this.large) return { limit: SMALL_LIMIT, offset: 0, ...this.fixed };
    const filter = { ...table.filter, ...this.fixed };
    const q = filter.q?.trim();
    return {
      limit: table.pageSize,
      offset: (table.page - 1) * table.pageSize,
      ...(filter.type ? { type: filter.type } : {}),
      ...(filter.state ? { state: filter.state } : {}),
      ...(q ? { q } : {}),
    };
  }

  /** How many connections the table is about (what decides small or large). */
  private baseTotal(summary: Summary): number {
    if (this.fixed.type === 'display') return summary.display_connections;
    if (this.fixed.type === 'admin') return summary.admin_connections;
    return summary.total_connections;
  }

  private fetchTable(withRoster = false): void {
    if (this.dirtyTimer) clearTimeout(this.dirtyTimer);
    this.dirtyTimer = null;
    this.refetchAfterFlight = false;
    const flight = this.begin('table');
    const query = this.tableQuery();
    this.lastTableFetch = Date.now();
    this.updateTable({ loading: true });
    this.api.fetchStatsPage(query, flight.controller.signal).then(
      (stats) => {
        if (flight.controller.signal.aborted) return;
        this.tableAnswer(stats, flight, withRoster);
      },
      (err: unknown) => this.failed('table', flight, err),
    );
  }

  private tableAnswer(stats: Stats, flight: Flight, withRoster: boolean): void {
    const seq = typeof stats.seq === 'number' ? stats.seq : -Infinity;
    const summary = summaryOf(stats);
    this.acceptSummary(summary);
    const table = this.snapshot.table!;
    const connections = Array.isArray(stats.connections) ? stats.connections : [];
    const later = this.after(seq);
    let wasLarge = this.large;
    if (!stats.page) {
      // A responder without paging answered with everything: hold all of it.
      this.large = false;
      wasLarge = false;
      this.set = new Map(connections.filter((c) => matchesFilter(c, this.fixed)).map((c) => [c.id, c]));
    } else if (!this.large) {
      if (stats.page.total > connections.length && stats.page.total > SMALL_LIMIT) {
        // Too many to hold: from now on, only the page on screen.
        this.large = true;
      } else {
        this.set = new Map(connections.map((c) => [c.id, c]));
      }
    } else if (this.baseTotal(summary) <= SMALL_AGAIN) {
      this.large = false; // few enough again: hold them all from the next fetch
    }

    if (!wasLarge && this.large) {
      // Fetch the page on screen instead (the counts are taken already).
      this.end('table', flight);
      this.fetchTable(withRoster);
      return;
    }
    this.tableSeq = seq;
    const complete = !wasLarge;
    this.update({
      table: {
        ...table,
        rows: complete ? [...this.set.values()] : connections,
        complete,
        total: complete ? this.set.size : (stats.page?.total ?? connections.length),
        loading: false,
        fetchedAt: Date.now(),
      },
      error: null,
      updatedAt: Date.now(),
    });
    if (Array.isArray(stats.expected_displays)) {
      this.rosterSeq = seq;
      this.update({ roster: stats.expected_displays });
    } else if (summary.roster === null || (stats.page === undefined && stats.expected_displays === undefined)) {
      this.rosterSeq = seq;
      this.update({ roster: null });
    }
    // What changed since the snapshot (and arrived while it was on its way).
    this.applyEntries(later, { table: seq, roster: Array.isArray(stats.expected_displays) ? seq : Infinity }, false);
    this.end('table', flight);
    if (withRoster && this.wantRoster && summary.roster && !Array.isArray(stats.expected_displays)) this.fetchRoster();
    if (this.large !== wasLarge || this.refetchAfterFlight) this.markDirty(this.refetchAfterFlight ? DIRTY_DELAY_MS : 0);
  }

  /** The roster's names come only with the full stats answer: fetched on load and resync, then kept by changes. */
  private fetchRoster(): void {
    const flight = this.begin('roster');
    this.api.fetchStats(flight.controller.signal).then(
      (stats) => {
        if (flight.controller.signal.aborted) return;
        const seq = typeof stats.seq === 'number' ? stats.seq : -Infinity;
        this.acceptSummary(summaryOf(stats));
        this.rosterSeq = seq;
        this.update({ roster: Array.isArray(stats.expected_displays) ? stats.expected_displays : null, error: null, updatedAt: Date.now() });
        this.applyEntries(this.after(seq), { table: Infinity, roster: seq }, false);
        this.end('roster', flight);
      },
      (err: unknown) => this.failed('roster', flight, err),
    );
  }

  private fetchClosed(): void {
    const flight = this.begin('closed');
    this.api.fetchClosed(flight.controller.signal).then(
      (closed) => {
        if (flight.controller.signal.aborted) return;
        // Every close logged: the answer may come from a node that has not seen the newest yet.
        const added = this.log.flatMap((l) => (l.entry.kind === 'closed' ? [l.entry.closed] : []));
        const capacity = closed.capacity;
        this.update({
          closed: { list: mergeClosed(closed.closed, added, capacity), capacity },
          closedError: null,
          updatedAt: Date.now(),
        });
        this.end('closed', flight);
      },
      (err: unknown) => this.failed('closed', flight, err),
    );
  }
}
