import type { ClusterNode, ConnectionInfo } from '../api/types';

/**
 * How many connections each node holds. From the rows when the page holds
 * every connection (they change with every push); else the nodes list's own
 * count, which a node refreshes every half heartbeat.
 */
export function connectionsByNode(nodes: ClusterNode[], rows: ConnectionInfo[] | null): Map<string, number> {
  const counts = new Map<string, number>();
  if (rows) {
    for (const n of nodes) counts.set(n.node, 0);
    for (const c of rows) if (c.node) counts.set(c.node, (counts.get(c.node) ?? 0) + 1);
  } else {
    for (const n of nodes) counts.set(n.node, n.connections);
  }
  return counts;
}
