/* window.c -- per-second buckets over the last hour. */
#include "autoconf.h"

#include <pthread.h>
#include <stdlib.h>

#include "timeutil.h"
#include "window.h"

struct window {
    pthread_mutex_t mu;
    int64_t newest;                 /* second of the newest bucket in use */
    uint64_t total;                 /* sum of all buckets */
    uint64_t bucket[WINDOW_SECONDS];
};

struct window *window_create(void)
{
    struct window *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    return w;
}

void window_free(struct window *w)
{
    if (!w)
        return;
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* Clears the buckets of seconds that fell out of the window on the way to
 * `now`.  Called with w->mu held. */
static void advance(struct window *w, int64_t now)
{
    if (now <= w->newest)
        return;
    if (now - w->newest >= WINDOW_SECONDS) {
        for (int i = 0; i < WINDOW_SECONDS; i++)
            w->bucket[i] = 0;
        w->total = 0;
    } else {
        for (int64_t s = w->newest + 1; s <= now; s++) {
            uint64_t *b = &w->bucket[s % WINDOW_SECONDS];
            w->total -= *b;
            *b = 0;
        }
    }
    w->newest = now;
}

void window_add(struct window *w, int64_t now, uint64_t n)
{
    pthread_mutex_lock(&w->mu);
    advance(w, now);
    w->bucket[w->newest % WINDOW_SECONDS] += n;
    w->total += n;
    pthread_mutex_unlock(&w->mu);
}

uint64_t window_sum(struct window *w, int64_t now)
{
    pthread_mutex_lock(&w->mu);
    advance(w, now);
    uint64_t t = w->total;
    pthread_mutex_unlock(&w->mu);
    return t;
}

int64_t window_clock(void)
{
    return time_mono_ms() / 1000;
}
