import { useMemo, useState } from 'react';
import Badge from 'react-bootstrap/Badge';
import Button from 'react-bootstrap/Button';
import Form from 'react-bootstrap/Form';
import type { ConnectionInfo, ConnectionState, ConnectionType } from '../api/types';
import { formatBytes, formatDuration, formatLocalDateTime, formatRtt, formatWhen, parseTime } from '../lib/format';
import { compareValues, connectionName, paginate, type SortState } from '../lib/table';
import { useDensity } from '../lib/useDensity';
import { matchesFilter, type ConnectionFilter } from '../monitor/apply';
import type { TableSnapshot } from '../monitor/store';
import { DataTable, TableToolbar } from './DataTable';
import { Paginator } from './Paginator';
import { SortHeader } from './SortHeader';
import { TimeAgo } from './TimeAgo';
import { TypeBadge } from './TypeBadge';

type SortKey = 'type' | 'name' | 'node' | 'state' | 'connected' | 'last_ping' | 'rtt' | 'events' | 'queue' | 'dropped';

interface Props {
  table: TableSnapshot;
  now: number;
  /** Public id of this tab's own stream, when the server tells it. */
  ownId?: string | null;
  caption: string;
  emptyText?: string;
  /** Show a Disconnect button on each row; called with the row's connection. */
  onDisconnect?: (connection: ConnectionInfo) => void;
  onFilter: (filter: ConnectionFilter) => void;
  onPage: (page: number) => void;
  onPageSize: (size: number) => void;
  /** Offer the type filter (the Displays page lists one type only). */
  typeFilter?: boolean;
  /** The server's liveness rule: stale after this many heartbeats without an ack. */
  staleAfterHeartbeats?: number | null;
  /** Show which node holds each connection (in a cluster only). */
  nodeColumn?: boolean;
}

const PAGE_SIZES = [50, 100, 200];

function sortValue(c: ConnectionInfo, key: SortKey): string | number | null {
  switch (key) {
    case 'type':
      return c.type;
    case 'name':
      return connectionName(c).toLowerCase();
    case 'node':
      return c.node ?? null;
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

const TYPE_CHOICES: [ConnectionType | undefined, string][] = [
  [undefined, 'All types'],
  ['admin', 'Admin'],
  ['display', 'Display'],
];

const STATE_CHOICES: [ConnectionState | undefined, string][] = [
  [undefined, 'All states'],
  ['live', 'Live'],
  ['stale', 'Stale'],
];

/** A select of one filter: its first choice (undefined) is "all". */
function ChoiceFilter<T extends string>({
  label,
  value,
  choices,
  onChange,
}: {
  label: string;
  value: T | undefined;
  choices: [T | undefined, string][];
  onChange: (value: T | undefined) => void;
}) {
  return (
    <Form.Select
      size="sm"
      aria-label={label}
      value={value ?? ''}
      onChange={(e) => onChange(choices.find(([v]) => (v ?? '') === e.target.value)?.[0])}
      style={{ width: 'auto' }}
    >
      {choices.map(([v, text]) => (
        <option key={v ?? ''} value={v ?? ''}>
          {text}
        </option>
      ))}
    </Form.Select>
  );
}

/** "stale after 2 heartbeats" as the server says it; never a number of our own. */
function staleText(staleAfter: number | null | undefined): string {
  return staleAfter
    ? `No acknowledgement for ${staleAfter} heartbeat${staleAfter === 1 ? '' : 's'}: the client may be gone`
    : 'No recent acknowledgement: the client may be gone';
}

function StateCell({ c, staleAfter, compact }: { c: ConnectionInfo; staleAfter?: number | null; compact: boolean }) {
  if (!c.state) return <span className="text-body-secondary">—</span>;
  const stale = c.state === 'stale';
  return (
    <>
      <Badge
        bg={stale ? 'warning' : 'success'}
        text={stale ? 'dark' : undefined}
        data-testid="conn-state"
        title={stale ? staleText(staleAfter) : 'Acknowledging or writable'}
      >
        {c.state}
      </Badge>
      {c.ack === false &&
        (compact ? (
          <span className="small text-body-secondary ms-1" title="This stream does not acknowledge pings (no ?ack=1)">
            no ack
          </span>
        ) : (
          <div className="small text-body-secondary" title="This stream does not acknowledge pings (no ?ack=1)">
            no ack
          </div>
        ))}
    </>
  );
}

/**
 * Live connections. When the page holds every connection (`table.complete`)
 * they are filtered, sorted by any column and paged here; when there are too
 * many to hold, the server filters and pages them, newest first, and only
 * the page on screen is here. Compact rows (one line each) by default.
 */
export function ConnectionsTable({
  table,
  now,
  ownId,
  caption,
  emptyText = 'No live connections.',
  onDisconnect,
  onFilter,
  onPage,
  onPageSize,
  typeFilter = true,
  staleAfterHeartbeats,
  nodeColumn = false,
}: Props) {
  const [sort, setSort] = useState<SortState<SortKey>>({ key: 'connected', dir: 'desc' });
  const [density, setDensity] = useDensity();
  const compact = density === 'compact';
  const { filter, complete } = table;

  const filtered = useMemo(() => {
    if (!complete) return table.rows;
    const list = table.rows.filter((c) => matchesFilter(c, filter));
    return list.sort((a, b) => compareValues(sortValue(a, sort.key), sortValue(b, sort.key), sort.dir) || a.id.localeCompare(b.id));
  }, [table.rows, complete, filter, sort]);

  const local = paginate(filtered, table.page, table.pageSize);
  const rows = complete ? local.rows : table.rows;
  const matching = complete ? filtered.length : table.total;
  const pageCount = complete ? local.pageCount : Math.max(1, Math.ceil(table.total / table.pageSize));
  const page = complete ? local.page : Math.min(table.page, pageCount);
  const first = complete ? local.first : (page - 1) * table.pageSize;
  const held = complete ? table.rows.length : null;
  const filteredOut = held === null ? 0 : held - filtered.length;
  const noneAtAll = complete ? held === 0 : table.total === 0 && !filter.q && !filter.type && !filter.state;
  const columns = 9 + (nodeColumn ? 1 : 0) + (onDisconnect ? 1 : 0);
  const emptyMessage = table.loading && rows.length === 0 ? 'Loading…' : noneAtAll ? emptyText : 'No connection matches the filter.';

  const header = (key: SortKey, label: string, className?: string, title?: string) =>
    complete ? (
      <SortHeader label={label} sortKey={key} sort={sort} onSort={(s) => {
        setSort(s);
        onPage(1);
      }} className={className} title={title} />
    ) : (
      <th
        scope="col"
        className={className}
        aria-sort={key === 'connected' ? 'descending' : 'none'}
        title={
          key === 'connected'
            ? 'Newest first, as the server pages them'
            : `${title ? `${title}. ` : ''}Too many connections to sort here: narrow the list with the filters`
        }
      >
        <span className="fw-semibold">
          {label}
          {key === 'connected' && (
            <span className="sort-mark ms-1" aria-hidden="true">
              ▼
            </span>
          )}
        </span>
      </th>
    );

  return (
    <>
      <TableToolbar>
        {typeFilter && (
          <ChoiceFilter
            label="Filter by type"
            value={filter.type}
            choices={TYPE_CHOICES}
            onChange={(type) => onFilter({ ...filter, type })}
          />
        )}
        <ChoiceFilter
          label="Filter by state"
          value={filter.state}
          choices={STATE_CHOICES}
          onChange={(state) => onFilter({ ...filter, state })}
        />
        <Form.Control
          size="sm"
          type="search"
          placeholder="Filter by user, display, id or client"
          aria-label="Filter by user, display, id or client"
          value={filter.q ?? ''}
          onChange={(e) => onFilter({ ...filter, q: e.target.value })}
          style={{ maxWidth: 280 }}
        />
        <span className="small text-body-secondary me-auto" data-testid="table-range" aria-live="polite">
          {rows.length === 0 ? (noneAtAll ? '' : matching === 0 ? 'No match' : '') : `${first + 1}–${first + rows.length} of ${matching}`}
          {filteredOut > 0 && ` (${filteredOut} filtered out)`}
          {!complete && ' · newest first'}
        </span>
        <Form.Check
          type="switch"
          id={`${caption}-density`}
          className="small mb-0"
          label="Compact rows"
          checked={compact}
          onChange={(e) => setDensity(e.target.checked ? 'compact' : 'comfortable')}
        />
        <Form.Select
          size="sm"
          aria-label="Rows per page"
          value={table.pageSize}
          onChange={(e) => onPageSize(Number(e.target.value))}
          style={{ width: 'auto' }}
        >
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n} a page
            </option>
          ))}
        </Form.Select>
        <Paginator page={page} pageCount={pageCount} onPage={onPage} label={`${caption}: pages`} />
      </TableToolbar>
      <DataTable
        label={caption}
        size={compact ? 'sm' : undefined}
        className={compact ? 'compact-rows' : undefined}
        busy={table.loading}
        head={
          <>
            {header('type', 'Type')}
            {header('name', 'User / display')}
            {nodeColumn && header('node', 'Node', undefined, 'The cluster node that holds it')}
            {header('state', 'State', undefined, `live, or stale: ${staleText(staleAfterHeartbeats).toLowerCase()}`)}
            {header('connected', 'Connected')}
            {header('last_ping', 'Last ping', undefined, 'As of the last fetch of these rows')}
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
        empty={rows.length === 0 ? emptyMessage : null}
      >
        {rows.map((c) => {
          const connectedAt = parseTime(c.connected_at);
          const own = ownId != null && ownId === c.id;
          const name = connectionName(c);
          const rowClass = own ? 'table-primary' : c.state === 'stale' ? 'table-warning' : undefined;
          const when = `${formatLocalDateTime(connectedAt)} (${c.connected_at})`;
          return (
            <tr key={c.id} data-connection-id={c.id} data-type={c.type} data-state={c.state} className={rowClass}>
              <td>
                <TypeBadge type={c.type} />
              </td>
              <td>
                <span className="fw-medium">{name}</span>
                {own && <span className="badge text-bg-light border ms-2">this tab</span>}
                {compact ? (
                  <>
                    <span className="text-body-secondary small font-monospace ms-2" title="Public connection id">
                      {c.id}
                    </span>
                    {c.client && (
                      <span className="text-body-secondary small ms-2 client-id" title={`Client id (?client=): ${c.client}`}>
                        client <span className="font-monospace">{c.client}</span>
                      </span>
                    )}
                  </>
                ) : (
                  <>
                    <div className="text-body-secondary small font-monospace" title="Public connection id">
                      {c.id}
                    </div>
                    {c.client && (
                      <div className="text-body-secondary small" title="Client id (?client=)">
                        client <span className="font-monospace">{c.client}</span>
                      </div>
                    )}
                  </>
                )}
              </td>
              {nodeColumn && (
                <td className="font-monospace small" data-testid="conn-node">
                  {c.node ?? '—'}
                </td>
              )}
              <td>
                <StateCell c={c} staleAfter={staleAfterHeartbeats} compact={compact} />
              </td>
              <td title={compact ? when : undefined}>
                {connectedAt === null ? '—' : formatDuration((now - connectedAt) / 1000)}
                {!compact && (
                  <div className="small text-body-secondary">
                    <time dateTime={c.connected_at} title={when}>
                      {formatWhen(connectedAt, now)}
                    </time>
                  </div>
                )}
              </td>
              <td>
                {c.last_ping ? <TimeAgo iso={c.last_ping} now={now} /> : <span className="text-body-secondary">not yet</span>}
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
              <td className={`text-end font-monospace${c.events_dropped ? ' text-danger fw-semibold' : ''}`} data-testid="events-dropped">
                {c.events_dropped ?? '—'}
              </td>
              {onDisconnect && (
                <td className="text-end">
                  <Button
                    size="sm"
                    variant="outline-danger"
                    className={compact ? 'py-0' : undefined}
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
