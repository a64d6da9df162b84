/* Leveled logfmt lines on stderr:
 *   time=2026-11-24T09:12:58.123456Z level=info msg="listening" addr=unix:///run/crishim/crishim.sock
 * Values are quoted and escaped when they need it. Thread-safe: one write(2) a line. */
#ifndef CS_LOG_H
#define CS_LOG_H

#include <stdbool.h>

typedef enum cs_log_level {
    CS_LOG_DEBUG = 0,
    CS_LOG_INFO,
    CS_LOG_WARN,
    CS_LOG_ERROR,
} cs_log_level;

void cs_log_set_level(cs_log_level level);
cs_log_level cs_log_get_level(void);
bool cs_log_enabled(cs_log_level level);
/* "debug", "info", "warn"/"warning", "error" -> level; -1 if unknown. */
int cs_log_parse_level(const char *s);
/* Redirect output (tests); fd -1 restores stderr. */
void cs_log_set_fd(int fd);

/* msg, then key/value string pairs ending with NULL:
 *   cs_log(CS_LOG_INFO, "listening", "addr", addr, NULL);          */
void cs_log(cs_log_level level, const char *msg, ...) __attribute__((sentinel));

#define cs_debug(...) do { if (cs_log_enabled(CS_LOG_DEBUG)) cs_log(CS_LOG_DEBUG, __VA_ARGS__); } while (0)
#define cs_info(...) cs_log(CS_LOG_INFO, __VA_ARGS__)
#define cs_warn(...) cs_log(CS_LOG_WARN, __VA_ARGS__)
#define cs_err(...) cs_log(CS_LOG_ERROR, __VA_ARGS__)

#endif
