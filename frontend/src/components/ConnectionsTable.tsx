import Table from 'react-bootstrap/Table';
import type { ConnectionInfo } from '../api/types';
import { formatAgo, formatDuration, formatLocalDateTime, parseTime } from '../lib/format';
import { TypeBadge } from './TypeBadge';

interface Props {
  connections: ConnectionInfo[];
  now: number;
  /** Public id of this tab's own stream, when the server tells it. */
  ownId?: string | null;
  caption: string;
  emptyText?: string;
}

/** Live connections, oldest first, as the stats route lists them. */
export function ConnectionsTable({ connections, now, ownId, caption, emptyText = 'No live connections.' }: Props) {
  const rows = [...connections].sort((a, b) => (parseTime(a.connected_at) ?? 0) - (parseTime(b.connected_at) ?? 0));
  return (
    <Table responsive hover className="align-middle mb-0 connections-table" aria-label={caption}>
      <caption className="visually-hidden">{caption}</caption>
      <thead className="table-light">
        <tr>
          <th scope="col">Type</th>
          <th scope="col">User / display</th>
          <th scope="col">Connected</th>
          <th scope="col">Duration</th>
          <th scope="col">Last ping</th>
          <th scope="col" className="text-end">
            Events sent
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 ? (
          <tr className="empty-row">
            <td colSpan={6} className="text-center text-body-secondary py-4">
              {emptyText}
            </td>
          </tr>
        ) : (
          rows.map((c) => {
            const connectedAt = parseTime(c.connected_at);
            const lastPing = parseTime(c.last_ping);
            const own = ownId != null && ownId === c.id;
            return (
              <tr key={c.id} data-connection-id={c.id} data-type={c.type} className={own ? 'table-primary' : undefined}>
                <td>
                  <TypeBadge type={c.type} />
                </td>
                <td>
                  <span className="fw-medium">{c.type === 'display' ? c.display : c.user}</span>
                  {own && <span className="badge text-bg-light border ms-2">this tab</span>}
                  <div className="text-body-secondary small font-monospace" title="Public connection id">
                    {c.id}
                  </div>
                </td>
                <td>
                  <time dateTime={c.connected_at} title={c.connected_at}>
                    {formatLocalDateTime(connectedAt)}
                  </time>
                </td>
                <td>{connectedAt === null ? '—' : formatDuration((now - connectedAt) / 1000)}</td>
                <td>
                  {c.last_ping ? (
                    <time dateTime={c.last_ping} title={formatLocalDateTime(lastPing)}>
                      {formatAgo(lastPing, now)}
                    </time>
                  ) : (
                    <span className="text-body-secondary">not yet</span>
                  )}
                </td>
                <td className="text-end font-monospace" data-testid="events-sent">
                  {c.events_sent}
                </td>
              </tr>
            );
          })
        )}
      </tbody>
    </Table>
  );
}
