import { useContext, useEffect, useEffectEvent, useMemo, useSyncExternalStore } from 'react';
import { SSEContext } from './context';
import { RESET_EVENT, type SSEClient, type SSEListener, type SSESnapshot } from './SSEClient';

export interface UseSSEResult extends SSESnapshot {
  /** Open the stream again (after disconnect() or an error), backoff reset. */
  connect: () => void;
  /** Close the stream, tell the server, stay Offline until connect(). */
  disconnect: () => void;
  /** Listen to an event name ("*" for all); returns the unsubscribe function. */
  subscribe: (type: string, listener: SSEListener) => () => void;
}

function useClient(): SSEClient {
  const client = useContext(SSEContext);
  if (!client) throw new Error('useSSE() must be used inside <SSEProvider>');
  return client;
}

/** The shared connection of this tab: its state, and the means to drive it. */
export function useSSE(): UseSSEResult {
  const client = useClient();
  const snapshot = useSyncExternalStore(client.onChange, client.getSnapshot, client.getSnapshot);
  return useMemo(
    () => ({ ...snapshot, connect: client.connect, disconnect: client.disconnect, subscribe: client.subscribe }),
    [snapshot, client],
  );
}

/**
 * Call `handler` for each event named `type` on the tab's stream ("*" for
 * all). The handler may change between renders without resubscribing.
 */
export function useSSEEvent(type: string, handler: SSEListener): void {
  const client = useClient();
  const onEvent = useEffectEvent(handler);
  useEffect(() => client.subscribe(type, (message) => onEvent(message)), [client, type]);
}

/**
 * Call `handler` when the server says events this tab missed while it was
 * disconnected are lost (`event: reset`: too old for its history, or the
 * server restarted). Whatever the component shows from events is incomplete
 * then: reload it (refetch, clear).
 */
export function useSSEReset(handler: SSEListener): void {
  useSSEEvent(RESET_EVENT, handler);
}
