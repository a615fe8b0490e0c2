import { useMemo, useState } from 'react';
import Alert from 'react-bootstrap/Alert';
import Card from 'react-bootstrap/Card';
import Form from 'react-bootstrap/Form';
import Spinner from 'react-bootstrap/Spinner';
import type { ApiError } from '../api/client';
import { CLOSE_REASONS, CLUSTER_CLOSE_REASONS, type ClosedConnection } from '../api/types';
import { formatBytes, formatDuration, parseTime } from '../lib/format';
import { reasonLabel } from '../lib/reasons';
import { compareValues, connectionName, pageRange, paginate, type SortState } from '../lib/table';
import { useDensity } from '../lib/useDensity';
import { CloseReasonBadge } from './CloseReasonBadge';
import { DataTable, TableToolbar } from './DataTable';
import { Paginator } from './Paginator';
import { SectionCard } from './SectionCard';
import { SortHeader } from './SortHeader';
import { TimeAgo } from './TimeAgo';
import { TypeBadge } from './TypeBadge';

type SortKey = 'closed' | 'type' | 'name' | 'reason' | 'duration' | 'events' | 'bytes';

interface Props {
  closed: { list: ClosedConnection[]; capacity: number } | null;
  error: ApiError | null;
  /** Totals per reason since the responder started (stats `closed_by_reason`). */
  totals?: Record<string, number>;
  closedTotal?: number;
  now: number;
  pageSize?: number;
  closeAfterHeartbeats?: number | null;
  /** In a cluster: offer node_lost, and say which node held each connection. */
  cluster?: boolean;
}

function sortValue(c: ClosedConnection, key: SortKey): string | number | null {
  switch (key) {
    case 'closed':
      return parseTime(c.closed_at);
    case 'type':
      return c.type;
    case 'name':
      return connectionName(c).toLowerCase();
    case 'reason':
      return reasonLabel(c.reason).toLowerCase();
    case 'duration':
      return c.duration_seconds;
    case 'events':
      return c.events_sent;
    case 'bytes':
      return c.bytes_sent ?? null;
  }
}

/**
 * "Recently closed": the responder's ring of the last closed connections
 * (GET {prefix}/closed, then each close pushed to the tab), newest first
 * unless sorted by another column, with why each one ended, and the totals
 * per reason since start.
 */
export function RecentlyClosed({ closed, error, totals, closedTotal, now, pageSize = 20, closeAfterHeartbeats, cluster = false }: Props) {
  const [reason, setReason] = useState('all');
  const [page, setPage] = useState(1);
  const [sort, setSort] = useState<SortState<SortKey>>({ key: 'closed', dir: 'desc' });
  const [density] = useDensity();
  const sums = totals;
  const reasons = useMemo(() => {
    const known: string[] = [...CLOSE_REASONS, ...(cluster ? CLUSTER_CLOSE_REASONS : [])];
    // A reason this page does not know is listed once it counts (one process says node_lost: 0).
    for (const [r, n] of Object.entries(sums ?? {})) if (!known.includes(r) && n > 0) known.push(r);
    return known;
  }, [sums, cluster]);
  const list = useMemo(
    () =>
      (closed?.list ?? [])
        .filter((c) => reason === 'all' || c.reason === reason)
        .sort((a, b) => compareValues(sortValue(a, sort.key), sortValue(b, sort.key), sort.dir) || (b.seq ?? 0) - (a.seq ?? 0)),
    [closed, reason, sort],
  );
  const paged = paginate(list, page, pageSize);
  const emptyMessage = closed && closed.list.length > 0 ? 'None closed for this reason.' : 'No connection has closed yet.';
  const header = (key: SortKey, label: string, className?: string) => (
    <SortHeader
      label={label}
      sortKey={key}
      sort={sort}
      onSort={(s) => {
        setSort(s);
        setPage(1);
      }}
      className={className}
    />
  );

  return (
    <SectionCard
      titleId="closed-title"
      title="Recently closed"
      aside={
        closed && (
          <span className="small text-body-secondary">
            last {closed.list.length} of at most {closed.capacity}
          </span>
        )
      }
      className="mb-4"
      testId="recently-closed"
    >
      {sums && (
        <div className="px-3 py-2 border-bottom small d-flex flex-wrap align-items-center gap-2" data-testid="close-totals">
          <span className="text-body-secondary">Closed since start{closedTotal !== undefined ? `: ${closedTotal}` : ''} —</span>
          {reasons.map((r) => (
            <CloseReasonBadge key={r} reason={r} count={sums[r] ?? 0} closeAfterHeartbeats={closeAfterHeartbeats} />
          ))}
        </div>
      )}
      {error && (
        <Alert variant="danger" className="m-3 py-2 small" role="alert">
          Could not load the recently closed connections: {error.message}
        </Alert>
      )}
      {closed ? (
        <>
          <TableToolbar>
            <Form.Select
              size="sm"
              aria-label="Filter by close reason"
              value={reason}
              onChange={(e) => {
                setReason(e.target.value);
                setPage(1);
              }}
              style={{ width: 'auto' }}
            >
              <option value="all">All reasons</option>
              {reasons.map((r) => (
                <option key={r} value={r}>
                  {reasonLabel(r)}
                </option>
              ))}
            </Form.Select>
            <span className="small text-body-secondary me-auto">{list.length > 0 && pageRange(paged, list.length)}</span>
            <Paginator page={paged.page} pageCount={paged.pageCount} onPage={setPage} label="Recently closed: pages" />
          </TableToolbar>
          <DataTable
            label="Recently closed connections"
            caption="Recently closed connections"
            size="sm"
            className={density === 'compact' ? 'compact-rows' : undefined}
            head={
              <>
                {header('closed', 'Closed')}
                {header('type', 'Type')}
                {header('name', 'User / display')}
                {header('reason', 'Reason')}
                {header('duration', 'Duration')}
                {header('events', 'Events sent', 'text-end')}
                {header('bytes', 'Bytes', 'text-end')}
              </>
            }
            columns={7}
            empty={paged.rows.length === 0 ? emptyMessage : null}
          >
            {paged.rows.map((c) => (
              <tr key={c.id} data-connection-id={c.id} data-reason={c.reason}>
                <td>
                  <TimeAgo iso={c.closed_at} now={now} />
                </td>
                <td>
                  <TypeBadge type={c.type} />
                </td>
                <td>
                  <span className="fw-medium">{connectionName(c)}</span>{' '}
                  <span className="text-body-secondary small font-monospace" title="Public connection id">
                    {c.id}
                  </span>
                  {c.client && (
                    <span className="text-body-secondary small ms-2 client-id" title={`Client id: ${c.client}`}>
                      client <span className="font-monospace">{c.client}</span>
                    </span>
                  )}
                  {cluster && c.node && (
                    <span className="text-body-secondary small ms-2" title="The cluster node that held it" data-testid="closed-node">
                      on <span className="font-monospace">{c.node}</span>
                    </span>
                  )}
                </td>
                <td>
                  <CloseReasonBadge reason={c.reason} closeAfterHeartbeats={closeAfterHeartbeats} />
                </td>
                <td title={`${c.opened_at} – ${c.closed_at}`}>{formatDuration(c.duration_seconds)}</td>
                <td className="text-end font-monospace">{c.events_sent}</td>
                <td className="text-end font-monospace">{formatBytes(c.bytes_sent)}</td>
              </tr>
            ))}
          </DataTable>
        </>
      ) : (
        !error && (
          <Card.Body className="text-center text-body-secondary py-3">
            <Spinner animation="border" size="sm" role="status" aria-label="Loading" />
          </Card.Body>
        )
      )}
    </SectionCard>
  );
}
