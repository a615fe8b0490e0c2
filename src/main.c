/* main.c -- options, signals, start and stop.  The only place that exits.
 *
 * Every thread runs with the asynchronous signals blocked; this thread
 * takes them with sigwait(), so no handler ever runs in the middle of a
 * libfcgi read or write (libfcgi does not retry on EINTR), and libfcgi's
 * own handlers from FCGX_Init() never fire. */
#include "autoconf.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "options.h"
#include "server.h"
#include "timeutil.h"

#define STOP_GRACE_MS 1800          /* SIGTERM to exit: under 2 s */
#define TICK_MS 1000                /* how often the main thread looks */
#define TRIM_INTERVAL_MS 5000       /* longest between two trims */
#define MALLOC_ARENAS 1

/* One malloc arena for every thread, set before any thread starts.
 * glibc gives each thread that allocates its own arena (up to 8 per CPU),
 * and keeps up to M_TOP_PAD (128 KiB) free at the top of each: malloc_trim()
 * returns the free pages inside an arena but trims the top of the main
 * arena only.  With 8 workers and the I/O loops that was ~1.2 MiB kept
 * after the streams had gone (10 arenas of 130-150 KiB, measured with
 * malloc_info after connect/abort churn), half the size of a fresh
 * process.  Small blocks come from glibc's per-thread caches without the
 * arena lock, so one arena costs little contention here. */
static void malloc_setup(void)
{
    /* A sanitizer's allocator refuses it, and needs it no more. */
    if (mallopt(M_ARENA_MAX, MALLOC_ARENAS) != 1)
        log_debug("mallopt(M_ARENA_MAX) refused: the allocator keeps its own arenas");
}

static struct server *the_server;   /* reachable for leak checkers at exit */

/* SIGHUP: re-reads the options (command line and --config) and applies
 * what can change without a restart: the log level and the displays. */
static void reload(int argc, char **argv)
{
    struct options opt;
    char **storage, err[512];
    if (options_load(&opt, argc, argv, &storage, err, sizeof err) != OPTIONS_OK) {
        log_error("reload: %s; nothing changed", err);
        options_free_storage(storage);
        return;
    }
    log_set_level(opt.log_level);
    if (server_reload(the_server, opt.displays_file, err, sizeof err) < 0)
        log_error("reload: %s; keeping the old displays", err);
    options_free_storage(storage);
    log_info("reloaded: log level and displays");
}

int main(int argc, char **argv)
{
    struct options opt;
    char **storage;
    char err[512];
    enum options_result parsed = options_load(&opt, argc, argv, &storage, err, sizeof err);
    switch (parsed) {
    case OPTIONS_EXIT:
        return 0;
    case OPTIONS_ERROR:
        fprintf(stderr, "sse-fcgi: %s\n", err);
        return 2;
    case OPTIONS_OK:
        break;
    }
    log_set_level(opt.log_level);
    malloc_setup();

    sigset_t wanted;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGTERM);
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGHUP);
    sigaddset(&wanted, SIGUSR1);    /* libfcgi's "graceful stop" */
    sigaddset(&wanted, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &wanted, NULL);

    /* Everything that can be refused (the socket's owner and group, the
     * displays file) is checked before the socket is bound: a failed start
     * leaves no socket file behind. */
    struct listen_perms perms;
    if (opt.socket && listen_perms_resolve(opt.socket_owner, opt.socket_group, opt.socket_mode,
                                           &perms, err, sizeof err) < 0) {
        fprintf(stderr, "sse-fcgi: %s\n", err);
        return 2;
    }
    the_server = server_create(&opt, err, sizeof err);
    if (!the_server) {
        fprintf(stderr, "sse-fcgi: %s\n", err);
        return 2;
    }
    int fd = opt.socket ? listen_open(opt.socket, &perms, err, sizeof err)
                        : listen_inherited(err, sizeof err);
    if (fd < 0) {
        fprintf(stderr, "sse-fcgi: %s\n", err);
        return 2;
    }
    bool own = opt.socket != NULL;
    if (server_start(the_server, fd, own, err, sizeof err) < 0) {
        log_error("%s", err);
        if (own && listen_is_unix(opt.socket))
            unlink(opt.socket);
        return 1;
    }
    log_info("%s ready on %s", PACKAGE_STRING,
             opt.socket ? opt.socket : fd == 3 ? "systemd socket (fd 3)" : "inherited socket (fd 0)");

    uint64_t ended_seen = 0;
    int64_t trimmed_ms = time_mono_ms();
    for (;;) {
        struct timespec tick = { TICK_MS / 1000, (TICK_MS % 1000) * 1000000L };
        int sig = sigtimedwait(&wanted, NULL, &tick);
        if (sig < 0) {
            /* Give freed memory back to the system (glibc keeps it
             * otherwise): within a tick of streams ending, and every few
             * seconds for what short requests (stats, closed) freed.  Not
             * on every tick: pages given back are faulted in again when
             * reused, and streams that are just held free nothing. */
            uint64_t ended = server_streams_ended(the_server);
            int64_t now = time_mono_ms();
            if (ended != ended_seen || now - trimmed_ms >= TRIM_INTERVAL_MS) {
                malloc_trim(0);
                trimmed_ms = now;
            }
            ended_seen = ended;
            continue;
        }
        if (sig == SIGPIPE)
            continue;
        if (sig == SIGHUP) {
            reload(argc, argv);
            continue;
        }
        log_info("signal %d: stopping", sig);
        break;
    }
    size_t left = server_stop(the_server, time_mono_ms() + STOP_GRACE_MS);
    if (left)
        log_warn("%zu streams did not finish in time", left);
    if (own && listen_is_unix(opt.socket))
        unlink(opt.socket);
    options_free_storage(storage);
    /* Freed whichever socket it served (an inherited one is only left
     * open): a cluster node says goodbye here, and its streams leave every
     * other node's list as shut down, not lost. */
    if (left == 0) {
        server_free(the_server);
        the_server = NULL;
    }
    log_info("stopped");
    return 0;
}
