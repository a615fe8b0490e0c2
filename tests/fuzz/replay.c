/* replay.c -- runs every fuzz target over its seed corpus and its found
 * crashers, with the normal compiler and no libFuzzer: make check runs it.
 *
 *     tests/fuzz/replay [TARGET [FILE...]]
 *
 * Without arguments: each target of targets.def over the empty input and
 * every file in $srcdir/tests/fuzz/corpus/<target>/ and
 * $srcdir/tests/fuzz/regressions/<target>/ ($srcdir defaults to ".").
 * With a target and files: that target over those files (to debug one
 * input under gdb or valgrind).  Exits 0 if every input passed; a broken
 * promise or a sanitizer report aborts, and the name of the input being
 * run is on stderr first.  A directory in corpus/ or regressions/ with no
 * target is an error too, so a target cannot silently drop out. */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_TARGET_DEF(name, dict) int fuzz_##name(const uint8_t *data, size_t size);
#include "targets.def"
#undef FUZZ_TARGET_DEF

static const struct target {
    const char *name;
    int (*run)(const uint8_t *, size_t);
} targets[] = {
#define FUZZ_TARGET_DEF(name, dict) { #name, fuzz_##name },
#include "targets.def"
#undef FUZZ_TARGET_DEF
};
#define NTARGETS (sizeof targets / sizeof targets[0])

/* The input being run, for the signal handler to name. */
static char current[4096];

static void on_crash(int sig)
{
    static const char msg[] = "replay: crashed on input: ";
    if (write(2, msg, sizeof msg - 1) >= 0 && write(2, current, strlen(current)) >= 0)
        (void)!write(2, "\n", 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads path into an exact-size heap buffer.  Returns 0, or -1 (message
 * printed). */
static int run_file(const struct target *t, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *b = realloc(buf, cap *= 2);
            if (!b)
                free(buf);
            buf = b;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        fprintf(stderr, "replay: %s: %s\n", path, buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    snprintf(current, sizeof current, "%s %s", t->name, path);
    t->run(exact, len);
    free(exact);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in dir, in name order; a missing dir has none.
 * Returns the number run, or -1. */
static int run_dir(const struct target *t, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *names);
        if (!nn)
            break;
        names = nn;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    int rc = 0;
    char path[4096];
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(t, path) < 0)
                rc = -1;
            else if (rc >= 0)
                rc++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static const struct target *find(const char *name)
{
    for (size_t i = 0; i < NTARGETS; i++)
        if (strcmp(targets[i].name, name) == 0)
            return &targets[i];
    return NULL;
}

/* Every directory under base must name a target. */
static int check_dirs(const char *base)
{
    DIR *d = opendir(base);
    if (!d)
        return 0;
    int rc = 0;
    struct dirent *e;
    char path[4096];
    struct stat st;
    while ((e = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s", base, e->d_name);
        if (e->d_name[0] == '.' || stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (!find(e->d_name)) {
            fprintf(stderr, "replay: %s/%s: no such target in targets.def\n", base, e->d_name);
            rc = -1;
        }
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    signal(SIGABRT, on_crash);
    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGFPE, on_crash);
    signal(SIGILL, on_crash);

    if (argc > 1) {
        const struct target *t = find(argv[1]);
        if (!t) {
            fprintf(stderr, "replay: no target %s\n", argv[1]);
            return 2;
        }
        for (int i = 2; i < argc; i++)
            if (run_file(t, argv[i]) < 0)
                return 1;
        printf("replay %s: %d inputs, no crash\n", t->name, argc - 2);
        return 0;
    }

    const char *srcdir = getenv("srcdir");
    if (!srcdir || !*srcdir)
        srcdir = ".";
    char corpus[2048], regress[2048];
    snprintf(corpus, sizeof corpus, "%s/tests/fuzz/corpus", srcdir);
    snprintf(regress, sizeof regress, "%s/tests/fuzz/regressions", srcdir);
    int rc = 0;
    if (check_dirs(corpus) < 0 || check_dirs(regress) < 0)
        rc = 1;
    for (size_t i = 0; i < NTARGETS; i++) {
        const struct target *t = &targets[i];
        char dir[4096];
        snprintf(current, sizeof current, "%s (empty input)", t->name);
        t->run((const uint8_t *)"", 0);
        snprintf(dir, sizeof dir, "%s/%s", corpus, t->name);
        int nc = run_dir(t, dir);
        snprintf(dir, sizeof dir, "%s/%s", regress, t->name);
        int nr = run_dir(t, dir);
        if (nc < 0 || nr < 0) {
            fprintf(stderr, "replay %s: could not read its inputs\n", t->name);
            rc = 1;
            continue;
        }
        if (nc == 0) {
            fprintf(stderr, "replay %s: no seed corpus in %s/%s\n", t->name, corpus, t->name);
            rc = 1;
        }
        printf("replay %s: %d corpus + %d regression inputs, no crash\n", t->name, nc, nr);
    }
    return rc;
}
