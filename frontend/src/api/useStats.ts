import { useCallback, useEffect, useRef, useState } from 'react';
import { RESET_EVENT, useSSEEvent } from '../sse';
import { ApiError, fetchStats } from './client';
import type { Stats } from './types';

export interface UseStatsResult {
  stats: Stats | null;
  error: ApiError | null;
  loading: boolean;
  updatedAt: number | null;
  refresh: () => void;
}

/**
 * GET {prefix}/stats, the source of truth of the monitor. Fetched on mount,
 * on refresh(), every `intervalMs` while `autoRefresh`, and shortly after
 * any event other than a ping arrives on the tab's stream (our own
 * `connected`, test events, published events: each changes what stats say),
 * and at once on `reset` (the tab missed events that are gone: reload).
 * The latest request wins; an older answer is dropped.
 */
export function useStats({ autoRefresh = true, intervalMs = 5_000, eventDebounceMs = 150 } = {}): UseStatsResult {
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(false);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const inflight = useRef<AbortController | null>(null);
  const debounce = useRef<ReturnType<typeof setTimeout> | null>(null);

  const refresh = useCallback(() => {
    inflight.current?.abort();
    const controller = new AbortController();
    inflight.current = controller;
    setLoading(true);
    fetchStats(controller.signal).then(
      (data) => {
        if (controller.signal.aborted) return;
        setStats(data);
        setError(null);
        setUpdatedAt(Date.now());
        setLoading(false);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setError(err instanceof ApiError ? err : new ApiError(String(err), 0));
        setLoading(false);
      },
    );
  }, []);

  useEffect(() => {
    const first = setTimeout(refresh, 0);
    return () => {
      clearTimeout(first);
      inflight.current?.abort();
      if (debounce.current) clearTimeout(debounce.current);
    };
  }, [refresh]);

  useEffect(() => {
    if (!autoRefresh) return;
    const timer = setInterval(refresh, intervalMs);
    return () => clearInterval(timer);
  }, [autoRefresh, intervalMs, refresh]);

  useSSEEvent('*', (message) => {
    if (message.type === 'ping') return;
    if (debounce.current) clearTimeout(debounce.current);
    if (message.type === RESET_EVENT) {
      // Events were missed and are gone: reload now. The monitor's closed
      // list follows (it is refetched with every stats update).
      debounce.current = null;
      refresh();
      return;
    }
    debounce.current = setTimeout(() => {
      debounce.current = null;
      refresh();
    }, eventDebounceMs);
  });

  return { stats, error, loading, updatedAt, refresh };
}
