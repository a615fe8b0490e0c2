/* fuzz_displays.c -- the displays file (--displays): displays_load() over
 * the input as the file, and displays_check_line() over each line, held
 * against the file's rules written out again from displays.h and the man
 * page.  Input: the file's bytes.
 *
 * Promises checked:
 *   - a line is fine exactly when the reference says so: blank, a '#'
 *     comment, a name (1-64 of [A-Za-z0-9._-]), or a name, white space and
 *     one key (16-128 of the printable ASCII characters but space, or
 *     "sha256:" and 64 hex digits);
 *   - the file loads exactly when every line is fine and no name comes
 *     twice with different keys; else the one-line message names the file
 *     and the first bad line, and never holds a key;
 *   - a loaded set has each name once, sorted; a plain key opens its display
 *     (DISPLAYS_KEY_OK) and anything else does not (WRONG, MISSING), and a
 *     display without a key says NONE. */
#include "autoconf.h"

#include <sys/mman.h>
#include <unistd.h>

#include "displays.h"
#include "fuzz.h"

#define LINES_MAX 512

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* One line by the rules: returns false if bad; the name and key, if any. */
struct line {
    const char *name, *key;
    size_t nlen, klen;
    bool fine;
};

static bool ref_name(const char *s, size_t n)
{
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static bool ref_key(const char *s, size_t n)
{
    if (n > 7 && memcmp(s, "sha256:", 7) == 0) {
        if (n != 7 + 64)
            return false;
        for (size_t i = 7; i < n; i++)
            if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
                return false;
        return true;
    }
    if (n < 16 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

static void ref_line(const char *s, size_t n, struct line *l)
{
    memset(l, 0, sizeof *l);
    const char *e = s + n;
    while (s < e && blank(*s))
        s++;
    while (e > s && blank(e[-1]))
        e--;
    l->fine = true;
    if (s == e || *s == '#')
        return;
    /* the tokens between white space: one or two */
    const char *tok[3] = { 0 };
    size_t len[3] = { 0 }, ntok = 0;
    for (const char *p = s; p < e && ntok < 3;) {
        const char *t = p;
        while (p < e && !blank(*p))
            p++;
        tok[ntok] = t;
        len[ntok++] = (size_t)(p - t);
        while (p < e && blank(*p))
            p++;
    }
    l->name = tok[0];
    l->nlen = len[0];
    if (ntok > 1) {
        l->key = tok[1];
        l->klen = len[1];
    }
    l->fine = ntok <= 2 && ref_name(l->name, l->nlen) && (ntok == 1 || ref_key(l->key, l->klen));
}

FUZZ_TARGET(displays)
{
    static struct line lines[LINES_MAX];
    size_t nlines = 0;
    /* the file's lines, as getline() splits them (a NUL ends nothing) */
    for (size_t i = 0; i < size && nlines < LINES_MAX;) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t n = nl ? (size_t)(nl - (data + i)) + 1 : size - i;
        struct line *l = &lines[nlines++];
        ref_line((const char *)data + i, n, l);
        const char *why = NULL;
        int rc = displays_check_line((const char *)data + i, n, &why);
        FUZZ_CHECK(rc == (l->fine ? 0 : -1));
        FUZZ_CHECK(rc == 0 ? why == NULL : why && *why);
        i += n;
    }
    if (nlines == LINES_MAX)
        return 0;                       /* the rest would not be checked */

    int fd = memfd_create("displays", MFD_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
    char path[64], err[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    err[0] = '\0';
    struct displays *d = displays_load(path, err, sizeof err);
    close(fd);

    size_t first_bad = 0;
    for (size_t i = 0; i < nlines && !first_bad; i++)
        if (!lines[i].fine)
            first_bad = i + 1;
    if (!d) {
        FUZZ_CHECK(*err && !strchr(err, '\n'));
        FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
        char at[32];
        snprintf(at, sizeof at, ":%zu: ", first_bad);
        if (first_bad)
            FUZZ_CHECK(strstr(err, at) != NULL);
        /* no key of any line in the message (unless a name or the path
         * holds the same characters) */
        for (size_t i = 0; i < nlines; i++) {
            if (lines[i].klen < 16)
                continue;
            bool elsewhere = memmem(path, strlen(path), lines[i].key, lines[i].klen) != NULL;
            for (size_t j = 0; j < nlines && !elsewhere; j++)
                elsewhere = lines[j].nlen &&
                            memmem(lines[j].name, lines[j].nlen, lines[i].key, lines[i].klen);
            if (!elsewhere)
                FUZZ_CHECK(!memmem(err, strlen(err), lines[i].key, lines[i].klen));
        }
        if (!first_bad) {
            /* every line fine: only a name twice with different keys fails */
            bool conflict = false;
            for (size_t i = 0; i < nlines && !conflict; i++)
                for (size_t j = i + 1; j < nlines && !conflict; j++)
                    conflict = lines[i].nlen && lines[i].nlen == lines[j].nlen &&
                               memcmp(lines[i].name, lines[j].name, lines[i].nlen) == 0 &&
                               (lines[i].klen != lines[j].klen ||
                                (lines[i].klen && memcmp(lines[i].key, lines[j].key, lines[i].klen)));
            FUZZ_CHECK(conflict || strstr(err, "out of memory"));
        }
        return 0;
    }
    FUZZ_CHECK(!first_bad);
    for (size_t i = 1; i < displays_count(d); i++)
        FUZZ_CHECK(strcmp(displays_name(d, i - 1), displays_name(d, i)) < 0);
    {
        size_t keyed = 0;
        for (size_t i = 0; i < nlines; i++) {
            if (!lines[i].nlen)
                continue;
            char name[65];
            memcpy(name, lines[i].name, lines[i].nlen);
            name[lines[i].nlen] = '\0';
            FUZZ_CHECK(displays_contains(d, name));
            enum displays_key k = displays_check_key(d, name, lines[i].key, lines[i].klen);
            if (!lines[i].klen) {
                FUZZ_CHECK(k == DISPLAYS_KEY_NONE);
                continue;
            }
            bool digest = lines[i].klen == 71 && memcmp(lines[i].key, "sha256:", 7) == 0;
            if (!digest)
                FUZZ_CHECK(k == DISPLAYS_KEY_OK);
            FUZZ_CHECK(displays_check_key(d, name, NULL, 0) == DISPLAYS_KEY_MISSING);
            FUZZ_CHECK(displays_check_key(d, name, lines[i].key, lines[i].klen - 1) ==
                       DISPLAYS_KEY_WRONG);
            keyed++;
        }
        FUZZ_CHECK(displays_keyed(d) <= keyed);
    }
    displays_free(d);
    return 0;
}
