export { SSEProvider } from './SSEProvider';
export { useSSE, useSSEEvent, useSSEReset } from './useSSE';
export type { UseSSEResult } from './useSSE';
export { SSEClient, sendDisconnect, sendAck, withQuery, compareEventIds, ANY_EVENT, BUILTIN_EVENT_TYPES, RESET_EVENT } from './SSEClient';
export { TabClientId, tabClientId, randomClientId, CLIENT_ID_RE } from './clientId';
export type { ClientIdSource, TabClientIdOptions } from './clientId';
export type { SSEMessage, SSESnapshot, SSEState, SSEListener, ClosedReason } from './SSEClient';
export { backoffDelay, DEFAULT_BACKOFF } from './backoff';
export type { BackoffOptions } from './backoff';
