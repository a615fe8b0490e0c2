import { useEffect, useState, useSyncExternalStore } from 'react';
import { fetchClosed, fetchStats, fetchStatsPage, fetchSummary } from '../api/client';
import { isProtocolEvent, RESET_EVENT, useSSE } from '../sse';
import { MonitorStore, type MonitorApi, type MonitorOptions, type MonitorSnapshot } from './store';

/** The routes the monitor reads. */
export const monitorApi: MonitorApi = { fetchSummary, fetchStats, fetchStatsPage, fetchClosed };

export interface UseMonitorResult extends MonitorSnapshot {
  store: MonitorStore;
}

/**
 * What a monitor page shows, kept right by the tab's stream (see store.ts):
 * `summary`, `changes` and `resync` of the pushed monitor, a fetch on every
 * new stream and on `reset`, a refresh of the counters after broadcast
 * events, and a slow poll only while the stream is down. Options are read
 * once.
 */
export function useMonitor(options: Omit<MonitorOptions, 'api'> & { api?: MonitorApi }): UseMonitorResult {
  const { state, monitor, subscribe } = useSSE();
  const [store] = useState(() => new MonitorStore({ api: monitorApi, ...options }));

  useEffect(() => {
    store.start();
    return () => store.dispose();
  }, [store]);

  useEffect(() => {
    const offs = [
      subscribe('connected', (m) => store.onConnected(m.data)),
      subscribe('summary', (m) => store.onSummary(m.data)),
      subscribe('changes', (m) => store.onChanges(m.data)),
      subscribe('resync', (m) => store.onResync(m.data)),
      subscribe(RESET_EVENT, () => store.onReset()),
      subscribe('*', (m) => {
        if (!isProtocolEvent(m.type)) store.onBroadcast();
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [store, subscribe]);

  useEffect(() => {
    store.setStream(state, monitor);
  }, [store, state, monitor]);

  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  return { ...snapshot, store };
}
