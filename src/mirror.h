/* mirror.h -- the connections the other nodes of a cluster hold, as this
 * node knows them.
 *
 * DESIGN
 * Each node keeps the live connections of the others in memory, from
 * their changes on the bus (hub_redis.c): to list them in stats and the
 * monitor, and to find which node holds a token (by its hash), a public id
 * or a display.  Each entry is what stats shows of a connection, with its
 * node, the hash of its token (never the token) and its address.  A
 * node's entries come and go one by one (opened, closed, state), or all at
 * once (a node loaded after a reconnect; a node lost).  Every change goes
 * to the feed (feed.h) with the mirror's mutex held, like the registry's,
 * and closed ones to the mirror's own closed log.
 *
 * Thread safe: one mutex.  Lock order: registry -> mirror -> feed (a
 * snapshot of the whole cluster holds the first two together). */
#ifndef SSE_MIRROR_H
#define SSE_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "registry.h"

#define MIRROR_HASH_LEN 64          /* a token's SHA-256 in hex */

/* One connection of another node. */
struct mirror_conn {
    struct conn_info info;          /* info.node: its node */
    char token_hash[MIRROR_HASH_LEN + 1];
    char addr[CONN_ADDR_MAX + 1];
};

struct feed;
struct mirror;

/* An empty mirror whose changes go to f (NULL: nowhere).  NULL when out of
 * memory. */
struct mirror *mirror_create(struct feed *f);

/* NULL does nothing. */
void mirror_free(struct mirror *m);

/* A connection opened on its node, or changed (state, counters): added or
 * replaced by public id.  The feed gets FEED_OPENED for a new one, or
 * FEED_STATE when its state changed, numbered seq if that is above the
 * feed's (the cluster's number of the change; 0: the next).  Returns false
 * when out of memory. */
bool mirror_put(struct mirror *m, const struct mirror_conn *mc, int64_t at_ms, uint64_t seq);

/* The connection with public_id on node closed with reason at at_ms.
 * Returns true if the mirror had it (the feed gets FEED_CLOSED, numbered as
 * by mirror_put()). */
bool mirror_remove(struct mirror *m, const char *node, const char *public_id,
                   enum close_reason reason, int64_t at_ms, uint64_t seq);

/* Every connection of node leaves with reason (a node lost: node_lost),
 * the first numbered seq as by mirror_put(), the others after it.
 * Returns how many. */
size_t mirror_drop_node(struct mirror *m, const char *node, enum close_reason reason,
                        int64_t at_ms, uint64_t seq);

/* What node holds now, all of it (loaded after a reconnect): connections
 * the mirror had and node no longer lists leave (reason CLOSE_CLIENT_CLOSED
 * if they went while nobody watched), new ones come, each numbered by the
 * feed.  Returns how many changes that made, or -1 when out of memory. */
long mirror_load_node(struct mirror *m, const char *node, const struct mirror_conn *v, size_t n,
                      int64_t at_ms);

/* A change of this node's own streams as the cluster numbered it (ch->seq):
 * to the feed alone, under the mirror's mutex like the others' changes
 * (this node's streams are in its registry, not here). */
struct feed_change;
void mirror_own(struct mirror *m, struct feed_change *ch);

/* feed_resync() on the mirror's feed, under its mutex. */
void mirror_resync(struct mirror *m);

/* Lookups: the node holding the connection with this token hash, or
 * public id; the live stream of a display (newest, if two nodes briefly
 * hold one).  Each copies into its out arguments and returns true if
 * found.  O(1). */
bool mirror_find_token(struct mirror *m, const char *token_hash, struct mirror_conn *out);
bool mirror_find_public_id(struct mirror *m, const char *public_id, struct mirror_conn *out);
bool mirror_display(struct mirror *m, const char *name, struct conn_info *out);

/* A registry_also_fn (registry.h) with the mirror as ctx: adds the
 * mirror's counts to s, and with list its connections (after the
 * registry's); sets s->seq.  Returns 0, or -1 when out of memory. */
int mirror_add_to(void *ctx, struct registry_snapshot *s, bool list);

/* How many of its connections f reaches. */
struct filter;
size_t mirror_count_matching(struct mirror *m, const struct filter *f);

/* How many connections of node the mirror holds, and in all. */
size_t mirror_count(struct mirror *m, const char *node);

/* The closed log of the other nodes' connections, as closed_log_copy(). */
long mirror_closed(struct mirror *m, struct closed_info **out, uint64_t totals[CLOSE_REASONS]);

#endif
