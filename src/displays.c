/* displays.c -- the known displays and their keys (see displays.h), sorted
 * by name for bsearch. */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "displays.h"
#include "percent.h"
#include "routes.h"
#include "sha256.h"

struct display {
    char *name;
    unsigned line;                  /* where the file named it (for messages) */
    bool keyed;
    uint8_t digest[SHA256_LEN];     /* keyed: SHA-256 of its key */
    _Atomic int64_t seen;           /* when its stream last closed; 0: not yet */
};

struct displays {
    atomic_uint refs;
    size_t count;
    size_t keyed;
    struct display *v;              /* sorted by name */
};

struct displays_slot {
    pthread_mutex_t mu;             /* guards the pointer, not the set */
    struct displays *d;
    atomic_bool has;                /* d != NULL, read without the mutex */
};

static int cmp(const void *a, const void *b)
{
    return strcmp(((const struct display *)a)->name, ((const struct display *)b)->name);
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
        free(d->v[i].name);
    if (d->v)
        explicit_bzero(d->v, d->count * sizeof *d->v);
    free(d->v);
    free(d);
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}


/* One line of the file, split: name (nlen 0 for a blank or comment line)
 * and key (klen 0 for none). */
struct line {
    const char *name, *key;
    size_t nlen, klen;
};

#define SHA256_PREFIX "sha256:"

/* Splits and checks a line.  Returns NULL, or what is wrong with it. */
static const char *parse_line(const char *s, size_t len, struct line *out)
{
    const char *e = s + len;
    memset(out, 0, sizeof *out);
    while (s < e && blank(*s))
        s++;
    while (e > s && blank(e[-1]))
        e--;
    if (s == e || *s == '#')
        return NULL;
    const char *p = s;
    while (p < e && !blank(*p))
        p++;
    out->name = s;
    out->nlen = (size_t)(p - s);
    if (!routes_valid_name(s, out->nlen))
        return "invalid display name (1-64 of A-Z a-z 0-9 . _ -)";
    while (p < e && blank(*p))
        p++;
    out->key = p;
    while (p < e && !blank(*p))
        p++;
    out->klen = (size_t)(p - out->key);
    if (p != e)
        return "a line is a display name and at most one key";
    if (!out->klen)
        return NULL;
    size_t plen = sizeof SHA256_PREFIX - 1;
    if (out->klen > plen && memcmp(out->key, SHA256_PREFIX, plen) == 0) {
        bool ok = out->klen == plen + 2 * SHA256_LEN;
        for (size_t i = plen; ok && i < out->klen; i++)
            ok = hex_value(out->key[i]) >= 0;
        return ok ? NULL : "invalid key: sha256: must be followed by 64 hex digits";
    }
    if (out->klen < DISPLAYS_KEY_MIN || out->klen > DISPLAYS_KEY_MAX)
        return "invalid key: 16 to 128 characters, or sha256: and 64 hex digits";
    for (size_t i = 0; i < out->klen; i++)
        if ((unsigned char)out->key[i] < 0x21 || (unsigned char)out->key[i] > 0x7e)
            return "invalid key: printable ASCII characters only, no spaces";
    return NULL;
}

int displays_check_line(const char *line, size_t len, const char **why)
{
    struct line l;
    *why = parse_line(line, len, &l);
    return *why ? -1 : 0;
}

/* The digest a line's key stands for. */
static void line_digest(const struct line *l, uint8_t out[SHA256_LEN])
{
    size_t plen = sizeof SHA256_PREFIX - 1;
    if (l->klen == plen + 2 * SHA256_LEN && memcmp(l->key, SHA256_PREFIX, plen) == 0) {
        for (size_t i = 0; i < SHA256_LEN; i++)
            out[i] = (uint8_t)(hex_value(l->key[plen + 2 * i]) * 16 + hex_value(l->key[plen + 2 * i + 1]));
        return;
    }
    sha256(l->key, l->klen, out);
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
        struct line l;
        const char *why = parse_line(line, (size_t)n, &l);
        if (why) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
            goto fail;
        }
        if (!l.nlen)
            continue;
        if (d->count == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            struct display *v = realloc(d->v, alloc * sizeof *v);
            if (!v) {
                snprintf(err, errlen, "out of memory reading %s", path);
                goto fail;
            }
            d->v = v;
        }
        struct display *x = &d->v[d->count];
        memset(x, 0, sizeof *x);
        x->name = strndup(l.name, l.nlen);
        if (!x->name) {
            snprintf(err, errlen, "out of memory reading %s", path);
            goto fail;
        }
        x->line = lineno;
        x->keyed = l.klen > 0;
        if (x->keyed)
            line_digest(&l, x->digest);
        d->count++;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read displays file %s: %s", path, strerror(errno));
        goto fail;
    }
    if (d->count)
        qsort(d->v, d->count, sizeof *d->v, cmp);   /* not with NULL, even for 0 */
    /* A name listed twice: the same display, unless the keys differ.  All
     * checked before any is merged, so that a failure frees each name once. */
    for (size_t i = 1; i < d->count; i++) {
        struct display *a = &d->v[i - 1], *b = &d->v[i];
        if (strcmp(a->name, b->name) == 0 &&
            (a->keyed != b->keyed || (b->keyed && !sha256_equal(a->digest, b->digest)))) {
            snprintf(err, errlen, "%s:%u: display %s is on line %u too, with another key",
                     path, a->line > b->line ? a->line : b->line, b->name,
                     a->line < b->line ? a->line : b->line);
            goto fail;
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < d->count; i++) {
        if (kept && strcmp(d->v[kept - 1].name, d->v[i].name) == 0)
            free(d->v[i].name);
        else
            d->v[kept++] = d->v[i];
    }
    for (size_t i = 0; i < kept; i++)
        d->keyed += d->v[i].keyed;
    d->count = kept;
    if (line)
        explicit_bzero(line, cap);          /* it held a key */
    free(line);
    fclose(f);
    return d;
fail:
    if (line)
        explicit_bzero(line, cap);
    free(line);
    if (f)
        fclose(f);
    displays_free(d);
    return NULL;
}

static const struct display *find(const struct displays *d, const char *name)
{
    struct display key = { .name = (char *)name };
    return d->count ? bsearch(&key, d->v, d->count, sizeof *d->v, cmp) : NULL;
}

bool displays_contains(const struct displays *d, const char *name)
{
    return find(d, name) != NULL;
}

void displays_seen(struct displays *d, const char *name, int64_t at_ms)
{
    struct display *x = (struct display *)find(d, name);
    if (x)
        atomic_store(&x->seen, at_ms);
}

int64_t displays_last_seen(const struct displays *d, size_t i)
{
    return atomic_load(&d->v[i].seen);
}

size_t displays_count(const struct displays *d)
{
    return d->count;
}

size_t displays_keyed(const struct displays *d)
{
    return d->keyed;
}

const char *displays_name(const struct displays *d, size_t i)
{
    return d->v[i].name;
}

enum displays_key displays_check_key(const struct displays *d, const char *name,
                                     const char *key, size_t len)
{
    const struct display *x = find(d, name);
    if (!x || !x->keyed)
        return DISPLAYS_KEY_NONE;
    if (!key || !len)
        return DISPLAYS_KEY_MISSING;
    uint8_t digest[SHA256_LEN];
    sha256(key, len, digest);
    bool ok = sha256_equal(digest, x->digest);
    explicit_bzero(digest, sizeof digest);
    return ok ? DISPLAYS_KEY_OK : DISPLAYS_KEY_WRONG;
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
        const struct display *was = find(old, d->v[i].name);    /* a reload keeps what was seen */
        if (was)
            atomic_store(&d->v[i].seen, atomic_load(&was->seen));
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
