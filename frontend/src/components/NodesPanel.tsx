import Alert from 'react-bootstrap/Alert';
import Badge from 'react-bootstrap/Badge';
import Table from 'react-bootstrap/Table';
import type { ConnectionInfo } from '../api/types';
import { connectionsByNode } from '../lib/nodes';
import { formatAgo, formatLocalDateTime, parseTime } from '../lib/format';
import type { ClusterSnapshot } from '../monitor/store';
import { SectionCard } from './SectionCard';

/**
 * The nodes of a cluster (`--cluster`): each node, up or lost, how many
 * connections it holds and when it was last seen. Renders nothing for one
 * process (no cluster in the answers).
 */
export function NodesPanel({ cluster, rows, now }: { cluster: ClusterSnapshot | null; rows: ConnectionInfo[] | null; now: number }) {
  if (!cluster) return null;
  const { nodes } = cluster;
  const lost = nodes.filter((n) => n.state !== 'up');
  const counts = connectionsByNode(nodes, rows);
  return (
    <SectionCard
      titleId="nodes-title"
      title="Nodes"
      titleAs="h3"
      aside={
        <span className="small text-body-secondary" data-testid="nodes-summary">
          {nodes.length} node{nodes.length === 1 ? '' : 's'} · {nodes.length - lost.length} up · {lost.length} lost
          {cluster.answeredBy && ` · counts from ${cluster.answeredBy}`}
        </span>
      }
      className="mb-3"
      testId="nodes"
    >
      {lost.length > 0 && (
        <Alert variant="danger" className="py-2 m-2 mb-0 small" role="alert" data-testid="nodes-lost">
          <strong>
            {lost.length === 1 ? `Node ${lost[0].node} is lost` : `${lost.length} nodes are lost: ${lost.map((n) => n.node).join(', ')}`}
          </strong>{' '}
          — it stopped answering; its connections were closed as “Node lost” and its clients reconnect through the web
          server to the other nodes. A lost node stays listed for an hour.
        </Alert>
      )}
      <Table size="sm" className="mb-0 align-middle" aria-label="Cluster nodes">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">State</th>
            <th scope="col" className="text-end">
              Connections
            </th>
            <th scope="col">Last seen</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((n) => {
            const seen = parseTime(n.last_seen);
            const up = n.state === 'up';
            const degraded = cluster.degraded.some((d) => d.node === n.node);
            return (
              <tr key={n.node} data-node={n.node} data-state={n.state} className={up ? undefined : 'table-danger'}>
                <td className="font-monospace">{n.node}</td>
                <td>
                  <Badge bg={up ? 'success' : 'danger'} data-testid="node-state">
                    {n.state}
                  </Badge>
                  {degraded && (
                    <Badge bg="warning" text="dark" className="ms-1" title="This node cannot reach Redis">
                      degraded
                    </Badge>
                  )}
                </td>
                <td className="text-end font-monospace" data-testid="node-connections">
                  {up ? (counts.get(n.node) ?? n.connections) : '—'}
                </td>
                <td title={seen === null ? undefined : `${formatLocalDateTime(seen)} (${n.last_seen})`}>
                  {up ? 'now' : formatAgo(seen, now)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </Table>
    </SectionCard>
  );
}

/**
 * A node that cannot reach Redis goes on alone: what still works there and
 * what answers 503, in plain words. Nothing when every node reaches it.
 */
export function DegradedBanner({ cluster }: { cluster: ClusterSnapshot | null }) {
  if (!cluster || cluster.degraded.length === 0) return null;
  const names = cluster.degraded.map((d) => d.node);
  return (
    <Alert variant="warning" role="alert" data-testid="cluster-degraded">
      <Alert.Heading as="h3" className="h6">
        {names.length === 1 ? `Node ${names[0]} cannot reach Redis` : `Nodes ${names.join(', ')} cannot reach Redis`}: the
        cluster is degraded
      </Alert.Heading>
      <p className="mb-1 small">
        <strong>Still works:</strong> the streams each node holds (heartbeats, acknowledgements, disconnects of its own
        streams), its own stats, and new streams (each node checks the limits against its own streams only).
      </p>
      <p className="mb-1 small">
        <strong>Answers 503</strong> (and does nothing): publishing an announcement, test events, and disconnecting or
        closing a connection held by another node. This list may leave out other nodes’ connections, or list them as
        lost.
      </p>
      <p className="mb-0 small text-body-secondary">
        When Redis answers again every node registers its streams anew within a heartbeat and this page reloads its lists.
      </p>
    </Alert>
  );
}
