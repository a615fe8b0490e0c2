/* feed.c -- the change feed (see feed.h). */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "feed.h"

struct subscriber {
    feed_fn *fn;
    feed_wants_fn *wants;
    void *ctx;
    bool now;                       /* wants this change (feed_publish) */
};

struct feed {
    pthread_mutex_t mu;             /* guards subs and nsubs; orders publishing */
    struct subscriber *subs;
    size_t nsubs;
    _Atomic uint64_t seq;
};

struct feed *feed_create(void)
{
    struct feed *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    pthread_mutex_init(&f->mu, NULL);
    return f;
}

void feed_free(struct feed *f)
{
    if (!f)
        return;
    free(f->subs);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

int feed_subscribe(struct feed *f, feed_fn *fn, feed_wants_fn *wants, void *ctx)
{
    pthread_mutex_lock(&f->mu);
    struct subscriber *v = realloc(f->subs, (f->nsubs + 1) * sizeof *v);
    if (v) {
        v[f->nsubs++] = (struct subscriber){ fn, wants, ctx, false };
        f->subs = v;
    }
    pthread_mutex_unlock(&f->mu);
    return v ? 0 : -1;
}

void feed_unsubscribe(struct feed *f, feed_fn *fn, void *ctx)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->nsubs; i++) {
        if (f->subs[i].fn == fn && f->subs[i].ctx == ctx) {
            f->subs[i] = f->subs[--f->nsubs];
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
}

void feed_publish(struct feed *f, struct feed_change *ch, feed_fill_fn *fill, void *arg)
{
    if (!f)
        return;
    struct conn_info info;
    pthread_mutex_lock(&f->mu);
    uint64_t last = atomic_load_explicit(&f->seq, memory_order_relaxed);
    if (ch->kind == FEED_RESYNC)
        ch->seq = last;             /* not a change: it takes no number */
    else
        ch->seq = ch->seq > last ? ch->seq : last + 1;
    atomic_store(&f->seq, ch->seq);
    bool any = false;
    for (size_t i = 0; i < f->nsubs; i++) {
        struct subscriber *sub = &f->subs[i];
        sub->now = !sub->wants || sub->wants(sub->ctx);
        any |= sub->now;
    }
    if (any && fill) {
        fill(arg, &info);
        ch->info = &info;
    }
    for (size_t i = 0; i < f->nsubs; i++)
        if (f->subs[i].now)
            f->subs[i].fn(f->subs[i].ctx, ch);
    pthread_mutex_unlock(&f->mu);
}

void feed_resync(struct feed *f)
{
    static const struct conn_info none;
    struct feed_change ch = { .kind = FEED_RESYNC, .info = &none, .at_ms = 0 };
    feed_publish(f, &ch, NULL, NULL);
}

uint64_t feed_seq(struct feed *f)
{
    return f ? atomic_load(&f->seq) : 0;
}
