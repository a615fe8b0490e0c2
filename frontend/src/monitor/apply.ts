/**
 * How the pushed monitor's `changes` apply to what the page holds: pure
 * functions, no timers, no fetches (MonitorStore drives them).
 */
import type {
  ChangesEvent,
  ClosedConnection,
  ConnectionInfo,
  ConnectionState,
  ConnectionType,
  ExpectedDisplay,
} from '../api/types';
import { connectionName } from '../lib/table';

/** Which connections a table shows: the server's `type`, `state` and `q` of a paged stats request. */
export interface ConnectionFilter {
  type?: ConnectionType;
  state?: ConnectionState;
  /** Case-insensitive substring of the user, display, public id or client id. */
  q?: string;
}

/** One registry change, in the order of its `seq`. */
export type ChangeEntry =
  | { kind: 'opened' | 'updated'; seq: number; connection: ConnectionInfo }
  | { kind: 'closed'; seq: number; closed: ClosedConnection };

/** Does `c` pass the filter? The same rule as the server's (`q` on user, display, public id, client id). */
export function matchesFilter(c: { type: string; user?: string; display?: string; id: string; client?: string | null; state?: string }, f: ConnectionFilter): boolean {
  if (f.type && c.type !== f.type) return false;
  if (f.state && (c.state ?? 'live') !== f.state) return false;
  const q = f.q?.trim().toLowerCase();
  if (!q) return true;
  return [connectionName(c), c.id, c.client ?? ''].some((v) => v.toLowerCase().includes(q));
}

/**
 * The entries of a `changes` event in the order they happened (by `seq`,
 * across its three lists). An entry without a `seq` of its own takes the
 * event's.
 */
export function changeEntries(ev: ChangesEvent): ChangeEntry[] {
  const out: ChangeEntry[] = [];
  const seqOf = (x: { seq?: number }) => (typeof x.seq === 'number' ? x.seq : ev.seq);
  for (const c of ev.opened ?? []) out.push({ kind: 'opened', seq: seqOf(c), connection: c });
  for (const c of ev.updated ?? []) out.push({ kind: 'updated', seq: seqOf(c), connection: c });
  for (const c of ev.closed ?? []) out.push({ kind: 'closed', seq: seqOf(c), closed: c });
  return out.sort((a, b) => a.seq - b.seq);
}

/** The id an entry is about. */
export function entryId(e: ChangeEntry): string {
  return e.kind === 'closed' ? e.closed.id : e.connection.id;
}

/**
 * Apply one entry to a complete set of connections (every connection that
 * passes `fixed`), in place. Returns whether the set changed.
 */
export function applyToSet(set: Map<string, ConnectionInfo>, e: ChangeEntry, fixed: ConnectionFilter): boolean {
  if (e.kind === 'closed') return set.delete(e.closed.id);
  if (matchesFilter(e.connection, fixed)) {
    set.set(e.connection.id, e.connection);
    return true;
  }
  return set.delete(e.connection.id);
}

/**
 * Apply one entry to a page of the server's list (newest first, filtered by
 * `filter`), in place where that can be done exactly: a closed or updated
 * row is removed or replaced. Returns whether the page must be fetched
 * again: rows before it or after it moved (an opening, a close elsewhere,
 * a row that left the page).
 */
export function applyToPage(rows: ConnectionInfo[], e: ChangeEntry, filter: ConnectionFilter): { rows: ConnectionInfo[]; stale: boolean } {
  const id = entryId(e);
  const at = rows.findIndex((r) => r.id === id);
  if (e.kind === 'closed') {
    if (at < 0) return { rows, stale: matchesFilter({ ...e.closed, state: filter.state }, filter) };
    return { rows: rows.filter((_, i) => i !== at), stale: true };
  }
  const passes = matchesFilter(e.connection, filter);
  if (e.kind === 'opened') return { rows, stale: passes };
  if (at < 0) return { rows, stale: passes };
  if (passes) return { rows: rows.map((r, i) => (i === at ? e.connection : r)), stale: false };
  return { rows: rows.filter((_, i) => i !== at), stale: true };
}

/** Apply one entry to the display roster: a display of the list that opened, changed state or closed. */
export function applyToRoster(roster: ExpectedDisplay[], e: ChangeEntry): ExpectedDisplay[] {
  if (e.kind === 'closed') {
    if (e.closed.type !== 'display') return roster;
    const i = roster.findIndex((d) => d.id === e.closed.id);
    if (i < 0) return roster;
    return roster.map((d, j) => (j === i ? { ...d, state: 'missing', id: null, last_seen: e.closed.closed_at } : d));
  }
  const c = e.connection;
  if (c.type !== 'display' || !c.display) return roster;
  const i = roster.findIndex((d) => d.display === c.display);
  if (i < 0) return roster;
  // An update of a stream that is no longer the display's (replaced meanwhile) changes nothing.
  if (e.kind === 'updated' && roster[i].id !== null && roster[i].id !== c.id) return roster;
  const state: ExpectedDisplay['state'] = c.state === 'stale' ? 'stale' : 'connected';
  return roster.map((d, j) => (j === i ? { ...d, state, id: c.id, last_seen: null } : d));
}

/** Newest first. */
function byClosedDesc(a: ClosedConnection, b: ClosedConnection): number {
  return Date.parse(b.closed_at) - Date.parse(a.closed_at) || (b.seq ?? 0) - (a.seq ?? 0);
}

/**
 * One close as two answers give it: `a`, with the members only `b` has (a
 * cluster node's `/closed` lacks `node` and `seq`, which its pushes carry).
 * `a` itself when `b` adds nothing.
 */
function filledIn(a: ClosedConnection, b: ClosedConnection): ClosedConnection {
  const extra = Object.entries(b).filter(([k, v]) => v !== undefined && v !== null && (a as unknown as Record<string, unknown>)[k] === undefined);
  return extra.length > 0 ? { ...a, ...Object.fromEntries(extra) } : a;
}

/**
 * The closed list with `more` added, one entry per id (the newest close of
 * it: a connection of a node that was lost and came back may close twice),
 * newest first, at most `capacity` long (the responder's ring). Returns
 * `list` itself when nothing changes.
 */
export function mergeClosed(list: ClosedConnection[], more: ClosedConnection[], capacity: number): ClosedConnection[] {
  const byId = new Map<string, ClosedConnection>();
  for (const c of [...list, ...more]) {
    const had = byId.get(c.id);
    if (!had || byClosedDesc(c, had) < 0) byId.set(c.id, c);
    else if (had.closed_at === c.closed_at) byId.set(c.id, filledIn(had, c));
  }
  if (byId.size === list.length && list.every((c) => byId.get(c.id) === c)) return list;
  return [...byId.values()].sort(byClosedDesc).slice(0, capacity > 0 ? capacity : undefined);
}
