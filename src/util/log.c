/* logfmt logger; see log.h. */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/time.h"

static _Atomic int log_level = CS_LOG_INFO;
static _Atomic int log_fd = STDERR_FILENO;

void cs_log_set_level(cs_log_level level) { log_level = level; }
cs_log_level cs_log_get_level(void) { return (cs_log_level)log_level; }
bool cs_log_enabled(cs_log_level level) { return (int)level >= log_level; }
void cs_log_set_fd(int fd) { log_fd = fd < 0 ? STDERR_FILENO : fd; }

int cs_log_parse_level(const char *s)
{
    if (!s)
        return -1;
    if (!strcmp(s, "debug"))
        return CS_LOG_DEBUG;
    if (!strcmp(s, "info"))
        return CS_LOG_INFO;
    if (!strcmp(s, "warn") || !strcmp(s, "warning"))
        return CS_LOG_WARN;
    if (!strcmp(s, "error"))
        return CS_LOG_ERROR;
    return -1;
}

static const char *level_name(cs_log_level l)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    return (unsigned)l < 4 ? names[l] : "info";
}

typedef struct line {
    char buf[4096];
    size_t len;
} line;

static void put(line *ln, const char *s, size_t n)
{
    size_t room = sizeof ln->buf - 2 - ln->len; /* keep room for '\n' */
    if (n > room)
        n = room;
    memcpy(ln->buf + ln->len, s, n);
    ln->len += n;
}

static void put_value(line *ln, const char *v)
{
    if (!v)
        v = "";
    bool quote = *v == '\0';
    for (const char *p = v; *p && !quote; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p >= 0x7f)
            quote = true;
    if (!quote) {
        put(ln, v, strlen(v));
        return;
    }
    put(ln, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(ln, esc, 2);
        } else if (*p == '\n') {
            put(ln, "\\n", 2);
        } else if (*p == '\t') {
            put(ln, "\\t", 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            put(ln, esc, 4);
        } else {
            put(ln, (const char *)p, 1);
        }
    }
    put(ln, "\"", 1);
}

void cs_log(cs_log_level level, const char *msg, ...)
{
    if (!cs_log_enabled(level))
        return;
    line ln = {.len = 0};
    char ts[64];
    cs_time_rfc3339(cs_time_now_ns(), 6, ts, sizeof ts);
    put(&ln, "time=", 5);
    put(&ln, ts, strlen(ts));
    put(&ln, " level=", 7);
    put(&ln, level_name(level), strlen(level_name(level)));
    put(&ln, " msg=", 5);
    put_value(&ln, msg);
    va_list ap;
    va_start(ap, msg);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *val = va_arg(ap, const char *);
        put(&ln, " ", 1);
        put(&ln, key, strlen(key));
        put(&ln, "=", 1);
        put_value(&ln, val);
    }
    va_end(ap);
    ln.buf[ln.len++] = '\n';
    ssize_t r = write(log_fd, ln.buf, ln.len);
    (void)r;
}
