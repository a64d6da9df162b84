/* Clocks and timestamp formats used across crishim. */
#ifndef CS_TIME_H
#define CS_TIME_H

#include <stddef.h>
#include <stdint.h>

int64_t cs_time_now_ns(void);   /* CLOCK_REALTIME, ns since the epoch */
int64_t cs_time_mono_ms(void);  /* CLOCK_MONOTONIC, ms */
int64_t cs_time_mono_ns(void);

/* RFC 3339 UTC with `frac_digits` (0..9) fractional digits, e.g.
 * 2026-11-24T09:12:58.123456Z. Returns the length written. */
size_t cs_time_rfc3339(int64_t unix_ns, int frac_digits, char *buf, size_t size);

/* Parses RFC 3339 (as Docker writes it: "2026-11-24T09:12:58.123456789Z" or with
 * a +hh:mm offset) into ns since the epoch. Docker's zero time
 * "0001-01-01T00:00:00Z" gives 0. Returns 0 on success, -1 if malformed. */
int cs_time_parse_rfc3339(const char *s, size_t len, int64_t *unix_ns);

#endif
