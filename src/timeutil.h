/* timeutil.h -- clocks and ISO 8601 timestamps.  Pure and thread safe. */
#ifndef SSE_TIMEUTIL_H
#define SSE_TIMEUTIL_H

#include <stdint.h>

/* "2026-11-29T12:00:00.123Z" plus NUL. */
#define TIME_ISO_LEN 25

/* Wall-clock time in milliseconds since the epoch (CLOCK_REALTIME). */
int64_t time_now_ms(void);

/* Monotonic time in milliseconds (CLOCK_MONOTONIC); only differences mean
 * anything. */
int64_t time_mono_ms(void);

/* Monotonic time in microseconds. */
int64_t time_mono_us(void);

/* Formats epoch milliseconds as ISO 8601 UTC with milliseconds into out,
 * which must hold TIME_ISO_LEN bytes.  Returns out. */
char *time_iso8601(char out[TIME_ISO_LEN], int64_t epoch_ms);

#endif
