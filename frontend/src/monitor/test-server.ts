/**
 * A stand-in for the responder's monitor routes in page tests: GET /stats
 * (full, `?summary=1`, paged with limit/offset/type/state/q, newest first,
 * every answer with the `seq` of its snapshot), GET /closed, DELETE
 * /connections/<id>, POST /publish. Its registry changes through open(),
 * close() and update(), each of which returns the `changes` event the
 * pushed monitor would send.
 */
import type { ChangesEvent, ClosedConnection, ConnectionInfo, ExpectedDisplay, Summary } from '../api/types';
import { matchesFilter } from './apply';

// Every reason, node_lost included (one process counts it too, always 0).
const REASONS = ['client_closed', 'write_failed', 'disconnect_route', 'superseded', 'ack_timeout', 'slow_consumer', 'admin_closed', 'shutdown', 'node_lost'];

export interface ServerOptions {
  /** Answer like a responder without paging, seq or summary (every stats request gets the full answer). */
  legacy?: boolean;
  /** Display names of --displays; none: no roster. */
  displays?: string[];
  heartbeatSeconds?: number;
  staleAfter?: number;
  closeAfter?: number;
  /** A cluster of these nodes (`nodes` and `cluster` in every answer); none: one process. */
  nodes?: string[];
}

export class FakeMonitorServer {
  connections: ConnectionInfo[] = [];
  closed: ClosedConnection[] = [];
  seq = 100;
  lastSeen = new Map<string, string | null>();
  /** Every request: method and URL. */
  readonly requests: { method: string; url: string; body?: unknown }[] = [];
  /** Set to make the next stats requests fail with this status and message. */
  failStats: { status: number; body: unknown } | null = null;
  /** POST /publish answers with this (default: notified 1). */
  publishAnswer: { status: number; body: unknown } | null = null;
  /** Stats answers wait for this promise, if set (to race them with pushes). */
  hold: Promise<void> | null = null;
  /** Cluster: nodes that stopped answering. */
  readonly lost = new Set<string>();
  /** Cluster: the node that answers (round robin would change it), and whether it reaches Redis. */
  answering = 'node-1';
  degraded = false;
  private readonly options: ServerOptions;

  constructor(options: ServerOptions = {}) {
    this.options = options;
    for (const d of options.displays ?? []) this.lastSeen.set(d, null);
  }

  /** Add connections without changes events (the state before the page loads). */
  seed(connections: ConnectionInfo[]): void {
    this.connections.push(...connections);
  }

  summary(): Summary {
    const by = (t: string) => this.connections.filter((c) => c.type === t).length;
    const closedByReason = Object.fromEntries(REASONS.map((r) => [r, this.closed.filter((c) => c.reason === r).length]));
    const roster = this.roster();
    return {
      total_connections: this.connections.length,
      admin_connections: by('admin'),
      display_connections: by('display'),
      stale_connections: this.connections.filter((c) => c.state === 'stale').length,
      average_connection_age_seconds: 12,
      events_sent_last_hour: 7,
      closed_by_reason: closedByReason,
      closed_total: this.closed.length,
      heartbeat_seconds: this.options.heartbeatSeconds ?? 5,
      stale_after_heartbeats: this.options.staleAfter ?? 2,
      close_after_heartbeats: this.options.closeAfter ?? 3,
      roster: roster
        ? {
            expected: roster.length,
            connected: roster.filter((d) => d.state === 'connected').length,
            stale: roster.filter((d) => d.state === 'stale').length,
            missing: roster.filter((d) => d.state === 'missing').length,
          }
        : null,
      seq: this.seq,
      ...(this.options.nodes
        ? {
            nodes: this.options.nodes.map((node) => ({
              node,
              state: this.lost.has(node) ? 'lost' : 'up',
              connections: this.connections.filter((c) => c.node === node).length,
              last_seen: new Date(Date.now() - (this.lost.has(node) ? 65_000 : 300)).toISOString(),
            })),
            cluster: { backend: 'redis', node: this.answering, state: this.degraded ? 'degraded' : 'ok' },
          }
        : {}),
    };
  }

  /** Cluster: a node stops answering; its connections close as node_lost, one entry (and seq) each. */
  loseNode(node: string): ChangesEvent {
    this.lost.add(node);
    const gone = this.connections.filter((c) => c.node === node).map((c) => this.close(c.id, 'node_lost').closed![0]);
    return { seq: this.seq, opened: [], closed: gone, updated: [] };
  }

  roster(): ExpectedDisplay[] | null {
    if (!this.options.displays) return null;
    return [...this.options.displays].sort().map((display) => {
      const c = this.connections.find((x) => x.type === 'display' && x.display === display);
      if (!c) return { display, state: 'missing' as const, id: null, last_seen: this.lastSeen.get(display) ?? null };
      return { display, state: c.state === 'stale' ? ('stale' as const) : ('connected' as const), id: c.id, last_seen: null };
    });
  }

  open(...connections: ConnectionInfo[]): ChangesEvent {
    const opened = connections.map((c) => ({ ...c, seq: ++this.seq }));
    this.connections.push(...opened);
    return { seq: this.seq, opened, closed: [], updated: [] };
  }

  close(id: string, reason = 'client_closed'): ChangesEvent {
    const c = this.connections.find((x) => x.id === id);
    if (!c) throw new Error(`no connection ${id}`);
    this.connections = this.connections.filter((x) => x.id !== id);
    const closedAt = new Date().toISOString();
    const entry: ClosedConnection = {
      id: c.id,
      type: c.type,
      ...(c.node ? { node: c.node } : {}),
      ...(c.type === 'display' ? { display: c.display } : { user: c.user }),
      client: c.client ?? null,
      opened_at: c.connected_at,
      closed_at: closedAt,
      duration_seconds: 5,
      events_sent: c.events_sent,
      bytes_sent: c.bytes_sent ?? 0,
      reason,
      seq: ++this.seq,
    };
    this.closed.unshift(entry);
    if (c.type === 'display' && c.display && this.lastSeen.has(c.display)) this.lastSeen.set(c.display, closedAt);
    return { seq: this.seq, opened: [], closed: [entry], updated: [] };
  }

  update(id: string, patch: Partial<ConnectionInfo>): ChangesEvent {
    const i = this.connections.findIndex((x) => x.id === id);
    const c = { ...this.connections[i], ...patch, seq: ++this.seq };
    this.connections[i] = c;
    return { seq: this.seq, opened: [], closed: [], updated: [c] };
  }

  /** The fetch() of the page. */
  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input), 'http://localhost');
    const method = init?.method ?? 'GET';
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    this.requests.push({ method, url: url.pathname + url.search, body });
    const json = (status: number, data: unknown) =>
      new Response(JSON.stringify(status < 400 ? { success: true, data } : data), { status, headers: { 'Content-Type': 'application/json' } });
    const path = url.pathname.replace(/^\/api\/v1\/events/, '');
    if (path === '/stats') {
      if (this.hold) await this.hold;
      if (this.failStats) return json(this.failStats.status, this.failStats.body);
      return json(200, this.stats(url.searchParams));
    }
    if (path === '/closed') return json(200, { capacity: 500, closed: this.closed, totals: {}, closed_total: this.closed.length });
    if (path.startsWith('/connections/') && method === 'DELETE') {
      const id = decodeURIComponent(path.slice('/connections/'.length));
      return json(200, { id, closed: this.connections.some((c) => c.id === id) });
    }
    if (path === '/publish' && method === 'POST') {
      const a = this.publishAnswer ?? { status: 200, body: { event: (body as { event: string }).event, id: 1795958890999, connections_notified: 1 } };
      return json(a.status, a.body);
    }
    return json(200, {});
  };

  /** How many requests went to a path (e.g. '/stats'). */
  count(path: string): number {
    return this.requests.filter((r) => r.url.replace(/\?.*$/, '').endsWith(path)).length;
  }

  private stats(params: URLSearchParams): unknown {
    const summary = this.summary();
    const newestFirst = [...this.connections].reverse();
    const full = () => ({
      ...summary,
      active_connection_ids: this.connections.map((c) => c.id),
      connections: this.connections,
      ...(this.options.displays ? { expected_displays: this.roster() } : {}),
    });
    if (this.options.legacy) {
      const { seq: _seq, roster: _roster, stale_after_heartbeats: _s, close_after_heartbeats: _c, ...old } = full();
      void _seq;
      void _roster;
      void _s;
      void _c;
      return old;
    }
    if (params.get('summary') === '1') return summary;
    if (!params.has('limit')) return full();
    const limit = Number(params.get('limit'));
    const offset = Number(params.get('offset') ?? 0);
    const filter = {
      type: (params.get('type') ?? undefined) as 'admin' | 'display' | undefined,
      state: (params.get('state') ?? undefined) as 'live' | 'stale' | undefined,
      q: params.get('q') ?? undefined,
    };
    const matching = newestFirst.filter((c) => matchesFilter(c, filter));
    return { ...summary, connections: matching.slice(offset, offset + limit), page: { offset, limit, total: matching.length } };
  }
}
