import type { SortState } from '../lib/table';

interface Props<K extends string> {
  label: string;
  sortKey: K;
  sort: SortState<K>;
  onSort: (sort: SortState<K>) => void;
  className?: string;
  title?: string;
}

/** A column header that sorts the table: click toggles the direction. */
export function SortHeader<K extends string>({ label, sortKey, sort, onSort, className, title }: Props<K>) {
  const active = sort.key === sortKey;
  const ariaSort = active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none';
  return (
    <th scope="col" className={className} aria-sort={ariaSort} title={title}>
      <button
        type="button"
        className={`btn btn-link btn-sm p-0 text-reset text-decoration-none fw-semibold sort-button${active ? ' active' : ''}`}
        onClick={() => onSort({ key: sortKey, dir: active && sort.dir === 'asc' ? 'desc' : 'asc' })}
        data-sort-key={sortKey}
      >
        {label}
        <span className="sort-mark" aria-hidden="true">
          {active ? (sort.dir === 'asc' ? '▲' : '▼') : '↕'}
        </span>
      </button>
    </th>
  );
}

