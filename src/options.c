/* options.c -- the command line. */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "listen.h"
#include "options.h"
#include "rconn.h"

static const char usage[] =
    "Usage: sse-fcgi [OPTION]...\n"
    "Serve Server-Sent Events over FastCGI and keep a live register of clients.\n"
    "\n"
    "  -s, --socket PATH|HOST:PORT  listen here (default: the socket on fd 0, or\n"
    "                               LISTEN_FDS from systemd)\n"
    "      --socket-owner USER      owner of the unix socket --socket binds\n"
    "      --socket-group GROUP     its group (e.g. the web server's own group)\n"
    "      --socket-mode MODE       its mode, octal (default 0660)\n"
    "  -t, --threads N              worker threads for short requests (default 8)\n"
    "      --io-threads N           threads serving the streams (default: CPUs, at most 8)\n"
    "  -b, --heartbeat SECONDS      heartbeat interval, may be fractional (default 5)\n"
    "      --request-timeout SECONDS\n"
    "                               a connection sends its whole request within\n"
    "                               this, or is closed (default 5)\n"
    "  -m, --max-connections N      most concurrent streams (default 10000)\n"
    "  -a, --auth MODE              remote-user (default) or none (demos only)\n"
    "  -d, --displays FILE          known display names, one a line\n"
    "  -p, --prefix PATH            route prefix (default /api/v1/events)\n"
    "  -l, --log-level LEVEL        error, warn, info (default) or debug\n"
    "      --history N              events kept for Last-Event-ID (default 1000)\n"
    "      --history-age SECONDS    and for at most this long (default 300)\n"
    "      --max-streams-per-user N     per authenticated user (default 100, 0: no limit)\n"
    "      --max-streams-per-address N  per client address (default 1000, 0: no limit)\n"
    "      --cluster URL            join a cluster through Redis:\n"
    "                               redis://[user:password@]HOST:PORT[/DB] or\n"
    "                               unix:///path/redis.sock (default: one process)\n"
    "      --node NAME              this node's name in the cluster (default: host name\n"
    "                               and pid)\n"
    "  -c, --config FILE            read \"option = value\" lines first; SIGHUP\n"
    "                               re-reads its log-level and displays\n"
    "  -h, --help                   show this help and exit\n"
    "  -V, --version                show the version and exit\n";

static enum options_result fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum options_result fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return OPTIONS_ERROR;
}

/* Parses a whole decimal integer in [lo, hi]. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Parses a number of seconds in [lo, hi], fractions allowed, into ms. */
static int parse_seconds(const char *s, double lo, double hi, int64_t *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *ms = (int64_t)llround(v * 1000);
    return 0;
}

/* Parses an octal file mode of 1-4 digits, 0 to 0777 (no set-id or sticky
 * bits: they mean nothing on a socket). */
static int parse_mode(const char *s, int *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 4 || strspn(s, "01234567") != n)
        return -1;
    long v = strtol(s, NULL, 8);
    if (v > 0777)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_prefix(struct options *o, const char *s)
{
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        n--;
    if (n == 0 || s[0] != '/' || n >= sizeof o->prefix)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("/._-~", c)))
            return -1;
    }
    if (n == 1)
        n = 0;                      /* "/" means routes at the root */
    memcpy(o->prefix, s, n);
    o->prefix[n] = '\0';
    return 0;
}

enum options_result options_parse(struct options *o, int argc, char **argv,
                                  char *err, size_t errlen)
{
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 's' },
        { "socket-owner", required_argument, NULL, 'O' },
        { "socket-group", required_argument, NULL, 'G' },
        { "socket-mode", required_argument, NULL, 'M' },
        { "threads", required_argument, NULL, 't' },
        { "io-threads", required_argument, NULL, 'I' },
        { "heartbeat", required_argument, NULL, 'b' },
        { "request-timeout", required_argument, NULL, 'T' },
        { "max-connections", required_argument, NULL, 'm' },
        { "auth", required_argument, NULL, 'a' },
        { "displays", required_argument, NULL, 'd' },
        { "prefix", required_argument, NULL, 'p' },
        { "log-level", required_argument, NULL, 'l' },
        { "history", required_argument, NULL, 'H' },
        { "history-age", required_argument, NULL, 'A' },
        { "max-streams-per-user", required_argument, NULL, 'U' },
        { "max-streams-per-address", required_argument, NULL, 'R' },
        { "config", required_argument, NULL, 'c' },
        { "cluster", required_argument, NULL, 'C' },
        { "node", required_argument, NULL, 'N' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    memset(o, 0, sizeof *o);
    o->socket_mode = -1;
    o->threads = 8;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->io_threads = cpus < 1 ? 1 : cpus > 8 ? 8 : (int)cpus;
    o->heartbeat_ms = 5000;
    o->request_timeout_ms = 5000;
    o->max_connections = 10000;
    o->auth = AUTH_REMOTE_USER;
    strcpy(o->prefix, "/api/v1/events");
    o->log_level = LOG_INFO;
    o->history = 1000;
    o->history_age_ms = 300000;
    o->max_per_user = 100;
    o->max_per_address = 1000;

    opterr = 0;
    optind = 1;
    int ch;
    long v;
    while ((ch = getopt_long(argc, argv, ":s:t:b:m:a:d:p:l:c:hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            if (!*optarg)
                return fail(err, errlen, "--socket needs a path or HOST:PORT");
            o->socket = optarg;
            break;
        case 'O':
            if (!*optarg)
                return fail(err, errlen, "--socket-owner needs a user name or uid");
            o->socket_owner = optarg;
            break;
        case 'G':
            if (!*optarg)
                return fail(err, errlen, "--socket-group needs a group name or gid");
            o->socket_group = optarg;
            break;
        case 'M':
            if (parse_mode(optarg, &o->socket_mode) < 0)
                return fail(err, errlen, "--socket-mode: '%s' is not an octal mode from 0 to 0777 "
                            "(e.g. 0660)", optarg);
            break;
        case 't':
            if (parse_long(optarg, 1, 1024, &v) < 0)
                return fail(err, errlen, "--threads: '%s' is not a number from 1 to 1024", optarg);
            o->threads = (int)v;
            break;
        case 'I':
            if (parse_long(optarg, 1, 64, &v) < 0)
                return fail(err, errlen, "--io-threads: '%s' is not a number from 1 to 64", optarg);
            o->io_threads = (int)v;
            break;
        case 'b':
            if (parse_seconds(optarg, 0.05, 3600, &o->heartbeat_ms) < 0)
                return fail(err, errlen, "--heartbeat: '%s' is not a number of seconds from 0.05 to 3600", optarg);
            break;
        case 'T':
            if (parse_seconds(optarg, 0.1, 3600, &o->request_timeout_ms) < 0)
                return fail(err, errlen, "--request-timeout: '%s' is not a number of seconds from 0.1 to 3600", optarg);
            break;
        case 'm':
            if (parse_long(optarg, 1, 1000000, &v) < 0)
                return fail(err, errlen, "--max-connections: '%s' is not a number from 1 to 1000000", optarg);
            o->max_connections = (size_t)v;
            break;
        case 'a':
            if (strcmp(optarg, "remote-user") == 0)
                o->auth = AUTH_REMOTE_USER;
            else if (strcmp(optarg, "none") == 0)
                o->auth = AUTH_NONE;
            else
                return fail(err, errlen, "--auth: '%s' is not remote-user or none", optarg);
            break;
        case 'd':
            o->displays_file = optarg;
            break;
        case 'p':
            if (parse_prefix(o, optarg) < 0)
                return fail(err, errlen, "--prefix: '%s' is not an absolute URL path", optarg);
            break;
        case 'l': {
            int level = log_level_parse(optarg);
            if (level < 0)
                return fail(err, errlen, "--log-level: '%s' is not error, warn, info or debug", optarg);
            o->log_level = (enum log_level)level;
            break;
        }
        case 'H':
            if (parse_long(optarg, 0, 1000000, &v) < 0)
                return fail(err, errlen, "--history: '%s' is not a number from 0 to 1000000", optarg);
            o->history = (size_t)v;
            break;
        case 'A':
            if (parse_long(optarg, 1, 86400, &v) < 0)
                return fail(err, errlen, "--history-age: '%s' is not a number of seconds from 1 to 86400", optarg);
            o->history_age_ms = v * 1000;
            break;
        case 'U':
            if (parse_long(optarg, 0, 1000000, &v) < 0)
                return fail(err, errlen, "--max-streams-per-user: '%s' is not a number from 0 to 1000000", optarg);
            o->max_per_user = (size_t)v;
            break;
        case 'R':
            if (parse_long(optarg, 0, 1000000, &v) < 0)
                return fail(err, errlen, "--max-streams-per-address: '%s' is not a number from 0 to 1000000", optarg);
            o->max_per_address = (size_t)v;
            break;
        case 'c':
            o->config_file = optarg;
            break;
        case 'C': {
            struct rconn_url u;
            if (rconn_url_parse(optarg, &u, err, errlen) < 0)
                return OPTIONS_ERROR;
            o->cluster = optarg;
            break;
        }
        case 'N':
            if (!cluster_valid_node(optarg))
                return fail(err, errlen, "--node: '%s' is not 1-64 characters of A-Z a-z 0-9 . _ -",
                            optarg);
            o->node = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return OPTIONS_EXIT;
        case 'V':
            puts(PACKAGE_STRING);
            return OPTIONS_EXIT;
        case ':':
            return fail(err, errlen, "option '%s' needs a value (see --help)", argv[optind - 1]);
        default:
            return fail(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return fail(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
    return OPTIONS_OK;
}

/* What holds between options, once the command line and the file are both
 * read (either may give either). */
static enum options_result check_together(const struct options *o, char *err, size_t errlen)
{
    if (o->node && !o->cluster)
        return fail(err, errlen, "--node needs --cluster");
    /* An inherited socket was made by whoever passed it (spawn-fcgi -U -G -M,
     * systemd SocketUser= SocketGroup= SocketMode=). */
    if ((o->socket_owner || o->socket_group || o->socket_mode >= 0) &&
        (!o->socket || !listen_is_unix(o->socket)))
        return fail(err, errlen, "--socket-owner, --socket-group and --socket-mode need "
                    "--socket PATH (a unix socket this process binds)");
    return OPTIONS_OK;
}

/* Reads FILE's "name = value" lines into "--name=value" strings appended
 * to *v (n entries, cap capacity).  Returns 0, or -1 with err. */
static int read_config(const char *path, char ***v, size_t *n, size_t *cap,
                       char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read config %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t lcap = 0;
    unsigned lineno = 0;
    int rc = 0;
    while (getline(&line, &lcap, f) >= 0) {
        lineno++;
        char *s = line + strspn(line, " \t");
        s[strcspn(s, "\r\n")] = '\0';
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%u: expected 'name = value'", path, lineno);
            rc = -1;
            break;
        }
        char *name_end = eq;
        while (name_end > s && (name_end[-1] == ' ' || name_end[-1] == '\t'))
            name_end--;
        char *val = eq + 1 + strspn(eq + 1, " \t");
        char *val_end = val + strlen(val);
        while (val_end > val && (val_end[-1] == ' ' || val_end[-1] == '\t'))
            val_end--;
        if (*n + 2 > *cap) {
            *cap = *cap ? *cap * 2 : 16;
            char **nv = realloc(*v, *cap * sizeof *nv);
            if (!nv) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
            *v = nv;
        }
        int len = (int)(name_end - s), vlen = (int)(val_end - val);
        char *arg = malloc((size_t)len + (size_t)vlen + 4);
        if (!arg) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        sprintf(arg, "--%.*s=%.*s", len, s, vlen, val);
        (*v)[(*n)++] = arg;
    }
    free(line);
    fclose(f);
    return rc;
}

void options_free_storage(char **storage)
{
    if (!storage)
        return;
    for (char **p = storage; *p; p++)
        free(*p);
    free(storage);
}

enum options_result options_load(struct options *o, int argc, char **argv,
                                 char ***storage, char *err, size_t errlen)
{
    *storage = NULL;
    enum options_result r = options_parse(o, argc, argv, err, errlen);
    if (r != OPTIONS_OK || !o->config_file)
        return r == OPTIONS_OK ? check_together(o, err, errlen) : r;
    /* argv[0], the file's options, then the command line again (it wins). */
    size_t n = 0, cap = 0;
    char **file = NULL;
    if (read_config(o->config_file, &file, &n, &cap, err, errlen) < 0) {
        for (size_t i = 0; i < n; i++)
            free(file[i]);
        free(file);
        return OPTIONS_ERROR;
    }
    /* read_config always leaves room for the NULL that ends the list. */
    char **keep = file ? file : calloc(1, sizeof *keep);
    char **all = malloc(((size_t)argc + n + 1) * sizeof *all);
    if (!all || !keep) {
        free(all);
        for (size_t i = 0; i < n; i++)
            free(file[i]);
        free(keep);
        snprintf(err, errlen, "out of memory");
        return OPTIONS_ERROR;
    }
    keep[n] = NULL;
    all[0] = argv[0];
    memcpy(all + 1, keep, n * sizeof *all);
    memcpy(all + 1 + n, argv + 1, ((size_t)argc - 1) * sizeof *all);
    all[argc + (int)n] = NULL;
    char prefix_err[256];
    const char *path = o->config_file;
    r = options_parse(o, argc + (int)n, all, prefix_err, sizeof prefix_err);
    free(all);
    if (r == OPTIONS_ERROR)
        snprintf(err, errlen, "%s (in %s or the command line)", prefix_err, path);
    *storage = keep;
    return r == OPTIONS_OK ? check_together(o, err, errlen) : r;
}
