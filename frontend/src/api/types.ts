/** Shapes of ../shared/API.md. Fields the dashboard does not need are omitted. */

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
  events_sent: number;
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
