/* displays.c -- the set of known display names, sorted for bsearch. */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "displays.h"
#include "routes.h"

struct displays {
    atomic_uint refs;
    size_t count;
    char **names;
    _Atomic int64_t *seen;          /* by name: when its stream last closed */
};

struct displays_slot {
    pthread_mutex_t mu;             /* guards the pointer, not the set */
    struct displays *d;
    atomic_bool has;                /* d != NULL, read without the mutex */
};

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct displays *displays_hold(struct displays *d)
{
    if (d)
        atomic_fetch_add(&d->refs, 1);
    return d;
}

void displays_free(struct displays *d)
{
    if (!d || atomic_fetch_sub(&d->refs, 1) != 1)
        return;
    for (size_t i = 0; i < d->count; i++)
        free(d->names[i]);
    free(d->names);
    free(d->seen);
    free(d);
}

struct displays *displays_load(const char *path, char *err, size_t errlen)
{
    struct displays *d = calloc(1, sizeof *d);
    if (d)
        atomic_init(&d->refs, 1);
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    unsigned lineno = 0;
    if (!d || !f) {
        snprintf(err, errlen, "cannot read displays file %s: %s", path, strerror(errno));
        goto fail;
    }
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        char *s = line, *e = line + n;
        while (s < e && strchr(" \t\r\n", *s))
            s++;
        while (e > s && strchr(" \t\r\n", e[-1]))
            e--;
        if (s == e || *s == '#')
            continue;
        if (!routes_valid_name(s, (size_t)(e - s))) {
            snprintf(err, errlen, "%s:%u: invalid display name (1-64 of A-Z a-z 0-9 . _ -)",
                     path, lineno);
            goto fail;
        }
        if (d->count == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            char **v = realloc(d->names, alloc * sizeof *v);
            if (!v) {
                snprintf(err, errlen, "out of memory reading %s", path);
                goto fail;
            }
            d->names = v;
        }
        d->names[d->count] = strndup(s, (size_t)(e - s));
        if (!d->names[d->count]) {
            snprintf(err, errlen, "out of memory reading %s", path);
            goto fail;
        }
        d->count++;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read displays file %s: %s", path, strerror(errno));
        goto fail;
    }
    qsort(d->names, d->count, sizeof *d->names, cmp);
    d->seen = calloc(d->count ? d->count : 1, sizeof *d->seen);
    if (!d->seen) {
        snprintf(err, errlen, "out of memory reading %s", path);
        goto fail;
    }
    free(line);
    fclose(f);
    return d;
fail:
    free(line);
    if (f)
        fclose(f);
    displays_free(d);
    return NULL;
}

/* The index of name in d, or -1. */
static long find(const struct displays *d, const char *name)
{
    char **p = d->count ? bsearch(&name, d->names, d->count, sizeof *d->names, cmp) : NULL;
    return p ? (long)(p - d->names) : -1;
}

bool displays_contains(const struct displays *d, const char *name)
{
    return find(d, name) >= 0;
}

void displays_seen(struct displays *d, const char *name, int64_t at_ms)
{
    long i = find(d, name);
    if (i >= 0)
        atomic_store(&d->seen[i], at_ms);
}

int64_t displays_last_seen(const struct displays *d, size_t i)
{
    return atomic_load(&d->seen[i]);
}

size_t displays_count(const struct displays *d)
{
    return d->count;
}

const char *displays_name(const struct displays *d, size_t i)
{
    return d->names[i];
}

struct displays_slot *displays_slot_create(void)
{
    struct displays_slot *slot = calloc(1, sizeof *slot);
    if (slot)
        pthread_mutex_init(&slot->mu, NULL);
    return slot;
}

void displays_slot_free(struct displays_slot *slot)
{
    if (!slot)
        return;
    displays_free(slot->d);
    pthread_mutex_destroy(&slot->mu);
    free(slot);
}

void displays_slot_set(struct displays_slot *slot, struct displays *d)
{
    pthread_mutex_lock(&slot->mu);
    struct displays *old = slot->d;
    atomic_store(&slot->has, d != NULL);
    for (size_t i = 0; d && old && i < d->count; i++) {
        long j = find(old, d->names[i]);    /* a reload keeps what was seen */
        if (j >= 0)
            atomic_store(&d->seen[i], atomic_load(&old->seen[j]));
    }
    slot->d = d;
    pthread_mutex_unlock(&slot->mu);
    displays_free(old);
}

struct displays *displays_slot_get(struct displays_slot *slot)
{
    pthread_mutex_lock(&slot->mu);
    struct displays *d = displays_hold(slot->d);
    pthread_mutex_unlock(&slot->mu);
    return d;
}

bool displays_slot_has(struct displays_slot *slot)
{
    return atomic_load(&slot->has);
}
