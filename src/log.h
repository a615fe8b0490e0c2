/* log.h -- whole-line logging to stderr.
 *
 * Every message is formatted into one buffer and written with a single
 * write(2), so lines from different threads never interleave.  Thread safe;
 * takes no locks.  Messages longer than LOG_LINE_MAX are truncated. */
#ifndef SSE_LOG_H
#define SSE_LOG_H

enum log_level {
    LOG_ERROR = 0,
    LOG_WARN,
    LOG_INFO,
    LOG_DEBUG
};

#define LOG_LINE_MAX 1024

/* Parses "error", "warn", "info" or "debug".  Returns the level, or -1 for
 * anything else. */
int log_level_parse(const char *name);

/* Sets the threshold; messages above it are dropped.  May be called at any
 * time (e.g. on SIGHUP). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Writes "<ISO time> <level> <message>\n" to stderr if level is enabled.
 * errno is preserved. */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
