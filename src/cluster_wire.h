/* cluster_wire.h -- what the nodes of a cluster write to Redis and read
 * back: the names of the keys and channels, the Lua scripts, and the JSON
 * of a connection, a change and a command.  Pure: builds and parses text,
 * no I/O, no locks (hub_redis.c does the talking). */
#ifndef SSE_CLUSTER_WIRE_H
#define SSE_CLUSTER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "filter.h"
#include "mirror.h"

#define WIRE_SEQ "sse:seq"              /* the last event id */
#define WIRE_EVENTS "sse:events"        /* the Redis Stream of events */
#define WIRE_NODES "sse:nodes"          /* node -> {"t": last seen, "n": streams} */
#define WIRE_CHANGES "sse:changes"      /* every node's changes */
#define WIRE_CSEQ "sse:cseq"            /* the number of the last change */
#define WIRE_KEY_MAX 160

/* Key or channel names of a node: "sse:alive:<node>", "sse:node:<node>"
 * (its connections), with suffix ":u", ":a", ":s" (counts per user and per
 * address, claims), "sse:cmd:<node>" (its commands). */
void wire_alive_key(char out[WIRE_KEY_MAX], const char *node);
void wire_node_key(char out[WIRE_KEY_MAX], const char *node, const char *suffix);
void wire_cmd_channel(char out[WIRE_KEY_MAX], const char *node);

/* The four keys of a node's records: its connections, its counts per user
 * and per address, its claims (wire_node_key with "", ":u", ":a", ":s"). */
struct wire_node_keys {
    char conns[WIRE_KEY_MAX], users[WIRE_KEY_MAX], addrs[WIRE_KEY_MAX], claims[WIRE_KEY_MAX];
};
void wire_node_keys(struct wire_node_keys *k, const char *node);

/* The claim key of a connection: "d:<display>", "a:<user>\n<client>" for
 * an admin with a client id, or "" for none (it supersedes nothing). */
void wire_claim(char *out, size_t cap, enum conn_type type, const char *name, const char *client);

/* KEYS[1] sse:seq, KEYS[2] sse:events; ARGV: maxlen, the first id (start
 * ms, if sse:seq does not exist), name, data, filter, publish ms, deadline
 * (Redis's clock, ms).  Returns the event's id, or 0 if it ran after the
 * deadline (the publisher gave up on it: it must not be delivered). */
extern const char wire_publish_script[];

/* ARGV: node, user, addr, claim, max per user, max per address, the claim
 * is a display's (1/0), presented the display's key (1/0), client id, public
 * id, a stream of this node is superseded (1/0), guarded (1/0: a display
 * replaces another only with its key, the same client id, or a stale one),
 * the TTL (ms) of the node's records.
 * Returns {"ok", holder node, holder public id}, {"conflict"}, {"user"} or
 * {"address"}. */
extern const char wire_admit_script[];

/* KEYS[1] sse:seq; ARGV: start (ms), the last id this node delivered.
 * Sets sse:seq to the larger if it does not exist, or raises it to the
 * last id if it is below (a Redis that restarted empty, or a replica that
 * took over without the last writes): ids never repeat.  Returns it. */
extern const char wire_seq_floor_script[];

/* ARGV: channel, message, deadline (Redis's clock, ms).  PUBLISH, unless it
 * runs after the deadline.  Returns the receivers, or -1 if too late. */
extern const char wire_send_script[];

/* KEYS[1] sse:cseq, KEYS[2] sse:changes; ARGV[1] a change's JSON
 * (wire_change_json).  Numbers the change (INCR) and publishes it with its
 * number as "q".  Returns the number. */
extern const char wire_change_script[];

/* KEYS[1] sse:cseq; ARGV[1] a number.  Raises sse:cseq to it if it is
 * below (a node that numbered changes itself while Redis was away).
 * Returns what sse:cseq is. */
extern const char wire_floor_script[];

/* KEYS[1] the claims of a node; ARGV: claim, public id, stale (1/0).
 * Updates the claim's state if it is that connection's. */
extern const char wire_claim_state_script[];

/* KEYS[1] the claims of a node; ARGV: claim, public id.  Drops the claim if
 * it is that connection's. */
extern const char wire_unclaim_script[];

/* The JSON of a connection of this node, as sse:node:<node> keeps it and
 * sse:changes carries it.  Returns a new string (caller frees) or NULL. */
char *wire_conn_json(const struct conn_info *ci, const char *token_hash, const char *addr);

/* Parses it (node is the owner's name).  Returns true if it is one. */
bool wire_conn_parse(const char *text, size_t len, const char *node, struct mirror_conn *out);

/* A change of node: kind 'o' (opened), 'c' (closed: reason, at_ms), 's'
 * (state), 'r' (reload: the node registered anew; conn NULL) or 'l' (the
 * node is lost: its streams leave; conn NULL).  Returns a new string
 * (caller frees) or NULL. */
char *wire_change_json(const char *node, char kind, const char *conn_json,
                       enum close_reason reason, int64_t at_ms);

struct wire_change {
    uint64_t q;                     /* its number (wire_change_script), or 0 */
    char node[CONN_NODE_MAX + 1];
    char kind;
    struct mirror_conn conn;        /* 'o', 's'; 'c': info.public_id */
    enum close_reason reason;
    int64_t at_ms;
};

bool wire_change_parse(const char *text, size_t len, struct wire_change *out);

/* A command to a node, or its answer ("done"). */
struct wire_cmd {
    char op[12];                    /* "close", "ack", "done" */
    char public_id[PUBLIC_ID_LEN + 1];
    enum close_reason reason;       /* close */
    uint64_t seq;                   /* ack */
    char from[CONN_NODE_MAX + 1];   /* whom to answer */
    uint64_t req;                   /* the asker's request number (0: no answer) */
    int64_t result;                 /* done: 1/0 closed, or an ack's rtt */
};

char *wire_cmd_json(const struct wire_cmd *c);
bool wire_cmd_parse(const char *text, size_t len, struct wire_cmd *out);

/* A filter as the event stream keeps it ("<type>|<display>|<user>"), and
 * back: the strings point into buf. */
void wire_filter(char *out, size_t cap, const struct filter *f);
void wire_filter_parse(const char *text, char *buf, size_t cap, struct filter *out);

/* A close reason from its name (conn_reason_name); CLOSE_NONE if unknown. */
enum close_reason wire_reason(const char *name);

#endif
