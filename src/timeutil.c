/* timeutil.c -- clocks and ISO 8601 timestamps. */
#include "autoconf.h"

#include <string.h>
#include <time.h>

#include "timeutil.h"

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_now_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

int64_t time_mono_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

/* Formats "YYYY-MM-DDTHH:MM:SS" (19 characters, no NUL) for secs. */
static void format_seconds(char *p, time_t secs)
{
    struct tm tm;
    gmtime_r(&secs, &tm);
    /* Built by hand: the fields are in range, but the compiler cannot see
     * that through snprintf's int arguments. */
    unsigned year = (unsigned)(tm.tm_year + 1900) % 10000;
    unsigned f[] = { (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday, (unsigned)tm.tm_hour,
                     (unsigned)tm.tm_min, (unsigned)tm.tm_sec };
    static const char sep[] = "-T::";
    *p++ = (char)('0' + year / 1000);
    *p++ = (char)('0' + year / 100 % 10);
    *p++ = (char)('0' + year / 10 % 10);
    *p++ = (char)('0' + year % 10);
    *p++ = '-';
    for (int i = 0; i < 5; i++) {
        *p++ = (char)('0' + f[i] / 10 % 10);
        *p++ = (char)('0' + f[i] % 10);
        if (i < 4)
            *p++ = sep[i];
    }
}

char *time_iso8601(char out[TIME_ISO_LEN], int64_t epoch_ms)
{
    /* gmtime_r takes glibc's time-zone lock; stats formats two times per
     * connection, mostly within the same few seconds: cache per thread. */
    static _Thread_local time_t cached_secs = -1;
    static _Thread_local char cached[19];
    time_t secs = (time_t)(epoch_ms / 1000);
    int ms = (int)(epoch_ms % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    if (secs != cached_secs) {
        format_seconds(cached, secs);
        cached_secs = secs;
    }
    memcpy(out, cached, 19);
    char *p = out + 19;
    *p++ = '.';
    *p++ = (char)('0' + ms / 100);
    *p++ = (char)('0' + ms / 10 % 10);
    *p++ = (char)('0' + ms % 10);
    *p++ = 'Z';
    *p = '\0';
    return out;
}
