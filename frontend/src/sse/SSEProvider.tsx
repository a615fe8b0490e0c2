import { useEffect, useState, type ReactNode } from 'react';
import { SSEClient, type SSEClientOptions } from './SSEClient';
import { SSEContext } from './context';

export interface SSEProviderProps extends SSEClientOptions {
  children?: ReactNode;
}

/**
 * Owns the one EventSource of this part of the page. Mount it once per tab
 * around everything that needs events (give it a `key` of the URL if the URL
 * can change); every useSSE() below shares its stream.
 *
 * On unmount the stream is closed and the server told at once (beacon).
 */
export function SSEProvider({ children, ...options }: SSEProviderProps) {
  // Options are read once: a new URL needs a new provider (use `key`).
  const [client] = useState(() => new SSEClient(options));
  useEffect(() => {
    client.start();
    return () => client.dispose();
  }, [client]);
  return <SSEContext.Provider value={client}>{children}</SSEContext.Provider>;
}
