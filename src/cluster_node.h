/* cluster_node.h -- what the two halves of a cluster node share: the hub's
 * operations (hub_redis.c) and the threads that talk to Redis
 * (cluster_threads.c).  Not for other modules: they use cluster.h and
 * hub.h. */
#ifndef SSE_CLUSTER_NODE_H
#define SSE_CLUSTER_NODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cluster.h"
#include "cluster_wire.h"
#include "hub.h"
#include "mirror.h"
#include "rconn.h"
#include "registry.h"

#define LOCAL_BUCKETS 4096
#define REQUESTS_MAX 64             /* requests to other nodes under way */
#define NODES_MAX 64

/* A node's records (its hashes) live this many heartbeats past the last
 * write or heartbeat that refreshed them. */
#define RECORDS_BEATS 4

/* That TTL in ms, as text for PEXPIRE. */
static inline void cnode_records_ttl(const struct cluster_options *o, char out[24])
{
    snprintf(out, 24, "%lld", (long long)(RECORDS_BEATS * o->heartbeat_ms));
}

/* A guarded display is replaced only with its key, the same client id, or
 * when stale (registry_add's rule, cluster-wide). */
#define CLUSTER_GUARDED_DISPLAYS 1

/* What this node remembers of each of its streams, for the records it
 * writes to Redis: its token's hash and its address. */
struct local_conn {
    struct local_conn *next;
    char public_id[PUBLIC_ID_LEN + 1];
    char token_hash[MIRROR_HASH_LEN + 1];
    char addr[CONN_ADDR_MAX + 1];
};

/* A request to another node, waiting for its answer. */
struct request {
    bool busy, done;
    uint64_t id;
    int64_t result;
};

/* Another node (or this one), as the heartbeat sees them. */
struct node_state {
    char name[CONN_NODE_MAX + 1];
    bool lost;                      /* its alive key expired */
    int64_t last_seen_ms;
    size_t connections;
    uint64_t beat;                  /* the last heartbeat that found it in sse:nodes */
};

/* Something for the writer to send, in order. */
struct op {
    struct op *next;
    enum { OP_OPENED, OP_CLOSED, OP_STATE, OP_REPLY, OP_RELEASE, OP_PUBLISH } kind;
    struct conn_info info;          /* OPENED, CLOSED, STATE, RELEASE */
    char token_hash[MIRROR_HASH_LEN + 1];
    char addr[CONN_ADDR_MAX + 1];
    enum close_reason reason;       /* CLOSED */
    int64_t at_ms;
    uint64_t seq;                   /* OPENED, CLOSED, STATE: the feed's */
    char channel[WIRE_KEY_MAX];     /* REPLY, PUBLISH */
    char *message;                  /* REPLY, PUBLISH (owned) */
};

struct cnode {
    struct hub hub;                 /* first: a struct hub * is one of these */
    struct cluster_options o;
    struct hub *local;              /* this node's streams: delivery, history */
    struct registry *reg;
    struct mirror *mirror;          /* the other nodes' streams */
    struct metrics *metrics;
    atomic_bool up;                 /* Redis answered the last time it was asked */
    atomic_bool stopping;

    pthread_mutex_t cmd_mu;         /* the workers' connection: publish, admit */
    struct rconn *cmd;

    pthread_mutex_t locals_mu;      /* a leaf */
    struct local_conn *locals[LOCAL_BUCKETS];

    pthread_mutex_t req_mu;         /* a leaf */
    pthread_cond_t req_cond;
    struct request requests[REQUESTS_MAX];
    uint64_t next_req;

    pthread_mutex_t deliv_mu;       /* signalled when events are delivered */
    pthread_cond_t deliv_cond;
    bool synced;                    /* the reader knows where the cluster's ids are */

    pthread_mutex_t nodes_mu;       /* a leaf */
    struct node_state nodes[NODES_MAX];
    size_t nnodes;
    uint64_t beats;                 /* heartbeats so far */

    /* The writer's queue (cluster_threads.c). */
    pthread_mutex_t wq_mu;          /* a leaf */
    pthread_cond_t wq_cond;
    struct op *wq_head, *wq_tail;
    bool reregister;                /* write all of this node's streams anew */
    bool subscribed_feed;

    int64_t up_since_mono;          /* the beat's: when Redis last came back */

    pthread_t reader, subscriber, writer, beat;
    bool started[4];
};

/* Hex SHA-256 of a token: what Redis keeps instead of it. */
void cnode_token_hash(const char *token, char out[MIRROR_HASH_LEN + 1]);

/* This node's streams' records (token hash, address), by public id.
 * cnode_local_get() copies one (and with take, forgets it).  A leaf lock. */
int cnode_local_put(struct cnode *n, const char *public_id, const char *token_hash,
                    const char *addr);
bool cnode_local_get(struct cnode *n, const char *public_id, struct local_conn *out, bool take);

/* Sends cmd to node and waits (at most 3 s) for its answer.  Returns the
 * answer's result, or HUB_UNAVAILABLE. */
int64_t cnode_request(struct cnode *n, const char *node, struct wire_cmd *cmd);

/* An answer to request req came. */
void cnode_answered(struct cnode *n, uint64_t req, int64_t result);

/* The deadline (Redis's clock) of a command sent on c now: it must run
 * well within the command timeout, or not at all (see wire_send_script). */
static inline int64_t cnode_deadline(struct rconn *c)
{
    rconn_ensure(c);                /* a new connection measures the clocks first */
    return rconn_redis_ms(c) + RCONN_TIMEOUT_MS / 2;
}

/* PUBLISH on the workers' connection, unless Redis runs it after
 * cnode_deadline().  Returns the receivers, or -1 if Redis could not be
 * reached or ran it too late. */
long cnode_publish(struct cnode *n, const char *channel, const char *message);

/* Redis failed (what: for the log, once per outage): degraded until the
 * heartbeat gets an answer again. */
void cnode_down(struct cnode *n, const char *what);

/* Gives back what admission counted and claimed for c, which did not join
 * after all. */
void cnode_release(struct cnode *n, const struct conn *c);

/* Starts and stops the node's threads (cluster_threads.c). */
int cnode_start_threads(struct cnode *n, char *err, size_t errlen);
void cnode_stop_threads(struct cnode *n);

#endif
