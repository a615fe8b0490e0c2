import { useDeferredValue, useMemo, useState } from 'react';
import Badge from 'react-bootstrap/Badge';
import Button from 'react-bootstrap/Button';
import Form from 'react-bootstrap/Form';
import type { ConnectionInfo } from '../api/types';
import { formatBytes, formatDuration, formatLocalDateTime, formatRtt, formatWhen, parseTime } from '../lib/format';
import { compareValues, connectionName, pageRange, paginate, type SortState } from '../lib/table';
import { DataTable, TableToolbar } from './DataTable';
import { Paginator } from './Paginator';
import { SortHeader } from './SortHeader';
import { TimeAgo } from './TimeAgo';
import { TypeBadge } from './TypeBadge';

type SortKey = 'type' | 'name' | 'state' | 'connected' | 'last_ping' | 'rtt' | 'events' | 'queue' | 'dropped';
type TypeFilter = 'all' | 'admin' | 'display';

interface Props {
  connections: ConnectionInfo[];
  now: number;
  /** Public id of this tab's own stream, when the server tells it. */
  ownId?: string | null;
  caption: string;
  emptyText?: string;
  /** Show a Disconnect button on each row; called with the row's connection. */
  onDisconnect?: (connection: ConnectionInfo) => void;
  /** Rows per page. */
  pageSize?: number;
  /** Offer the type filter (the Displays page lists one type only). */
  typeFilter?: boolean;
}

function sortValue(c: ConnectionInfo, key: SortKey): string | number | null {
  switch (key) {
    case 'type':
      return c.type;
    case 'name':
      return connectionName(c).toLowerCase();
    case 'state':
      return c.state ?? null;
    case 'connected':
      return parseTime(c.connected_at);
    case 'last_ping':
      return parseTime(c.last_ping);
    case 'rtt':
      return c.last_ack_rtt_ms ?? null;
    case 'events':
      return c.events_sent;
    case 'queue':
      return c.queue_depth ?? null;
    case 'dropped':
      return c.events_dropped ?? null;
  }
}

function matches(c: ConnectionInfo, type: TypeFilter, text: string): boolean {
  if (type !== 'all' && c.type !== type) return false;
  if (!text) return true;
  return [connectionName(c), c.id, c.client ?? ''].some((v) => v.toLowerCase().includes(text));
}

function StateCell({ c }: { c: ConnectionInfo }) {
  if (!c.state) return <span className="text-body-secondary">—</span>;
  const stale = c.state === 'stale';
  return (
    <>
      <Badge
        bg={stale ? 'warning' : 'success'}
        text={stale ? 'dark' : undefined}
        data-testid="conn-state"
        title={stale ? 'No acknowledgement for 2 heartbeats: the client may be gone' : 'Acknowledging or writable'}
      >
        {c.state}
      </Badge>
      {c.ack === false && (
        <div className="small text-body-secondary" title="This stream does not acknowledge pings (no ?ack=1)">
          no ack
        </div>
      )}
    </>
  );
}

/**
 * Live connections from the stats route, readable at hundreds of rows:
 * sortable columns, a filter by type and by user / display / id / client,
 * and pages of `pageSize` rows. Oldest first by default.
 */
export function ConnectionsTable({
  connections,
  now,
  ownId,
  caption,
  emptyText = 'No live connections.',
  onDisconnect,
  pageSize = 50,
  typeFilter = true,
}: Props) {
  const [sort, setSort] = useState<SortState<SortKey>>({ key: 'connected', dir: 'asc' });
  const [type, setType] = useState<TypeFilter>('all');
  const [text, setText] = useState('');
  const [page, setPage] = useState(1);
  const needle = useDeferredValue(text.trim().toLowerCase());

  const filtered = useMemo(() => {
    const list = connections.filter((c) => matches(c, type, needle));
    return list.sort(
      (a, b) => compareValues(sortValue(a, sort.key), sortValue(b, sort.key), sort.dir) || a.id.localeCompare(b.id),
    );
  }, [connections, type, needle, sort]);
  const paged = paginate(filtered, page, pageSize);
  const columns = 9 + (onDisconnect ? 1 : 0);
  const filteredOut = connections.length - filtered.length;
  const emptyMessage = connections.length === 0 ? emptyText : 'No connection matches the filter.';
  const header = (key: SortKey, label: string, className?: string, title?: string) => (
    <SortHeader
      label={label}
      sortKey={key}
      sort={sort}
      onSort={(s) => {
        setSort(s);
        setPage(1);
      }}
      className={className}
      title={title}
    />
  );

  return (
    <>
      <TableToolbar>
        {typeFilter && (
          <Form.Select
            size="sm"
            aria-label="Filter by type"
            value={type}
            onChange={(e) => {
              setType(e.target.value as TypeFilter);
              setPage(1);
            }}
            style={{ width: 'auto' }}
          >
            <option value="all">All types</option>
            <option value="admin">Admin</option>
            <option value="display">Display</option>
          </Form.Select>
        )}
        <Form.Control
          size="sm"
          type="search"
          placeholder="Filter by user, display, id or client"
          aria-label="Filter by user, display, id or client"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setPage(1);
          }}
          style={{ maxWidth: 320 }}
        />
        <span className="small text-body-secondary me-auto" data-testid="table-range" aria-live="polite">
          {filtered.length === 0
            ? connections.length === 0
              ? ''
              : 'No match'
            : pageRange(paged, filtered.length)}
          {filteredOut > 0 && ` (${filteredOut} filtered out)`}
        </span>
        <Paginator page={paged.page} pageCount={paged.pageCount} onPage={setPage} label={`${caption}: pages`} />
      </TableToolbar>
      <DataTable
        label={caption}
        head={
          <>
            {header('type', 'Type')}
            {header('name', 'User / display')}
            {header('state', 'State', undefined, 'live, or stale: no acknowledgement for 2 heartbeats')}
            {header('connected', 'Connected')}
            {header('last_ping', 'Last ping')}
            {header('rtt', 'RTT', 'text-end', 'Round trip of the last acknowledged ping')}
            {header('events', 'Events', 'text-end', 'Events sent: written and flushed')}
            {header('queue', 'Queue', 'text-end', 'Events waiting to be written')}
            {header('dropped', 'Dropped', 'text-end', 'Events dropped for this connection (slow reader)')}
            {onDisconnect && (
              <th scope="col" className="text-end">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </>
        }
        columns={columns}
        empty={paged.rows.length === 0 ? emptyMessage : null}
      >
        {paged.rows.map((c) => {
          const connectedAt = parseTime(c.connected_at);
          const own = ownId != null && ownId === c.id;
          const name = connectionName(c);
          const rowClass = own ? 'table-primary' : c.state === 'stale' ? 'table-warning' : undefined;
          return (
            <tr key={c.id} data-connection-id={c.id} data-type={c.type} data-state={c.state} className={rowClass}>
              <td>
                <TypeBadge type={c.type} />
              </td>
              <td>
                <span className="fw-medium">{name}</span>
                {own && <span className="badge text-bg-light border ms-2">this tab</span>}
                <div className="text-body-secondary small font-monospace" title="Public connection id">
                  {c.id}
                </div>
                {c.client && (
                  <div className="text-body-secondary small" title="Client id (?client=)">
                    client <span className="font-monospace">{c.client}</span>
                  </div>
                )}
              </td>
              <td>
                <StateCell c={c} />
              </td>
              <td>
                {connectedAt === null ? '—' : formatDuration((now - connectedAt) / 1000)}
                <div className="small text-body-secondary">
                  <time dateTime={c.connected_at} title={`${formatLocalDateTime(connectedAt)} (${c.connected_at})`}>
                    {formatWhen(connectedAt, now)}
                  </time>
                </div>
              </td>
              <td>
                {c.last_ping ? (
                  <TimeAgo iso={c.last_ping} now={now} />
                ) : (
                  <span className="text-body-secondary">not yet</span>
                )}
              </td>
              <td className="text-end font-monospace" data-testid="rtt" title={c.last_ack ? `Last ack ${c.last_ack}` : undefined}>
                {formatRtt(c.last_ack_rtt_ms)}
              </td>
              <td
                className="text-end font-monospace"
                data-testid="events-sent"
                title={[
                  c.events_queued !== undefined ? `queued ${c.events_queued}` : null,
                  c.bytes_sent !== undefined ? `${formatBytes(c.bytes_sent)} written` : null,
                ]
                  .filter(Boolean)
                  .join(', ')}
              >
                {c.events_sent}
              </td>
              <td className="text-end font-monospace" data-testid="queue-depth">
                {c.queue_depth ?? '—'}
              </td>
              <td
                className={`text-end font-monospace${c.events_dropped ? ' text-danger fw-semibold' : ''}`}
                data-testid="events-dropped"
              >
                {c.events_dropped ?? '—'}
              </td>
              {onDisconnect && (
                <td className="text-end">
                  <Button
                    size="sm"
                    variant="outline-danger"
                    onClick={() => onDisconnect(c)}
                    aria-label={`Disconnect ${c.type} ${name} (${c.id})`}
                    data-testid="row-disconnect"
                  >
                    Disconnect
                  </Button>
                </td>
              )}
            </tr>
          );
        })}
      </DataTable>
    </>
  );
}
