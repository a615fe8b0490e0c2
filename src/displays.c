/* displays.c -- the set of known display names, sorted for bsearch. */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "displays.h"
#include "routes.h"

struct displays {
    size_t count;
    char **names;
};

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void displays_free(struct displays *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->count; i++)
        free(d->names[i]);
    free(d->names);
    free(d);
}

struct displays *displays_load(const char *path, char *err, size_t errlen)
{
    struct displays *d = calloc(1, sizeof *d);
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

bool displays_contains(const struct displays *d, const char *name)
{
    return d->count && bsearch(&name, d->names, d->count, sizeof *d->names, cmp);
}

size_t displays_count(const struct displays *d)
{
    return d->count;
}

const char *displays_name(const struct displays *d, size_t i)
{
    return d->names[i];
}
