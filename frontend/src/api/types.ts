/** Shapes of the HTTP contract (docs/api.md). Fields the
 *  dashboard does not need are omitted; later additions are optional, so the
 *  monitor still works against a responder without them. */

export type ConnectionType = 'admin' | 'display';

export interface ConnectionInfo {
  /** Public id (never the disconnect token). */
  id: string;
  type: ConnectionType;
  /** Admin connections: the authenticated user. */
  user?: string;
  /** Display connections: the display name. */
  display?: string;
  connected_at: string;
  last_ping: string | null;
  /** Events written and flushed. */
  events_sent: number;
  /** "stale": an ack stream that missed 2 heartbeats' worth of acks. */
  state?: ConnectionState;
  /** The stream acknowledges pings (`?ack=1`). */
  ack?: boolean;
  /** The `?client=` id, if any. */
  client?: string | null;
  last_ack?: string | null;
  last_ack_rtt_ms?: number | null;
  events_queued?: number;
  events_dropped?: number;
  queue_depth?: number;
  bytes_sent?: number;
  /** The change sequence number of its last change (in `changes`). */
  seq?: number;
  /** In a cluster: the node that holds it. */
  node?: string;
}

export type ConnectionState = 'live' | 'stale';

/** Why a connection ended (the eight reasons of one process; a cluster adds node_lost). */
export const CLOSE_REASONS = [
  'client_closed',
  'write_failed',
  'disconnect_route',
  'superseded',
  'ack_timeout',
  'slow_consumer',
  'admin_closed',
  'shutdown',
] as const;

/** The reason only a cluster has: the node that held the connection stopped answering. */
export const CLUSTER_CLOSE_REASONS = ['node_lost'] as const;

export type CloseReason = (typeof CLOSE_REASONS)[number];

export interface ExpectedDisplay {
  display: string;
  state: 'connected' | 'missing' | 'stale';
  /** Public id of its live connection, null when missing. */
  id: string | null;
  /** When it was last connected (ISO); null if never since the responder started, or connected now. */
  last_seen?: string | null;
}

/** The roster's counts (summary), null without --displays. */
export interface RosterCounts {
  expected: number;
  connected: number;
  stale: number;
  missing: number;
}

/** `GET /stats?summary=1`, `event: summary`, and the counts of every stats answer. */
export interface Summary {
  total_connections: number;
  admin_connections: number;
  display_connections: number;
  average_connection_age_seconds: number;
  events_sent_last_hour: number;
  stale_connections?: number;
  closed_total?: number;
  /** Totals since start, every reason present (zeros included). */
  closed_by_reason?: Partial<Record<CloseReason, number>> & Record<string, number>;
  heartbeat_seconds?: number;
  /** Acked streams: `stale` after this many heartbeats without an ack, closed after `close_after_heartbeats`. */
  stale_after_heartbeats?: number;
  close_after_heartbeats?: number;
  roster?: RosterCounts | null;
  /** The change sequence number at the moment of the snapshot. */
  seq?: number;
  timestamp?: string;
  /** In a cluster (`--cluster`): every node that said it is alive, by name. */
  nodes?: ClusterNode[];
  /** In a cluster: the node that answered, and whether it reaches Redis. */
  cluster?: ClusterInfo;
}

/** One node of a cluster, as stats lists it. */
export interface ClusterNode {
  node: string;
  /** up; lost: it stopped answering (listed for an hour). */
  state: 'up' | 'lost' | string;
  connections: number;
  last_seen: string | null;
}

/** `data.cluster`: the node that answered; `degraded` while it cannot reach Redis. */
export interface ClusterInfo {
  backend?: string;
  node: string;
  state: 'ok' | 'degraded' | string;
}

export interface Stats extends Summary {
  connections: ConnectionInfo[];
  active_connection_ids?: string[];
  connection_details?: {
    by_type?: Partial<Record<ConnectionType, ConnectionInfo[]>>;
  };
  /** Only when the responder runs with --displays FILE; sorted by name. */
  expected_displays?: ExpectedDisplay[];
  /** A paged answer (`?limit=&offset=`): which page of how many matching connections. */
  page?: { offset: number; limit: number; total: number };
}

/** Query of a paged stats request. */
export interface StatsPageQuery {
  limit: number;
  offset: number;
  type?: ConnectionType;
  state?: ConnectionState;
  q?: string;
}

/** `event: changes` of the pushed monitor; entries apply in the order of their `seq`. */
export interface ChangesEvent {
  seq: number;
  opened?: ConnectionInfo[];
  closed?: ClosedConnection[];
  updated?: ConnectionInfo[];
  timestamp?: string;
}

/** `event: resync`: refetch what the page shows. */
export interface ResyncEvent {
  reason?: 'overflow' | 'behind' | string;
  message?: string;
  timestamp?: string;
}

/** One entry of GET {prefix}/closed. */
export interface ClosedConnection {
  id: string;
  type: ConnectionType;
  user?: string;
  display?: string;
  client?: string | null;
  opened_at: string;
  closed_at: string;
  duration_seconds: number;
  events_sent: number;
  bytes_sent?: number;
  reason: CloseReason | string;
  seq?: number;
  /** In a cluster: the node that held it. */
  node?: string;
}

export interface ClosedList {
  capacity: number;
  /** Newest first. */
  closed: ClosedConnection[];
  totals?: Record<string, number>;
}

export interface CloseConnectionResult {
  id: string;
  closed: boolean;
}

/** POST /publish. `display` names one display (target display), `user` one user (target admin). */
export interface PublishRequest {
  event: string;
  data: unknown;
  target: 'admin' | 'display' | 'all';
  display?: string;
  user?: string;
}

export interface PublishResult {
  event: string;
  id: number | string;
  connections_notified: number;
}

export interface TestEventResult {
  event_type: string;
  message: string;
  connections_notified: number;
  broadcast_at: string;
}

export interface SuccessEnvelope<T> {
  success: true;
  data: T;
  message?: string;
}

export interface ErrorEnvelope {
  success: false;
  error?: string;
  message?: string;
  errors?: string[];
  error_info?: { code?: string; message?: string };
}
