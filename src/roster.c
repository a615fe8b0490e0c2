/* roster.c -- what became of each expected display (see roster.h). */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "roster.h"

int roster_build(struct hub *h, const struct displays *d, struct stats_roster *out)
{
    memset(out, 0, sizeof *out);
    size_t n = displays_count(d);
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (!out->v)
        return -1;
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        struct stats_roster_entry *e = &out->v[i];
        struct conn_info ci;
        e->display = displays_name(d, i);
        if (!hub_display(h, e->display, &ci)) {
            e->state = ROSTER_MISSING;
            e->last_seen_ms = displays_last_seen(d, i);
            out->missing++;
            continue;
        }
        e->state = ci.stale ? ROSTER_STALE : ROSTER_CONNECTED;
        memcpy(e->id, ci.public_id, sizeof e->id);
        if (ci.ack)                 /* it answered then */
            e->last_seen_ms = ci.last_ack_ms ? ci.last_ack_ms : ci.connected_at_ms;
        else                        /* a heartbeat was written then */
            e->last_seen_ms = ci.last_ping_ms ? ci.last_ping_ms : ci.connected_at_ms;
        if (ci.stale)
            out->stale++;
        else
            out->connected++;
    }
    return 0;
}

void roster_free(struct stats_roster *r)
{
    free(r->v);
    memset(r, 0, sizeof *r);
}
