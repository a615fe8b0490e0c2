/** Sorting and paging helpers of the monitor's tables. */

/** The user of an admin connection, the name of a display. */
export function connectionName(c: { type: string; user?: string; display?: string }): string {
  return (c.type === 'display' ? c.display : c.user) ?? '';
}

export type SortDir = 'asc' | 'desc';

export interface SortState<K extends string> {
  key: K;
  dir: SortDir;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Compare two values for sorting (text naturally: "screen-3" before "screen-12"): nulls last whatever the direction. */
export function compareValues(a: string | number | null, b: string | number | null, dir: SortDir): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  const r = typeof a === 'number' && typeof b === 'number' ? a - b : collator.compare(String(a), String(b));
  return dir === 'asc' ? r : -r;
}

/** The slice of `items` on `page` (1-based, clamped), and the page count. */
export function paginate<T>(items: T[], page: number, pageSize: number): { rows: T[]; page: number; pageCount: number; first: number } {
  const pageCount = Math.max(1, Math.ceil(items.length / pageSize));
  const current = Math.min(Math.max(1, page), pageCount);
  const first = (current - 1) * pageSize;
  return { rows: items.slice(first, first + pageSize), page: current, pageCount, first };
}

/** "51–100 of 500": which of `total` rows a non-empty page of `paginate` shows. */
export function pageRange(page: { first: number; rows: readonly unknown[] }, total: number): string {
  return `${page.first + 1}–${page.first + page.rows.length} of ${total}`;
}
