import { createContext } from 'react';
import type { SSEClient } from './SSEClient';

/** The tab's one SSEClient, provided by <SSEProvider>. */
export const SSEContext = createContext<SSEClient | null>(null);
