import { API_PREFIX } from '../config';
import type {
  CloseConnectionResult,
  ClosedList,
  ErrorEnvelope,
  PublishRequest,
  PublishResult,
  Stats,
  StatsPageQuery,
  SuccessEnvelope,
  Summary,
  TestEventResult,
} from './types';

/** A failed API call, with the server's own message when it sent one. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | null;

  constructor(message: string, status: number, code: string | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

function errorMessage(body: ErrorEnvelope): string | null {
  return body.error_info?.message || body.error || body.message || body.errors?.[0] || null;
}

/**
 * Call a route under the API prefix and unwrap the JSON envelope. Throws
 * ApiError with the server's message on `success: false`, with the HTTP
 * status on a non-JSON answer (e.g. a proxy error page), and with the
 * network error's text when the request never completed.
 */
export async function apiRequest<T>(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${API_PREFIX}${path}`, {
      method: init.method ?? 'GET',
      headers: init.body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: init.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(`Network error: ${err instanceof Error ? err.message : String(err)}`, 0);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!body || typeof body !== 'object') {
    throw new ApiError(`HTTP ${response.status} ${response.statusText}`.trim() + ' (no JSON in the answer)', response.status);
  }
  const envelope = body as SuccessEnvelope<T> | ErrorEnvelope;
  if (!response.ok || envelope.success !== true) {
    const failed = envelope as ErrorEnvelope;
    throw new ApiError(
      errorMessage(failed) ?? `HTTP ${response.status} ${response.statusText}`.trim(),
      response.status,
      failed.error_info?.code ?? null,
    );
  }
  return envelope.data;
}

/** GET {prefix}/stats: the full answer (every connection). */
export function fetchStats(signal?: AbortSignal): Promise<Stats> {
  return apiRequest<Stats>('/stats', { signal });
}

/** GET {prefix}/stats?limit=&offset=[&type=&state=&q=]: the counts and one page of connections, newest first. */
export function fetchStatsPage(query: StatsPageQuery, signal?: AbortSignal): Promise<Stats> {
  const params = new URLSearchParams({ limit: String(query.limit), offset: String(query.offset) });
  if (query.type) params.set('type', query.type);
  if (query.state) params.set('state', query.state);
  if (query.q) params.set('q', query.q);
  return apiRequest<Stats>(`/stats?${params.toString()}`, { signal });
}

/** GET {prefix}/stats?summary=1: the counts only. */
export function fetchSummary(signal?: AbortSignal): Promise<Summary> {
  return apiRequest<Summary>('/stats?summary=1', { signal });
}

/** POST {prefix}/publish: send an event to displays, admins or both. */
export function publishEvent(body: PublishRequest): Promise<PublishResult> {
  return apiRequest<PublishResult>('/publish', { method: 'POST', body });
}

export function sendTestEvent(body: { type?: string; message?: string }): Promise<TestEventResult> {
  return apiRequest<TestEventResult>('/test', { method: 'POST', body });
}

/** GET {prefix}/closed: the last closed connections, newest first, with reasons. */
export async function fetchClosed(signal?: AbortSignal): Promise<ClosedList> {
  const data = await apiRequest<Partial<ClosedList> | null>('/closed', { signal });
  return {
    capacity: typeof data?.capacity === 'number' ? data.capacity : 0,
    closed: Array.isArray(data?.closed) ? data.closed : [],
    totals: data?.totals && typeof data.totals === 'object' ? data.totals : undefined,
  };
}

/** DELETE {prefix}/connections/<public id>: close a live connection (reason admin_closed). */
export function closeConnection(publicId: string): Promise<CloseConnectionResult> {
  return apiRequest<CloseConnectionResult>(`/connections/${encodeURIComponent(publicId)}`, { method: 'DELETE' });
}
