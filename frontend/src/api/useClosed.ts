import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, fetchClosed } from './client';
import type { ClosedList } from './types';

export interface UseClosedResult {
  closed: ClosedList | null;
  error: ApiError | null;
  refresh: () => void;
}

/**
 * GET {prefix}/closed: the ring of recently closed connections. Fetched on
 * mount and again whenever `trigger` changes (the monitor passes the time of
 * its last stats update, so both tables move together). The latest request
 * wins.
 */
export function useClosed(trigger: unknown): UseClosedResult {
  const [closed, setClosed] = useState<ClosedList | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const inflight = useRef<AbortController | null>(null);

  const refresh = useCallback(() => {
    inflight.current?.abort();
    const controller = new AbortController();
    inflight.current = controller;
    fetchClosed(controller.signal).then(
      (data) => {
        if (controller.signal.aborted) return;
        setClosed(data);
        setError(null);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setError(err instanceof ApiError ? err : new ApiError(String(err), 0));
      },
    );
  }, []);

  useEffect(() => {
    const timer = setTimeout(refresh, 0);
    return () => clearTimeout(timer);
  }, [refresh, trigger]);

  useEffect(() => () => inflight.current?.abort(), []);

  return { closed, error, refresh };
}
