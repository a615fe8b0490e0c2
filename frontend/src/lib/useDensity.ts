import { useSyncExternalStore } from 'react';

/** Row density of the monitor's tables: compact (one line a row, the default) or comfortable. */
export type Density = 'compact' | 'comfortable';

const KEY = 'sse-fcgi.density';
const listeners = new Set<() => void>();

function read(): Density {
  try {
    return localStorage.getItem(KEY) === 'comfortable' ? 'comfortable' : 'compact';
  } catch {
    return 'compact';
  }
}

let current: Density | null = null;

function get(): Density {
  current ??= read();
  return current;
}

function set(density: Density): void {
  current = density;
  try {
    localStorage.setItem(KEY, density);
  } catch {
    // Privacy mode: the choice lasts as long as the page.
  }
  for (const l of [...listeners]) l();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The density every table of the page shares, kept in localStorage. */
export function useDensity(): [Density, (d: Density) => void] {
  return [useSyncExternalStore(subscribe, get, get), set];
}
