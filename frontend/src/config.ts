/**
 * Build-time configuration. The API prefix comes from VITE_API_PREFIX
 * (default "/api/v1/events"); the dashboard is served from the same origin as
 * the API, so every URL here is origin-relative.
 */
const rawPrefix = import.meta.env.VITE_API_PREFIX || '/api/v1/events';

/** API prefix without a trailing slash. */
export const API_PREFIX = rawPrefix.replace(/\/+$/, '');

export const ADMIN_STREAM_URL = `${API_PREFIX}/admin`;
export const DISCONNECT_URL = `${API_PREFIX}/disconnect`;
/** Where ping sequence numbers are echoed (acknowledged liveness). */
export const ACK_URL = `${API_PREFIX}/ack`;

/** Display names allowed by the responder: 1-64 of [A-Za-z0-9._-]. */
export const DISPLAY_NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

export function displayStreamUrl(name: string): string {
  return `${API_PREFIX}/display/${encodeURIComponent(name)}`;
}

/** Event names a kiosk listens to besides connected/ping/shutdown. */
export const DISPLAY_EVENT_TYPES: string[] = (
  import.meta.env.VITE_DISPLAY_EVENTS || 'message,announcement,alert,display.update,display.message,display.reload'
)
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
