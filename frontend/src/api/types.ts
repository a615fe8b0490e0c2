/** Shapes of ../shared/API.md and docs/api-additions.md. Fields the dashboard does
 *  not need are omitted; the issue-5 additions are optional, so the monitor
 *  still works against a responder without them. */

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
}

export type ConnectionState = 'live' | 'stale';

/** Why a connection ended (the eight reasons of the contract). */
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

export type CloseReason = (typeof CLOSE_REASONS)[number];

export interface ExpectedDisplay {
  display: string;
  state: 'connected' | 'missing' | 'stale';
  /** Public id of its live connection, null when missing. */
  id: string | null;
}

export interface Stats {
  total_connections: number;
  admin_connections: number;
  display_connections: number;
  average_connection_age_seconds: number;
  events_sent_last_hour: number;
  active_connection_ids: string[];
  connections: ConnectionInfo[];
  connection_details?: {
    by_type?: Partial<Record<ConnectionType, ConnectionInfo[]>>;
  };
  stale_connections?: number;
  closed_total?: number;
  /** Totals since start, every reason present (zeros included). */
  closed_by_reason?: Partial<Record<CloseReason, number>> & Record<string, number>;
  heartbeat_seconds?: number;
  /** Only when the responder runs with --displays FILE; sorted by name. */
  expected_displays?: ExpectedDisplay[];
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
