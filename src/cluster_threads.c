/* cluster_threads.c -- the threads of a cluster node that talk to Redis
 * (see cluster.h), each on a connection of its own:
 *
 *   reader      reads sse:events (XREAD BLOCK) and delivers each event to
 *               this node's streams, in order;
 *   subscriber  listens on sse:changes (the others' streams, into the
 *               mirror) and sse:cmd:<node> (close, ack, answers);
 *   writer      writes this node's changes, answers and claims, in the
 *               order they happened (one connection: what it publishes
 *               arrives in that order);
 *   beat        every half heartbeat: this node is alive, its records
 *               keep their TTL, and which other nodes are alive or lost. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "cluster_node.h"
#include "feed.h"
#include "log.h"
#include "timeutil.h"

#define SYNC_AT_START_MS 5000       /* how long a node tries Redis before it serves */
#define XREAD_BLOCK_MS "500"        /* under the command timeout (RCONN_TIMEOUT_MS) */
#define XREAD_COUNT "256"
#define LOST_FORGET_MS (3600 * 1000)    /* a lost node leaves the list after an hour */
#define ALIVE_BEATS 2               /* a node's alive key lives this many heartbeats: it
                                       is refreshed every half one, and checked as often,
                                       so a stopped node is lost within 2.5 (< 3) */

/* ---- small helpers ------------------------------------------------------------ */

static void sleep_ms(int64_t ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Sleeps ms, in steps, unless the node is stopping. */
static void nap(struct cnode *n, int64_t ms)
{
    int64_t until = time_mono_ms() + ms;
    while (!atomic_load(&n->stopping) && time_mono_ms() < until)
        sleep_ms(until - time_mono_ms() < 100 ? until - time_mono_ms() : 100);
}

void cnode_down(struct cnode *n, const char *what)
{
    if (atomic_exchange(&n->up, false)) {
        log_warn("cluster: Redis unreachable (%s: %s); degraded until it answers",
                 what, rconn_error(n->cmd));
        /* Changes on their way through Redis may never come back: whoever
         * watches fetches the list again, and this node's changes go to
         * its feed directly until Redis answers. */
        mirror_resync(n->mirror);
    }
}

/* After this node numbered changes itself (Redis away, a node reloaded),
 * the cluster's numbers go on above its own, and whoever watches here
 * fetches the list again.  Returns 0, or -1 if Redis failed. */
static int renumber(struct cnode *n, struct rconn *c)
{
    char seq[24];
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)feed_seq(n->hub.feed));
    const char *argv[] = { "EVAL", wire_floor_script, "1", WIRE_CSEQ, seq };
    redisReply *r = rconn_command(c, 5, argv, NULL);
    if (!r)
        return -1;
    freeReplyObject(r);
    mirror_resync(n->mirror);
    return 0;
}

long cnode_publish(struct cnode *n, const char *channel, const char *message)
{
    char deadline[24];
    pthread_mutex_lock(&n->cmd_mu);
    snprintf(deadline, sizeof deadline, "%lld", (long long)cnode_deadline(n->cmd));
    const char *argv[] = { "EVAL", wire_send_script, "0", channel, message, deadline };
    redisReply *r = rconn_command(n->cmd, 6, argv, NULL);
    pthread_mutex_unlock(&n->cmd_mu);
    if (!r) {
        cnode_down(n, "publish");
        return -1;
    }
    long receivers = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : -1;
    freeReplyObject(r);
    return receivers;
}

/* ---- the writer: this node's changes, in order ------------------------------------ */

static void enqueue(struct cnode *n, struct op *op)
{
    op->next = NULL;
    pthread_mutex_lock(&n->wq_mu);
    if (n->wq_tail)
        n->wq_tail->next = op;
    else
        n->wq_head = op;
    n->wq_tail = op;
    pthread_cond_signal(&n->wq_cond);
    pthread_mutex_unlock(&n->wq_mu);
}

static void ask_reregister(struct cnode *n)
{
    pthread_mutex_lock(&n->wq_mu);
    n->reregister = true;
    pthread_cond_signal(&n->wq_cond);
    pthread_mutex_unlock(&n->wq_mu);
}

/* The registry's feed's subscriber: this node's changes become ops.  They
 * reach this node's own view (hub.feed) when Redis publishes them back,
 * numbered; while Redis is away, directly.  Called with the registry and
 * its feed's mutexes held; takes the mirror's (then the view's feed's) and
 * the leaf locks only. */
static void on_change(void *ctx, const struct feed_change *ch)
{
    struct cnode *n = ctx;
    if (ch->kind == FEED_RESYNC)
        return;
    if (!atomic_load(&n->up)) {
        struct feed_change direct = *ch;
        direct.seq = 0;
        mirror_own(n->mirror, &direct);
    }
    struct op *op = calloc(1, sizeof *op);
    if (!op) {
        ask_reregister(n);          /* a change lost: write everything anew */
        return;
    }
    op->kind = ch->kind == FEED_OPENED ? OP_OPENED : ch->kind == FEED_CLOSED ? OP_CLOSED : OP_STATE;
    op->info = *ch->info;
    op->info.stale = ch->stale;
    op->reason = ch->reason;
    op->at_ms = ch->at_ms;
    op->seq = ch->seq;
    struct local_conn lc;
    if (cnode_local_get(n, ch->info->public_id, &lc, ch->kind == FEED_CLOSED)) {
        memcpy(op->token_hash, lc.token_hash, sizeof op->token_hash);
        memcpy(op->addr, lc.addr, sizeof op->addr);
    }
    enqueue(n, op);
}

void cnode_release(struct cnode *n, const struct conn *c)
{
    struct op *op = calloc(1, sizeof *op);
    if (!op) {
        ask_reregister(n);
        return;
    }
    op->kind = OP_RELEASE;
    op->info.type = c->type;
    memcpy(op->info.public_id, c->public_id, sizeof op->info.public_id);
    memcpy(op->info.name, c->name, sizeof op->info.name);
    memcpy(op->info.client, c->client, sizeof op->info.client);
    memcpy(op->addr, c->addr, sizeof op->addr);
    enqueue(n, op);
}

/* Queues an answer to a command (sent after every change queued before it). */
static void answer(struct cnode *n, const char *to, uint64_t req, int64_t result)
{
    struct wire_cmd done = { .req = req, .result = result };
    snprintf(done.op, sizeof done.op, "done");
    snprintf(done.from, sizeof done.from, "%s", n->o.node);
    struct op *op = calloc(1, sizeof *op);
    if (!op || !(op->message = wire_cmd_json(&done))) {
        free(op);
        return;                     /* the asker times out: 503 */
    }
    op->kind = OP_REPLY;
    wire_cmd_channel(op->channel, to);
    enqueue(n, op);
}

/* A pipeline's commands, built up one by one (argv copies are not kept:
 * hiredis formats each command when it is appended). */
static void cmd3(struct rconn *c, const char *a, const char *b, const char *d)
{
    const char *argv[] = { a, b, d };
    rconn_append(c, 3, argv, NULL);
}

static void cmd4(struct rconn *c, const char *a, const char *b, const char *d, const char *e)
{
    const char *argv[] = { a, b, d, e };
    rconn_append(c, 4, argv, NULL);
}

static void script(struct rconn *c, const char *body, const char *key, const char *a1,
                   const char *a2, const char *a3)
{
    const char *argv[] = { "EVAL", body, "1", key, a1, a2, a3 };
    rconn_append(c, a3 ? 7 : 6, argv, NULL);
}

/* Numbers a change and publishes it (wire_change_script). */
static void publish_change(struct rconn *c, const char *change)
{
    const char *argv[] = { "EVAL", wire_change_script, "2", WIRE_CSEQ, WIRE_CHANGES, change };
    rconn_append(c, 6, argv, NULL);
}

/* Appends the commands of op to the writer's pipeline. */
static void append_op(struct cnode *n, struct rconn *w, const struct op *op)
{
    struct wire_node_keys k;
    char claim[CONN_NAME_MAX + CONN_CLIENT_MAX + 4];
    wire_node_keys(&k, n->o.node);
    wire_claim(claim, sizeof claim, op->info.type, op->info.name, op->info.client);
    const struct conn_info *ci = &op->info;
    char *json = NULL, *change = NULL;
    switch (op->kind) {
    case OP_OPENED:
    case OP_STATE:
        json = wire_conn_json(ci, op->token_hash, op->addr);
        change = json ? wire_change_json(n->o.node, op->kind == OP_OPENED ? 'o' : 's', json,
                                         CLOSE_NONE, op->at_ms) : NULL;
        if (!change)
            break;
        cmd4(w, "HSET", k.conns, ci->public_id, json);
        if (op->kind == OP_STATE && claim[0])
            script(w, wire_claim_state_script, k.claims, claim, ci->public_id, ci->stale ? "1" : "0");
        publish_change(w, change);
        break;
    case OP_CLOSED:
    case OP_RELEASE:
        if (op->kind == OP_CLOSED)
            cmd3(w, "HDEL", k.conns, ci->public_id);
        if (ci->type == CONN_ADMIN)
            cmd4(w, "HINCRBY", k.users, ci->name, "-1");
        if (op->addr[0])
            cmd4(w, "HINCRBY", k.addrs, op->addr, "-1");
        if (claim[0])
            script(w, wire_unclaim_script, k.claims, claim, ci->public_id, NULL);
        if (op->kind == OP_RELEASE)
            break;
        json = wire_conn_json(ci, op->token_hash, op->addr);
        change = json ? wire_change_json(n->o.node, 'c', json, op->reason, op->at_ms) : NULL;
        if (change)
            publish_change(w, change);
        break;
    case OP_REPLY:
    case OP_PUBLISH:
        cmd3(w, "PUBLISH", op->channel, op->message);
        break;
    }
    free(json);
    free(change);
}

static void free_ops(struct op *op)
{
    while (op) {
        struct op *next = op->next;
        free(op->message);
        free(op);
        op = next;
    }
}

/* Appends the PEXPIRE of this node's four records: they vanish by
 * themselves unless a heartbeat refreshes them. */
static void expire_records(struct cnode *n, struct rconn *c, const struct wire_node_keys *k)
{
    char ttl[24];
    cnode_records_ttl(&n->o, ttl);
    const char *keys[] = { k->conns, k->users, k->addrs, k->claims };
    for (int i = 0; i < 4; i++)
        cmd3(c, "PEXPIRE", keys[i], ttl);
}

/* Writes every stream of this node anew (after Redis lost them, or this
 * node lost Redis for a while): its records, counts and claims, with their
 * TTL, then tells the others to load them.  Ops about changes the snapshot
 * already holds (seq at most its seq) are dropped from *ops.  Returns 0 or
 * -1. */
static int register_all(struct cnode *n, struct rconn *w, struct op **ops)
{
    struct registry_snapshot s;
    if (registry_snapshot(n->reg, &s) < 0)
        return -1;
    for (struct op **pp = ops; *pp;) {
        struct op *op = *pp;
        if ((op->kind == OP_OPENED || op->kind == OP_CLOSED || op->kind == OP_STATE) &&
            op->seq <= s.seq) {
            *pp = op->next;
            op->next = NULL;
            free_ops(op);
        } else {
            pp = &op->next;
        }
    }
    struct wire_node_keys k;
    wire_node_keys(&k, n->o.node);
    const char *del[] = { "DEL", k.conns, k.users, k.addrs, k.claims };
    rconn_append(w, 5, del, NULL);
    for (size_t i = 0; i < s.nconns; i++) {
        const struct conn_info *ci = &s.conns[i];
        struct local_conn lc = { 0 };
        cnode_local_get(n, ci->public_id, &lc, false);
        char *json = wire_conn_json(ci, lc.token_hash, lc.addr);
        if (json)
            cmd4(w, "HSET", k.conns, ci->public_id, json);
        free(json);
        if (ci->type == CONN_ADMIN)
            cmd4(w, "HINCRBY", k.users, ci->name, "1");
        if (lc.addr[0])
            cmd4(w, "HINCRBY", k.addrs, lc.addr, "1");
        char claim[CONN_NAME_MAX + CONN_CLIENT_MAX + 4], value[PUBLIC_ID_LEN + CONN_CLIENT_MAX + 8];
        wire_claim(claim, sizeof claim, ci->type, ci->name, ci->client);
        snprintf(value, sizeof value, "%s %d %s", ci->public_id, ci->stale ? 1 : 0, ci->client);
        if (claim[0])
            cmd4(w, "HSET", k.claims, claim, value);
    }
    registry_snapshot_release(&s);
    expire_records(n, w, &k);
    char *reload = wire_change_json(n->o.node, 'r', NULL, CLOSE_NONE, time_now_ms());
    if (reload)
        publish_change(w, reload);
    free(reload);
    int rc = rconn_flush(w, NULL, NULL);
    if (rc == 0)
        log_info("cluster: registered this node's %zu streams in Redis", s.nconns);
    return rc;
}

static void *writer_main(void *arg)
{
    struct cnode *n = arg;
    struct rconn *w = rconn_create(&n->o.url, n->o.node);
    for (;;) {
        pthread_mutex_lock(&n->wq_mu);
        while (!atomic_load(&n->stopping) && !n->wq_head && !n->reregister) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&n->wq_cond, &n->wq_mu, &ts);
        }
        bool stop = atomic_load(&n->stopping) && !n->wq_head;
        struct op *ops = n->wq_head;
        n->wq_head = n->wq_tail = NULL;
        bool rereg = n->reregister;
        n->reregister = false;
        pthread_mutex_unlock(&n->wq_mu);
        if (stop)
            break;
        if (!w)
            w = rconn_create(&n->o.url, n->o.node);
        int rc = w ? 0 : -1;
        if (rc == 0 && rereg)
            rc = register_all(n, w, &ops);
        if (rc == 0 && ops) {
            bool opened = false;
            for (struct op *op = ops; op; op = op->next) {
                append_op(n, w, op);
                opened |= op->kind == OP_OPENED;
            }
            if (opened) {
                /* The hash may be new: it expires even if this node dies
                 * before its next heartbeat refreshes it. */
                char key[WIRE_KEY_MAX], ttl[24];
                wire_node_key(key, n->o.node, NULL);
                cnode_records_ttl(&n->o, ttl);
                cmd3(w, "PEXPIRE", key, ttl);
            }
            rc = rconn_flush(w, NULL, NULL);
        }
        free_ops(ops);
        if (rc < 0) {
            /* What was lost is written anew once Redis answers. */
            cnode_down(n, w ? rconn_error(w) : "out of memory");
            ask_reregister(n);
            nap(n, RCONN_RETRY_MS);
        }
    }
    /* Stopping: this node's streams have closed (and said so above); its
     * records go, so that nobody waits for them to expire. */
    if (w && atomic_load(&n->up)) {
        char alive[WIRE_KEY_MAX];
        struct wire_node_keys k;
        wire_alive_key(alive, n->o.node);
        wire_node_keys(&k, n->o.node);
        const char *del[] = { "DEL", alive, k.conns, k.users, k.addrs, k.claims };
        rconn_append(w, 6, del, NULL);
        cmd3(w, "HDEL", WIRE_NODES, n->o.node);
        rconn_flush(w, NULL, NULL);
    }
    rconn_free(w);
    return NULL;
}

/* ---- the reader: the cluster's events, delivered here ------------------------------- */

/* The id of a stream entry "<id>-1". */
static uint64_t entry_id(const redisReply *e)
{
    return e->type == REDIS_REPLY_ARRAY && e->elements == 2 && e->element[0]->str
               ? strtoull(e->element[0]->str, NULL, 10) : 0;
}

/* Delivers one stream entry [id, [field, value, ...]] here. */
static void deliver(struct cnode *n, const redisReply *e)
{
    uint64_t id = entry_id(e);
    if (!id)
        return;
    const redisReply *f = e->element[1];
    const char *name = NULL, *data = NULL, *filter = "";
    size_t len = 0;
    int64_t at = 0;
    for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2) {
        const char *k = f->element[i]->str;
        const redisReply *v = f->element[i + 1];
        if (!k || !v->str)
            continue;
        if (strcmp(k, "n") == 0)
            name = v->str;
        else if (strcmp(k, "d") == 0)
            data = v->str, len = v->len;
        else if (strcmp(k, "f") == 0)
            filter = v->str;
        else if (strcmp(k, "t") == 0)
            at = strtoll(v->str, NULL, 10);
    }
    if (!name || !data)
        return;
    char buf[2 * CONN_NAME_MAX + 16];
    struct filter to;
    wire_filter_parse(filter, buf, sizeof buf, &to);
    struct hub_event ev = { .name = name, .data = data, .len = len, .to = &to, .at_ms = at };
    struct hub_published out;
    if (hub_local_deliver(n->local, id, &ev, &out) < 0)
        log_warn("cluster: event %llu not delivered here: out of memory", (unsigned long long)id);
}

static void delivered(struct cnode *n)
{
    pthread_mutex_lock(&n->deliv_mu);
    pthread_cond_broadcast(&n->deliv_cond);
    pthread_mutex_unlock(&n->deliv_mu);
}

/* Reads where the cluster's events are and catches up: the first time, the
 * history starts there (with what sse:events still keeps); after an
 * outage, what was published meanwhile is delivered.  Returns 0 or -1. */
static int sync_events(struct cnode *n, struct rconn *rd, bool first)
{
    char now[24], mine[24], count[24];
    uint64_t last = hub_local_last_id(n->local);
    snprintf(now, sizeof now, "%lld", (long long)time_now_ms());
    snprintf(mine, sizeof mine, "%llu", (unsigned long long)last);
    snprintf(count, sizeof count, "%zu", n->o.history_max ? n->o.history_max : 1);
    /* Every node must count from the same place: the first one to look
     * starts the ids at its clock; a Redis that lost the last ids (it
     * restarted empty, a replica took over) goes on past the last one this
     * node delivered, so that no id is given twice. */
    const char *floor[] = { "EVAL", wire_seq_floor_script, "1", WIRE_SEQ, now, mine };
    const char *range[] = { "XREVRANGE", WIRE_EVENTS, "+", "-", "COUNT", count };
    redisReply *r = rconn_command(rd, 6, floor, NULL);
    if (!r)
        return -1;
    uint64_t seq = r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? (uint64_t)r->integer : 0;
    freeReplyObject(r);
    if (!seq)
        return -1;
    redisReply *v = rconn_command(rd, 6, range, NULL);
    if (!v)
        return -1;
    size_t ne = v->type == REDIS_REPLY_ARRAY ? v->elements : 0;
    uint64_t oldest = ne ? entry_id(v->element[ne - 1]) : 0;
    if (first) {
        if (hub_local_restart(n->local, oldest ? oldest : seq + 1) < 0) {
            freeReplyObject(v);
            return -1;
        }
    } else {
        if (oldest > last + 1)
            log_warn("cluster: events %llu to %llu were trimmed before this node read them",
                     (unsigned long long)last + 1, (unsigned long long)oldest - 1);
    }
    for (size_t i = ne; i-- > 0;)          /* oldest first */
        deliver(n, v->element[i]);
    freeReplyObject(v);
    delivered(n);
    return 0;
}

static void *reader_main(void *arg)
{
    struct cnode *n = arg;
    struct rconn *rd = rconn_create(&n->o.url, n->o.node);
    bool synced = false, ever = false;
    while (rd && !atomic_load(&n->stopping)) {
        if (!synced) {
            if (rconn_ensure(rd) < 0 || sync_events(n, rd, !ever) < 0) {
                nap(n, RCONN_RETRY_MS);
                continue;
            }
            synced = ever = true;
            pthread_mutex_lock(&n->deliv_mu);
            n->synced = true;
            pthread_cond_broadcast(&n->deliv_cond);
            pthread_mutex_unlock(&n->deliv_mu);
        }
        char from[32];
        snprintf(from, sizeof from, "%llu-1", (unsigned long long)hub_local_last_id(n->local));
        const char *argv[] = { "XREAD", "COUNT", XREAD_COUNT, "BLOCK", XREAD_BLOCK_MS, "STREAMS",
                               WIRE_EVENTS, from };
        redisReply *r = rconn_command(rd, 8, argv, NULL);
        if (!r) {
            synced = false;
            cnode_down(n, "read events");
            continue;
        }
        /* [[key, [entry...]]] or nil on timeout */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
            const redisReply *entries = r->element[0]->element[1];
            for (size_t i = 0; i < entries->elements; i++)
                deliver(n, entries->element[i]);
            delivered(n);
        } else if (r->type == REDIS_REPLY_ERROR) {
            log_warn("cluster: XREAD: %s", r->str);
            nap(n, RCONN_RETRY_MS);
        }
        freeReplyObject(r);
    }
    rconn_free(rd);
    return NULL;
}

/* ---- the subscriber: the other nodes' changes, and commands ---------------------------- */

/* Loads node's streams from its hash into the mirror (after a reconnect,
 * a reload, a node back from lost).  Returns how many changes that made,
 * or -1 if Redis failed. */
static long load_node(struct cnode *n, struct rconn *c, const char *node)
{
    char key[WIRE_KEY_MAX];
    wire_node_key(key, node, NULL);
    const char *argv[] = { "HGETALL", key };
    redisReply *r = rconn_command(c, 2, argv, NULL);
    if (!r)
        return -1;
    size_t cap = r->type == REDIS_REPLY_ARRAY ? r->elements / 2 : 0, k = 0;
    struct mirror_conn *v = calloc(cap ? cap : 1, sizeof *v);
    for (size_t i = 0; v && i + 1 < (r->type == REDIS_REPLY_ARRAY ? r->elements : 0); i += 2) {
        const redisReply *val = r->element[i + 1];
        if (val->str && wire_conn_parse(val->str, val->len, node, &v[k]))
            k++;
    }
    long changes = v ? mirror_load_node(n->mirror, node, v, k, time_now_ms()) : -1;
    free(v);
    freeReplyObject(r);
    return changes < 0 ? 0 : changes;
}

/* Every other node's streams, as Redis has them now.  Returns 0 or -1. */
static int load_all(struct cnode *n, struct rconn *c)
{
    const char *argv[] = { "HKEYS", WIRE_NODES };
    redisReply *r = rconn_command(c, 2, argv, NULL);
    if (!r)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *node = r->element[i]->str;
        if (!node || strcmp(node, n->o.node) == 0)
            continue;
        char alive[WIRE_KEY_MAX];
        wire_alive_key(alive, node);
        const char *ex[] = { "EXISTS", alive };
        redisReply *a = rconn_command(c, 2, ex, NULL);
        if (!a) {
            rc = -1;
            break;
        }
        bool up = a->type == REDIS_REPLY_INTEGER && a->integer == 1;
        freeReplyObject(a);
        if (up && load_node(n, c, node) < 0)
            rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

/* Finds or adds node in the table.  Called with nodes_mu held. */
static struct node_state *node_entry(struct cnode *n, const char *name)
{
    for (size_t i = 0; i < n->nnodes; i++)
        if (strcmp(n->nodes[i].name, name) == 0)
            return &n->nodes[i];
    if (n->nnodes == NODES_MAX)
        return NULL;
    struct node_state *ns = &n->nodes[n->nnodes++];
    memset(ns, 0, sizeof *ns);
    snprintf(ns->name, sizeof ns->name, "%s", name);
    ns->lost = true;                /* until seen alive */
    return ns;
}

/* This node's own change, back from Redis with its number: to its view.
 * (Its streams themselves are in its registry.) */
static void own_change(struct cnode *n, const struct wire_change *ch)
{
    struct feed_change fc = {
        .seq = ch->q,
        .kind = ch->kind == 'o' ? FEED_OPENED : ch->kind == 'c' ? FEED_CLOSED : FEED_STATE,
        .info = &ch->conn.info,
        .stale = ch->conn.info.stale,
        .reason = ch->reason,
        .at_ms = ch->at_ms,
    };
    mirror_own(n->mirror, &fc);
}

/* A change on sse:changes: every node gets the same ones in the same order,
 * with the cluster's numbers, so every node's view numbers them alike. */
static void on_changes_message(struct cnode *n, struct rconn *sy, const char *text, size_t len)
{
    struct wire_change ch;
    if (!wire_change_parse(text, len, &ch))
        return;
    if (strcmp(ch.node, n->o.node) == 0) {
        if (ch.kind == 'o' || ch.kind == 'c' || ch.kind == 's')
            own_change(n, &ch);
        return;
    }
    switch (ch.kind) {
    case 'o':
    case 's':
        mirror_put(n->mirror, &ch.conn, ch.at_ms, ch.q);
        break;
    case 'c':
        mirror_remove(n->mirror, ch.node, ch.conn.info.public_id, ch.reason, ch.at_ms, ch.q);
        break;
    case 'r':
        /* Each node numbers what the reload changed itself: */
        if (load_node(n, sy, ch.node) > 0)
            renumber(n, sy);
        break;
    case 'l': {
        pthread_mutex_lock(&n->nodes_mu);
        struct node_state *ns = node_entry(n, ch.node);
        if (ns)
            ns->lost = true;
        pthread_mutex_unlock(&n->nodes_mu);
        size_t dropped = mirror_drop_node(n->mirror, ch.node, CLOSE_NODE_LOST, ch.at_ms, ch.q);
        if (dropped)
            log_warn("cluster: node %s lost; its %zu streams leave", ch.node, dropped);
        break;
    }
    }
}

static void on_command(struct cnode *n, const char *text, size_t len)
{
    struct wire_cmd cmd;
    if (!wire_cmd_parse(text, len, &cmd))
        return;
    if (strcmp(cmd.op, "done") == 0) {
        cnode_answered(n, cmd.req, cmd.result);
    } else if (strcmp(cmd.op, "close") == 0) {
        enum close_reason why = cmd.reason == CLOSE_NONE ? CLOSE_ADMIN_CLOSED : cmd.reason;
        bool closed = registry_remove_public_id(n->reg, cmd.public_id, why);
        if (cmd.req && cmd.from[0])
            answer(n, cmd.from, cmd.req, closed ? 1 : 0);
    } else if (strcmp(cmd.op, "ack") == 0) {
        int64_t rtt = registry_ack_public_id(n->reg, cmd.public_id, cmd.seq);
        if (cmd.req && cmd.from[0])
            answer(n, cmd.from, cmd.req, rtt);
    }
}

static void *subscriber_main(void *arg)
{
    struct cnode *n = arg;
    struct rconn *sub = rconn_create(&n->o.url, n->o.node);
    struct rconn *sy = rconn_create(&n->o.url, n->o.node);
    char mine[WIRE_KEY_MAX];
    wire_cmd_channel(mine, n->o.node);
    bool subscribed = false;
    while (sub && sy && !atomic_load(&n->stopping)) {
        if (!subscribed) {
            /* Subscribe first, then load: a change that comes meanwhile is
             * applied after the load, and the mirror converges. */
            const char *argv[] = { "SUBSCRIBE", WIRE_CHANGES, mine };
            redisReply *r = rconn_command(sub, 3, argv, NULL);
            if (!r || load_all(n, sy) < 0 || renumber(n, sy) < 0) {
                if (r)
                    freeReplyObject(r);
                nap(n, RCONN_RETRY_MS);
                continue;
            }
            freeReplyObject(r);
            subscribed = true;
        }
        bool timed_out;
        redisReply *r = rconn_read(sub, 500, &timed_out);
        if (!r) {
            if (!timed_out) {
                subscribed = false;
                cnode_down(n, "subscribe");
            }
            continue;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->str &&
            strcmp(r->element[0]->str, "message") == 0 && r->element[1]->str && r->element[2]->str) {
            if (strcmp(r->element[1]->str, WIRE_CHANGES) == 0)
                on_changes_message(n, sy, r->element[2]->str, r->element[2]->len);
            else
                on_command(n, r->element[2]->str, r->element[2]->len);
        }
        freeReplyObject(r);
    }
    rconn_free(sub);
    rconn_free(sy);
    return NULL;
}

/* ---- the heartbeat: alive, records kept, the others checked --------------------------- */

struct beat_replies {
    long exists;                    /* EXISTS sse:node:<me> */
    redisReply *nodes;              /* HGETALL sse:nodes (kept) */
};

/* One heartbeat.  Returns 0, or -1 if Redis failed. */
static int beat_once(struct cnode *n, struct rconn *b)
{
    if (rconn_ensure(b) < 0)
        return -1;
    char alive[WIRE_KEY_MAX], px[24], info[64];
    struct wire_node_keys k;
    wire_alive_key(alive, n->o.node);
    wire_node_keys(&k, n->o.node);
    snprintf(px, sizeof px, "%lld", (long long)(ALIVE_BEATS * n->o.heartbeat_ms));
    int64_t now = time_now_ms();
    size_t mine = registry_count(n->reg);
    snprintf(info, sizeof info, "{\"t\":%lld,\"n\":%zu}", (long long)now, mine);
    const char *set[] = { "SET", alive, "1", "PX", px };
    rconn_append(b, 5, set, NULL);
    cmd4(b, "HSET", WIRE_NODES, n->o.node, info);
    expire_records(n, b, &k);
    const char *ex[] = { "EXISTS", k.conns };
    rconn_append(b, 2, ex, NULL);
    const char *all[] = { "HGETALL", WIRE_NODES };
    rconn_append(b, 2, all, NULL);
    redisReply *r;
    long exists = 1;
    redisReply *nodes = NULL;
    for (int i = 0; i < 8; i++) {
        if (!(r = rconn_read_pipelined(b)))
            return -1;
        if (i == 6)
            exists = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : 1;
        if (i == 7)
            nodes = r;
        else
            freeReplyObject(r);
    }
    bool was_up = atomic_exchange(&n->up, true);
    if (!was_up || !n->up_since_mono)
        n->up_since_mono = time_mono_ms();
    if (!was_up) {
        log_info("cluster: Redis answers again; registering this node's streams");
        ask_reregister(n);
        if (renumber(n, b) < 0) {
            freeReplyObject(nodes);
            return -1;
        }
    } else if (exists == 0 && mine > 0) {
        log_warn("cluster: this node's records had expired in Redis; registering them anew");
        ask_reregister(n);
    }
    /* Which other nodes are alive.  Right after an outage (or a start),
     * every alive key may have expired in a Redis that was paused: none is
     * called lost before it had the time to say it is alive (its TTL). */
    bool settled = time_mono_ms() - n->up_since_mono >= ALIVE_BEATS * n->o.heartbeat_ms;
    pthread_mutex_lock(&n->nodes_mu);
    uint64_t beat = ++n->beats;
    pthread_mutex_unlock(&n->nodes_mu);
    size_t nn = nodes && nodes->type == REDIS_REPLY_ARRAY ? nodes->elements / 2 : 0;
    for (size_t i = 0; i < nn; i++) {
        const char *name = nodes->element[2 * i]->str;
        char a[WIRE_KEY_MAX];
        wire_alive_key(a, name ? name : "");
        const char *e2[] = { "EXISTS", a };
        rconn_append(b, 2, e2, NULL);
    }
    bool ok = true;
    const char *back[NODES_MAX];    /* nodes up again: loaded once the pipeline is read */
    size_t nback = 0;
    for (size_t i = 0; i < nn; i++) {
        redisReply *e = rconn_read_pipelined(b);
        if (!e) {
            ok = false;
            break;
        }
        const char *name = nodes->element[2 * i]->str;
        const redisReply *val = nodes->element[2 * i + 1];
        bool up = e->type == REDIS_REPLY_INTEGER && e->integer == 1;
        freeReplyObject(e);
        if (!name)
            continue;
        long long seen = 0;
        size_t count = 0;
        if (val->str)
            sscanf(val->str, "{\"t\":%lld,\"n\":%zu}", &seen, &count);
        bool is_me = strcmp(name, n->o.node) == 0;
        pthread_mutex_lock(&n->nodes_mu);
        struct node_state *ns = node_entry(n, name);
        bool was_lost = ns ? ns->lost : false;
        if (ns) {
            ns->beat = beat;
            ns->last_seen_ms = is_me ? now : seen;
            ns->connections = is_me ? mine : count;
            ns->lost = !up && !is_me && (settled || was_lost);
        }
        bool forget = ns && ns->lost && !is_me && now - seen > LOST_FORGET_MS;
        pthread_mutex_unlock(&n->nodes_mu);
        if (is_me || !ns)
            continue;
        if (!up && settled && mirror_count(n->mirror, name) > 0) {
            /* Through Redis, numbered, so that every node drops them as
             * one change of the cluster (any node that sees it first says
             * so; the others' drops find nothing left). */
            char *lost = wire_change_json(name, 'l', NULL, CLOSE_NODE_LOST, now);
            if (lost)
                publish_change(b, lost);
            free(lost);
        } else if (up && was_lost && nback < NODES_MAX) {
            log_info("cluster: node %s is up", name);
            back[nback++] = name;
        }
        if (forget)
            cmd3(b, "HDEL", WIRE_NODES, name);
    }
    if (ok && rconn_flush(b, NULL, NULL) < 0)
        ok = false;
    /* A node that stopped and said so (it left sse:nodes) leaves the list. */
    pthread_mutex_lock(&n->nodes_mu);
    for (size_t i = 0; ok && i < n->nnodes;) {
        if (n->nodes[i].beat != beat && strcmp(n->nodes[i].name, n->o.node) != 0)
            n->nodes[i] = n->nodes[--n->nnodes];
        else
            i++;
    }
    pthread_mutex_unlock(&n->nodes_mu);
    long changed = 0;
    for (size_t i = 0; ok && i < nback; i++) {
        long c = load_node(n, b, back[i]);
        ok = c >= 0;
        changed += ok ? c : 0;
    }
    if (ok && changed > 0 && renumber(n, b) < 0)
        ok = false;
    if (nodes)
        freeReplyObject(nodes);
    return ok ? 0 : -1;
}

static void *beat_main(void *arg)
{
    struct cnode *n = arg;
    struct rconn *b = rconn_create(&n->o.url, n->o.node);
    while (b && !atomic_load(&n->stopping)) {
        int64_t t0 = time_mono_ms();
        if (beat_once(n, b) < 0)
            cnode_down(n, "heartbeat");
        int64_t left = n->o.heartbeat_ms / 2 - (time_mono_ms() - t0);
        nap(n, left > 10 ? left : 10);
    }
    rconn_free(b);
    return NULL;
}

/* ---- names ------------------------------------------------------------------------- */

bool cluster_valid_node(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > CONN_NODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

void cluster_default_node(char out[CONN_NODE_MAX + 1])
{
    char host[CONN_NODE_MAX + 1] = "node";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)       /* keep it a valid name */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-'))
            *p = '_';
    snprintf(out, CONN_NODE_MAX + 1, "%.48s.%ld", host[0] ? host : "node", (long)getpid());
}

/* ---- start and stop ---------------------------------------------------------------- */

static bool always(void *ctx)
{
    (void)ctx;
    return true;
}

/* A process that starts under the name of one that died less than the
 * records' TTL ago finds that one's records in Redis: its streams leave
 * every node's list as lost (one numbered change, as for any lost node),
 * and its records, counts and claims go, before this process admits a
 * stream.  If Redis cannot be asked now, the first registration (which
 * rewrites the records whole, and has the others reload them) does it. */
static void forget_predecessor(struct cnode *n)
{
    struct wire_node_keys k;
    wire_node_keys(&k, n->o.node);
    const char *ex[] = { "EXISTS", k.conns, k.users, k.addrs, k.claims };
    redisReply *r = rconn_command(n->cmd, 5, ex, NULL);
    long found = r && r->type == REDIS_REPLY_INTEGER ? (long)r->integer : 0;
    if (r)
        freeReplyObject(r);
    if (found <= 0)
        return;
    char *lost = wire_change_json(n->o.node, 'l', NULL, CLOSE_NODE_LOST, time_now_ms());
    if (lost)
        publish_change(n->cmd, lost);
    free(lost);
    const char *del[] = { "DEL", k.conns, k.users, k.addrs, k.claims };
    rconn_append(n->cmd, 5, del, NULL);
    if (rconn_flush(n->cmd, NULL, NULL) == 0)
        log_warn("cluster: an earlier %s left its records in Redis: its streams leave as lost",
                 n->o.node);
}

int cnode_start_threads(struct cnode *n, char *err, size_t errlen)
{
    pthread_mutex_init(&n->wq_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->wq_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (feed_subscribe(hub_feed(n->local), on_change, always, n) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    n->subscribed_feed = true;
    atomic_store(&n->up, true);     /* until something fails */
    forget_predecessor(n);
    void *(*const mains[4])(void *) = { reader_main, subscriber_main, writer_main, beat_main };
    pthread_t *threads[4] = { &n->reader, &n->subscriber, &n->writer, &n->beat };
    for (int i = 0; i < 4; i++) {
        int rc = pthread_create(threads[i], NULL, mains[i], n);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start a cluster thread: %s", strerror(rc));
            return -1;
        }
        n->started[i] = true;
    }
    /* Serve once the ids are known (a resuming stream needs them), or
     * degraded after SYNC_AT_START_MS. */
    int64_t until = time_mono_ms() + SYNC_AT_START_MS;
    pthread_mutex_lock(&n->deliv_mu);
    while (!n->synced && time_mono_ms() < until) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&n->deliv_cond, &n->deliv_mu, &ts);
    }
    bool synced = n->synced;
    pthread_mutex_unlock(&n->deliv_mu);
    char where[300];
    if (synced)
        log_info("cluster: node %s on %s", n->o.node, rconn_url_safe(&n->o.url, where, sizeof where));
    else
        log_warn("cluster: node %s cannot reach Redis at %s yet; serving degraded", n->o.node,
                 rconn_url_safe(&n->o.url, where, sizeof where));
    return 0;
}

void cnode_stop_threads(struct cnode *n)
{
    atomic_store(&n->stopping, true);
    pthread_mutex_lock(&n->wq_mu);
    pthread_cond_signal(&n->wq_cond);
    pthread_mutex_unlock(&n->wq_mu);
    pthread_t threads[4] = { n->reader, n->subscriber, n->writer, n->beat };
    for (int i = 0; i < 4; i++)
        if (n->started[i])
            pthread_join(threads[i], NULL);
    if (n->subscribed_feed)
        feed_unsubscribe(hub_feed(n->local), on_change, n);
    free_ops(n->wq_head);
    n->wq_head = n->wq_tail = NULL;
    pthread_mutex_destroy(&n->wq_mu);
    pthread_cond_destroy(&n->wq_cond);
}
