/* Clocks and RFC 3339; see time.h. */
#include "util/time.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t cs_time_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cs_time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cs_time_mono_ms(void)
{
    return cs_time_mono_ns() / 1000000;
}

size_t cs_time_rfc3339(int64_t unix_ns, int frac_digits, char *buf, size_t size)
{
    time_t sec = (time_t)(unix_ns / 1000000000);
    long nsec = (long)(unix_ns % 1000000000);
    if (nsec < 0) {
        nsec += 1000000000;
        sec -= 1;
    }
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac_digits > 0 && n < size) {
        if (frac_digits > 9)
            frac_digits = 9;
        char frac[16];
        snprintf(frac, sizeof frac, "%09ld", nsec);
        frac[frac_digits] = '\0';
        n += (size_t)snprintf(buf + n, size - n, ".%s", frac);
    }
    if (n < size)
        n += (size_t)snprintf(buf + n, size - n, "Z");
    return n < size ? n : size - 1;
}

static int digits(const char *s, size_t len, size_t *pos, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*pos >= len || !isdigit((unsigned char)s[*pos]))
            return -1;
        v = v * 10 + (s[(*pos)++] - '0');
    }
    *out = v;
    return 0;
}

static int expect(const char *s, size_t len, size_t *pos, char c)
{
    if (*pos >= len || (s[*pos] != c && !(c == 'T' && (s[*pos] == 't' || s[*pos] == ' '))))
        return -1;
    (*pos)++;
    return 0;
}

int cs_time_parse_rfc3339(const char *s, size_t len, int64_t *unix_ns)
{
    size_t pos = 0;
    int y, mo, d, h, mi, sec;
    if (digits(s, len, &pos, 4, &y) || expect(s, len, &pos, '-') || digits(s, len, &pos, 2, &mo) ||
        expect(s, len, &pos, '-') || digits(s, len, &pos, 2, &d) || expect(s, len, &pos, 'T') ||
        digits(s, len, &pos, 2, &h) || expect(s, len, &pos, ':') || digits(s, len, &pos, 2, &mi) ||
        expect(s, len, &pos, ':') || digits(s, len, &pos, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    int64_t frac = 0;
    if (pos < len && s[pos] == '.') {
        pos++;
        int nd = 0;
        while (pos < len && isdigit((unsigned char)s[pos])) {
            if (nd < 9) {
                frac = frac * 10 + (s[pos] - '0');
                nd++;
            }
            pos++;
        }
        if (nd == 0)
            return -1;
        for (; nd < 9; nd++)
            frac *= 10;
    }
    int offset = 0;
    if (pos < len && (s[pos] == 'Z' || s[pos] == 'z')) {
        pos++;
    } else if (pos < len && (s[pos] == '+' || s[pos] == '-')) {
        int sign = s[pos++] == '-' ? -1 : 1, oh, om;
        if (digits(s, len, &pos, 2, &oh) || expect(s, len, &pos, ':') || digits(s, len, &pos, 2, &om))
            return -1;
        offset = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (pos != len)
        return -1;
    if (y <= 1) { /* Go's zero time: "never" */
        *unix_ns = 0;
        return 0;
    }
    /* days from civil (Howard Hinnant's algorithm), avoiding timegm's TZ state */
    int yy = y - (mo <= 2);
    int era = (yy >= 0 ? yy : yy - 399) / 400;
    unsigned yoe = (unsigned)(yy - era * 400);
    unsigned doy = (unsigned)((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + (int64_t)doe - 719468;
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset;
    /* int64 nanoseconds end in 2262: later times (untrusted image configs
     * carry any year) are malformed here, not an overflow */
    if (secs > INT64_MAX / 1000000000 - 1 || secs < INT64_MIN / 1000000000 + 1)
        return -1;
    *unix_ns = secs * 1000000000 + frac;
    return 0;
}
