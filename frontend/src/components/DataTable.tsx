import type { ReactNode } from 'react';
import Table from 'react-bootstrap/Table';

interface Props {
  /** The table's accessible name. */
  label: string;
  /** The visually hidden caption; the label when not given. */
  caption?: string;
  /** Bootstrap's compact table. */
  size?: 'sm';
  /** More classes of the table. */
  className?: string;
  /** The rows are being fetched again (aria-busy). */
  busy?: boolean;
  /** The header row's cells. */
  head: ReactNode;
  /** How many columns the table has: what the empty row spans. */
  columns: number;
  /** When not null, the body is this one message across the table instead of `children`. */
  empty?: string | null;
  /** The body rows. */
  children?: ReactNode;
}

/**
 * The shell of the monitor's tables: responsive, hover rows, a hidden
 * caption, a light header row, and a full-width row saying why the body is
 * empty.
 */
export function DataTable({ label, caption = label, size, className, busy, head, columns, empty, children }: Props) {
  return (
    <Table
      responsive
      hover
      size={size}
      className={`align-middle mb-0 connections-table${className ? ` ${className}` : ''}`}
      aria-label={label}
      aria-busy={busy || undefined}
    >
      <caption className="visually-hidden">{caption}</caption>
      <thead className="table-light">
        <tr>{head}</tr>
      </thead>
      <tbody>
        {empty != null ? (
          <tr className="empty-row">
            <td colSpan={columns} className={`text-center text-body-secondary ${size === 'sm' ? 'py-3' : 'py-4'}`}>
              {empty}
            </td>
          </tr>
        ) : (
          children
        )}
      </tbody>
    </Table>
  );
}

/** The bar above a table: its filters, the range shown and the pages. */
export function TableToolbar({ children }: { children: ReactNode }) {
  return <div className="d-flex flex-wrap align-items-center gap-2 px-3 py-2 border-bottom table-toolbar">{children}</div>;
}
