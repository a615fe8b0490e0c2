/* cluster.h -- several sse-fcgi processes (nodes), on one machine or many,
 * sharing one register and one stream of events through Redis.
 *
 * DESIGN
 * The cluster's hub (hub_redis.c) keeps each node's own streams in its own
 * registry and I/O loops, as one process does, and uses Redis (hiredis; no
 * protocol of our own between nodes) for what the nodes share:
 *
 *   events   `sse:seq` numbers them and `sse:events`, a Redis Stream capped
 *            at --history, keeps them: a publish is one EVALSHA (INCR +
 *            XADD), on any node.  Every node reads the stream on its own
 *            thread and connection (XREAD BLOCK) and delivers each event to
 *            its streams through its local hub (history, replay-or-live),
 *            so ids increase cluster-wide and Last-Event-ID resumes on any
 *            node.
 *   register each node mirrors its streams into hashes of its own
 *            (`sse:node:<node>`, with the counts per user and per address
 *            and the claims of displays and client ids), with a TTL that
 *            every heartbeat refreshes, so a dead node's entries expire by
 *            themselves.  Tokens are there only as SHA-256 hashes.
 *   changes  a node's changes (opened, closed, state) are numbered by Redis
 *            (INCR `sse:cseq`) as they are published on `sse:changes`, in
 *            the same script.  Every node applies every change, its own
 *            included, when it comes back from Redis, in that order and
 *            with that number: the others' into its mirror (mirror.c), its
 *            own to its feed alone (its registry holds them already).  So
 *            `seq` means the same on every node, and a page may take its
 *            list from one node and the monitor's changes from another
 *            (a round-robin web server).  What a node numbers itself (while
 *            Redis is away; what a reload found) is followed by a raise of
 *            `sse:cseq` above it and a `resync` to its monitors.
 *   admission a new stream is admitted by one EVALSHA that checks the
 *            per-user and per-address limits across the live nodes and
 *            claims its display (or user and client id): superseding holds
 *            cluster-wide.
 *   commands close, supersede and ack travel on the holding node's channel
 *            (`sse:cmd:<node>`); the answer comes back on the asker's once
 *            the stream is closed, after its change (same connection, so
 *            the asker's mirror has dropped it first).
 *   liveness `sse:alive:<node>` expires 2 heartbeats after its last
 *            refresh; every node checks the others each half heartbeat and
 *            drops a node that is gone (node_lost) within 3 heartbeats.
 *
 * Redis unreachable: local streams go on (heartbeats, local disconnects);
 * publishing, and routes that need another node, answer 503; new streams
 * are admitted on local rules alone; stats says `degraded`.  When Redis
 * answers again, the node registers its streams anew within a heartbeat.
 * A publish or a command that a paused Redis would run after its sender
 * gave up (answered 503) checks a deadline against Redis's clock and does
 * nothing: a 503 never turns into a late delivery.
 */
#ifndef SSE_CLUSTER_H
#define SSE_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "rconn.h"

struct hub;
struct metrics;
struct registry;

/* What a node needs to join a cluster. */
struct cluster_options {
    struct rconn_url url;
    char node[CONN_NODE_MAX + 1];   /* this node's name */
    int64_t heartbeat_ms;
    size_t history_max;             /* events kept in sse:events (0: 1) */
    int64_t history_age_ms;
    size_t max_per_user, max_per_address;   /* cluster-wide; 0: none */
};

/* A cluster node's name: 1-64 of [A-Za-z0-9._-]. */
bool cluster_valid_node(const char *name);

/* The default name: the host name and the pid ("kiosk-1.1234"). */
void cluster_default_node(char out[CONN_NODE_MAX + 1]);

/* The cluster's hub over this node's registry r (see hub.h).  Starts its
 * threads; tries Redis for up to 5 s first (a node that cannot reach it
 * starts degraded and keeps trying).  Returns NULL with err when out of
 * memory or threads. */
struct hub *hub_redis_create(struct registry *r, struct metrics *m,
                             const struct cluster_options *o, char *err, size_t errlen);

#endif
