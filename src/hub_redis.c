/* hub_redis.c -- the hub of a cluster node (see cluster.h for the design;
 * the threads that talk to Redis are in cluster_threads.c). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster_node.h"
#include "feed.h"
#include "history.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "sha256.h"
#include "timeutil.h"

#define CATCH_UP_MS 1000            /* a resuming stream waits for this node's reader */
#define REQUEST_WAIT_MS 3000        /* for the node that holds a stream to answer */

static struct cnode *node_of(struct hub *h)
{
    return (struct cnode *)h;
}

void cnode_token_hash(const char *token, char out[MIRROR_HASH_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t d[SHA256_LEN];
    sha256(token, strlen(token), d);
    for (int i = 0; i < SHA256_LEN; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[MIRROR_HASH_LEN] = '\0';
}

/* ---- this node's streams: what the writer must know of them ---------------- */

static size_t local_hash(const char *public_id)
{
    size_t h = 5381;
    for (; *public_id; public_id++)
        h = h * 33 + (unsigned char)*public_id;
    return h % LOCAL_BUCKETS;
}

int cnode_local_put(struct cnode *n, const char *public_id, const char *token_hash,
                    const char *addr)
{
    struct local_conn *lc = calloc(1, sizeof *lc);
    if (!lc)
        return -1;
    memcpy(lc->public_id, public_id, sizeof lc->public_id);
    memcpy(lc->token_hash, token_hash, sizeof lc->token_hash);
    snprintf(lc->addr, sizeof lc->addr, "%s", addr);
    size_t b = local_hash(public_id);
    pthread_mutex_lock(&n->locals_mu);
    lc->next = n->locals[b];
    n->locals[b] = lc;
    pthread_mutex_unlock(&n->locals_mu);
    return 0;
}

bool cnode_local_get(struct cnode *n, const char *public_id, struct local_conn *out, bool take)
{
    size_t b = local_hash(public_id);
    pthread_mutex_lock(&n->locals_mu);
    struct local_conn **pp = &n->locals[b];
    while (*pp && strcmp((*pp)->public_id, public_id) != 0)
        pp = &(*pp)->next;
    struct local_conn *lc = *pp;
    if (lc) {
        *out = *lc;
        if (take) {
            *pp = lc->next;
            free(lc);
        }
    }
    pthread_mutex_unlock(&n->locals_mu);
    return lc != NULL;
}

/* ---- requests to other nodes ------------------------------------------------ */

int64_t cnode_request(struct cnode *n, const char *node, struct wire_cmd *cmd)
{
    pthread_mutex_lock(&n->req_mu);
    struct request *rq = NULL;
    for (int i = 0; i < REQUESTS_MAX; i++)
        if (!n->requests[i].busy) {
            rq = &n->requests[i];
            break;
        }
    if (!rq) {
        pthread_mutex_unlock(&n->req_mu);
        return HUB_UNAVAILABLE;
    }
    rq->busy = true;
    rq->done = false;
    rq->id = ++n->next_req;
    pthread_mutex_unlock(&n->req_mu);
    cmd->req = rq->id;
    snprintf(cmd->from, sizeof cmd->from, "%s", n->o.node);
    int64_t result = HUB_UNAVAILABLE;
    char chan[WIRE_KEY_MAX];
    wire_cmd_channel(chan, node);
    char *msg = wire_cmd_json(cmd);
    long receivers = msg ? cnode_publish(n, chan, msg) : -1;
    free(msg);
    pthread_mutex_lock(&n->req_mu);
    if (receivers > 0) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += REQUEST_WAIT_MS / 1000;
        until.tv_nsec += (REQUEST_WAIT_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!rq->done && pthread_cond_timedwait(&n->req_cond, &n->req_mu, &until) == 0)
            ;
        if (rq->done)
            result = rq->result;
    }
    rq->busy = false;
    pthread_mutex_unlock(&n->req_mu);
    return result;
}

void cnode_answered(struct cnode *n, uint64_t req, int64_t result)
{
    pthread_mutex_lock(&n->req_mu);
    for (int i = 0; i < REQUESTS_MAX; i++) {
        struct request *rq = &n->requests[i];
        if (rq->busy && rq->id == req) {
            rq->result = result;
            rq->done = true;
            pthread_cond_broadcast(&n->req_cond);
        }
    }
    pthread_mutex_unlock(&n->req_mu);
}

/* ---- the hub's operations ---------------------------------------------------- */

static int cluster_publish(struct hub *h, const struct hub_event *ev, struct hub_published *out)
{
    struct cnode *n = node_of(h);
    char filter[2 * CONN_NAME_MAX + 16], maxlen[24], first[24], at[24], deadline[24];
    wire_filter(filter, sizeof filter, ev->to);
    snprintf(maxlen, sizeof maxlen, "%zu", n->o.history_max ? n->o.history_max : 1);
    snprintf(first, sizeof first, "%lld", (long long)time_now_ms());
    snprintf(at, sizeof at, "%lld", (long long)time_now_ms());
    const char *argv[] = { "EVAL", wire_publish_script, "2", WIRE_SEQ, WIRE_EVENTS, maxlen, first,
                           ev->name, ev->data, filter, at, deadline };
    size_t lens[12];
    pthread_mutex_lock(&n->cmd_mu);
    snprintf(deadline, sizeof deadline, "%lld", (long long)cnode_deadline(n->cmd));
    for (int i = 0; i < 12; i++)
        lens[i] = strlen(argv[i]);
    lens[8] = ev->len;
    redisReply *r = rconn_command(n->cmd, 12, argv, lens);
    pthread_mutex_unlock(&n->cmd_mu);
    if (!r) {
        cnode_down(n, "publish");
        return HUB_UNAVAILABLE;
    }
    int rc = HUB_UNAVAILABLE;
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
        log_warn("cluster: Redis ran a publish after its deadline: not delivered");
    } else if (r->type == REDIS_REPLY_INTEGER) {
        out->id = (uint64_t)r->integer;
        out->notified = registry_count_matching(n->reg, ev->to) +
                        mirror_count_matching(n->mirror, ev->to);
        metrics_add(n->metrics, METRIC_EVENTS_PUBLISHED, 1);
        rc = 0;
    } else {
        log_warn("cluster: publish refused by Redis: %s", r->type == REDIS_REPLY_ERROR ? r->str : "?");
    }
    freeReplyObject(r);
    return rc;
}

/* Waits until this node has delivered event id (at most CATCH_UP_MS). */
static void catch_up(struct cnode *n, uint64_t id)
{
    int64_t until = time_mono_ms() + CATCH_UP_MS;
    pthread_mutex_lock(&n->deliv_mu);
    while (hub_local_last_id(n->local) < id && time_mono_ms() < until) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&n->deliv_cond, &n->deliv_mu, &ts);
    }
    pthread_mutex_unlock(&n->deliv_mu);
}

/* The cluster's say on a new stream (see wire_admit_script): 0 admitted
 * (*holder_node and *holder_id say whom it replaces on another node, or
 * ""), a registry refusal, or 1 if Redis could not be asked (admit on
 * local rules).  Claims and counts it in Redis when admitted. */
static int admit(struct cnode *n, struct conn *c, bool key_ok, char *holder_node,
                 char *holder_id)
{
    char claim[CONN_NAME_MAX + CONN_CLIENT_MAX + 4], max_user[24], max_addr[24], ttl[24];
    wire_claim(claim, sizeof claim, c->type, c->name, c->client);
    snprintf(max_user, sizeof max_user, "%zu", n->o.max_per_user);
    snprintf(max_addr, sizeof max_addr, "%zu", n->o.max_per_address);
    cnode_records_ttl(&n->o, ttl);
    const char *argv[] = {
        "EVAL", wire_admit_script, "0", n->o.node, c->type == CONN_ADMIN ? c->name : "", c->addr,
        claim, max_user, max_addr, c->type == CONN_DISPLAY ? "1" : "0", key_ok ? "1" : "0",
        c->client, c->public_id, registry_would_supersede(n->reg, c) ? "1" : "0",
        CLUSTER_GUARDED_DISPLAYS ? "1" : "0", ttl,
    };
    pthread_mutex_lock(&n->cmd_mu);
    redisReply *r = rconn_command(n->cmd, 16, argv, NULL);
    pthread_mutex_unlock(&n->cmd_mu);
    holder_node[0] = holder_id[0] = '\0';
    if (!r) {
        cnode_down(n, "admit");
        return 1;
    }
    int rc = 1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->str) {
        const char *what = r->element[0]->str;
        if (strcmp(what, "ok") == 0) {
            rc = 0;
            if (r->elements == 3 && r->element[1]->str && r->element[2]->str) {
                snprintf(holder_node, CONN_NODE_MAX + 1, "%s", r->element[1]->str);
                snprintf(holder_id, PUBLIC_ID_LEN + 1, "%s", r->element[2]->str);
            }
        } else if (strcmp(what, "user") == 0) {
            rc = REGISTRY_USER_LIMIT;
        } else if (strcmp(what, "address") == 0) {
            rc = REGISTRY_ADDRESS_LIMIT;
        } else if (strcmp(what, "conflict") == 0) {
            rc = REGISTRY_CONFLICT;
        }
    } else {
        log_warn("cluster: admission refused by Redis: %s",
                 r->type == REDIS_REPLY_ERROR ? r->str : "?");
    }
    freeReplyObject(r);
    return rc;
}

static int cluster_subscribe(struct hub *h, struct conn *c, const struct hub_resume *from)
{
    struct cnode *n = node_of(h);
    if (from->resume && from->last_id > hub_local_last_id(n->local))
        catch_up(n, from->last_id);
    char th[MIRROR_HASH_LEN + 1];
    cnode_token_hash(c->token, th);
    if (cnode_local_put(n, c->public_id, th, c->addr) < 0)
        return HUB_NOMEM;
    char holder_node[CONN_NODE_MAX + 1], holder_id[PUBLIC_ID_LEN + 1];
    int verdict = admit(n, c, c->keyed, holder_node, holder_id);
    if (verdict < 0) {
        struct local_conn lc;
        cnode_local_get(n, c->public_id, &lc, true);
        return verdict;
    }
    int rc = hub_subscribe(n->local, c, from);
    if (rc < 0) {
        struct local_conn lc;
        cnode_local_get(n, c->public_id, &lc, true);
        if (verdict == 0)
            cnode_release(n, c);        /* what admit() counted and claimed */
        return rc;
    }
    if (holder_node[0] && strcmp(holder_node, n->o.node) != 0) {
        struct wire_cmd cmd = { .reason = CLOSE_SUPERSEDED };
        snprintf(cmd.op, sizeof cmd.op, "close");
        snprintf(cmd.public_id, sizeof cmd.public_id, "%s", holder_id);
        snprintf(cmd.from, sizeof cmd.from, "%s", n->o.node);
        char chan[WIRE_KEY_MAX];
        wire_cmd_channel(chan, holder_node);
        char *msg = wire_cmd_json(&cmd);
        if (msg)
            cnode_publish(n, chan, msg);
        free(msg);
        rc = rc > 0 ? rc : 1;
    }
    return rc;
}

/* Closes (or acks) a stream of another node through its channel: which
 * node is the mirror's to say. */
static int64_t remote(struct cnode *n, const struct mirror_conn *mc, const char *op,
                      enum close_reason why, uint64_t seq)
{
    if (!atomic_load(&n->up))
        return HUB_UNAVAILABLE;
    struct wire_cmd cmd = { .reason = why, .seq = seq };
    snprintf(cmd.op, sizeof cmd.op, "%s", op);
    memcpy(cmd.public_id, mc->info.public_id, sizeof cmd.public_id);
    return cnode_request(n, mc->info.node, &cmd);
}

static int cluster_close_token(struct hub *h, const char *token, enum close_reason why)
{
    struct cnode *n = node_of(h);
    if (registry_remove_token(n->reg, token, why))
        return 1;
    char th[MIRROR_HASH_LEN + 1];
    cnode_token_hash(token, th);
    struct mirror_conn mc;
    if (!mirror_find_token(n->mirror, th, &mc))
        return 0;
    return (int)remote(n, &mc, "close", why, 0);
}

static int cluster_close_public_id(struct hub *h, const char *public_id, enum close_reason why)
{
    struct cnode *n = node_of(h);
    if (registry_remove_public_id(n->reg, public_id, why))
        return 1;
    struct mirror_conn mc;
    if (!mirror_find_public_id(n->mirror, public_id, &mc))
        return 0;
    return (int)remote(n, &mc, "close", why, 0);
}

static int64_t cluster_ack(struct hub *h, const char *token, uint64_t seq)
{
    struct cnode *n = node_of(h);
    int64_t rtt = registry_ack(n->reg, token, seq);
    if (rtt != -2)
        return rtt;
    char th[MIRROR_HASH_LEN + 1];
    cnode_token_hash(token, th);
    struct mirror_conn mc;
    if (!mirror_find_token(n->mirror, th, &mc))
        return -2;
    return remote(n, &mc, "ack", CLOSE_NONE, seq);
}

static int cluster_snapshot(struct hub *h, struct registry_snapshot *out)
{
    struct cnode *n = node_of(h);
    return registry_snapshot_with(n->reg, out, mirror_add_to, n->mirror);
}

static void cluster_counts(struct hub *h, struct registry_snapshot *out)
{
    struct cnode *n = node_of(h);
    registry_counts_with(n->reg, out, mirror_add_to, n->mirror);
}

static int cluster_page(struct hub *h, const struct registry_query *q,
                        struct registry_snapshot *out, size_t *total)
{
    if (cluster_snapshot(h, out) < 0)
        return -1;
    registry_snapshot_page(out, q, total);
    return 0;
}

static bool cluster_display(struct hub *h, const char *name, struct conn_info *out)
{
    struct cnode *n = node_of(h);
    return registry_display(n->reg, name, out) || mirror_display(n->mirror, name, out);
}

static int by_closed_desc(const void *a, const void *b)
{
    int64_t x = ((const struct closed_info *)a)->closed_ms;
    int64_t y = ((const struct closed_info *)b)->closed_ms;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* This node's closed log and the other nodes' (as the mirror saw them
 * close), newest first, at most REGISTRY_CLOSED_MAX. */
static long cluster_closed(struct hub *h, struct closed_info **out, uint64_t totals[CLOSE_REASONS])
{
    struct cnode *n = node_of(h);
    struct closed_info *mine, *theirs;
    uint64_t t2[CLOSE_REASONS];
    long a = registry_closed(n->reg, &mine, totals);
    long b = a < 0 ? -1 : mirror_closed(n->mirror, &theirs, t2);
    if (a < 0 || b < 0) {
        free(a < 0 ? NULL : mine);
        *out = NULL;
        return -1;
    }
    struct closed_info *v = realloc(mine, ((size_t)(a + b) ? (size_t)(a + b) : 1) * sizeof *v);
    if (!v) {
        free(mine);
        free(theirs);
        *out = NULL;
        return -1;
    }
    for (long i = 0; i < a; i++)
        snprintf(v[i].node, sizeof v[i].node, "%s", n->o.node);
    memcpy(v + a, theirs, (size_t)b * sizeof *v);
    free(theirs);
    qsort(v, (size_t)(a + b), sizeof *v, by_closed_desc);
    for (int r = 0; r < CLOSE_REASONS; r++)
        totals[r] += t2[r];
    *out = v;
    return a + b < REGISTRY_CLOSED_MAX ? a + b : REGISTRY_CLOSED_MAX;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct node_state *)a)->name, ((const struct node_state *)b)->name);
}

static void cluster_describe(struct hub *h, struct jw *w)
{
    struct cnode *n = node_of(h);
    char stamp[TIME_ISO_LEN];
    struct node_state nodes[NODES_MAX];
    pthread_mutex_lock(&n->nodes_mu);
    size_t nn = n->nnodes;
    memcpy(nodes, n->nodes, nn * sizeof *nodes);
    pthread_mutex_unlock(&n->nodes_mu);
    qsort(nodes, nn, sizeof *nodes, by_name);
    jw_lit(w, ",\"nodes\":[");
    for (size_t i = 0; i < nn; i++) {
        const struct node_state *ns = &nodes[i];
        jw_lit(w, i ? ",{\"node\":" : "{\"node\":");
        jw_str(w, ns->name);
        jw_lit(w, ns->lost ? ",\"state\":\"lost\",\"connections\":" : ",\"state\":\"up\",\"connections\":");
        jw_u64(w, ns->lost ? 0 : ns->connections);
        jw_lit(w, ",\"last_seen\":");
        jw_str(w, time_iso8601(stamp, ns->last_seen_ms));
        jw_lit(w, "}");
    }
    jw_lit(w, "],\"cluster\":{\"backend\":\"redis\",\"node\":");
    jw_str(w, n->o.node);
    jw_lit(w, atomic_load(&n->up) ? ",\"state\":\"ok\"}" : ",\"state\":\"degraded\"}");
}

static void cluster_free(struct hub *h)
{
    struct cnode *n = node_of(h);
    cnode_stop_threads(n);
    mirror_free(n->mirror);
    feed_free(n->hub.feed);
    hub_free(n->local);
    rconn_free(n->cmd);
    for (size_t b = 0; b < LOCAL_BUCKETS; b++)
        for (struct local_conn *lc = n->locals[b], *next; lc; lc = next) {
            next = lc->next;
            free(lc);
        }
    pthread_mutex_destroy(&n->cmd_mu);
    pthread_mutex_destroy(&n->locals_mu);
    pthread_mutex_destroy(&n->req_mu);
    pthread_cond_destroy(&n->req_cond);
    pthread_mutex_destroy(&n->deliv_mu);
    pthread_cond_destroy(&n->deliv_cond);
    pthread_mutex_destroy(&n->nodes_mu);
    free(n);
}

static const struct hub_ops cluster_ops = {
    .publish = cluster_publish,
    .subscribe = cluster_subscribe,
    .close_token = cluster_close_token,
    .close_public_id = cluster_close_public_id,
    .ack = cluster_ack,
    .snapshot = cluster_snapshot,
    .counts = cluster_counts,
    .page = cluster_page,
    .display = cluster_display,
    .closed = cluster_closed,
    .describe = cluster_describe,
    .free = cluster_free,
};

struct hub *hub_redis_create(struct registry *r, struct metrics *m,
                             const struct cluster_options *o, char *err, size_t errlen)
{
    struct cnode *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->o = *o;
    n->reg = r;
    n->metrics = m;
    pthread_mutex_init(&n->cmd_mu, NULL);
    pthread_mutex_init(&n->locals_mu, NULL);
    pthread_mutex_init(&n->req_mu, NULL);
    pthread_mutex_init(&n->deliv_mu, NULL);
    pthread_mutex_init(&n->nodes_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->req_cond, &ca);
    pthread_cond_init(&n->deliv_cond, &ca);
    pthread_condattr_destroy(&ca);
    /* Its ids come from the cluster: the history starts once the reader
     * has read where the cluster is (cnode_sync). */
    n->local = hub_local_create(r, m, o->history_max, o->history_age_ms, 1);
    n->cmd = rconn_create(&o->url, o->node);
    if (!n->local || !n->cmd) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    n->hub.ops = &cluster_ops;
    /* This node's view: every node's changes as Redis numbered them (this
     * node's own come back through Redis too), so that a stats answer of
     * one node and the monitor of another speak of the same numbers.  The
     * registry's own feed (the local hub's) goes to the writer. */
    n->hub.feed = feed_create();
    n->mirror = n->hub.feed ? mirror_create(n->hub.feed) : NULL;
    if (!n->mirror) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    registry_set_node(r, o->node);
    if (cnode_start_threads(n, err, errlen) < 0)
        goto fail;
    return &n->hub;
fail:
    cluster_free(&n->hub);
    return NULL;
}
