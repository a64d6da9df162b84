/* Command-line and config-file parsing: defaults, both flag spellings, every
 * error path, the TOML file (precedence, unknown keys and bad values named
 * with their line), config default/dump round trips, and the TOML reader's
 * accepted and refused syntax. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/toml.h"
#include "util/log.h"
#include "suite.h"

/* The arena of the last config parsed: its strings stay valid until the next
 * parse (tests look at one config at a time); the teardown frees the last. */
static cs_arena *last_arena;

static void free_last(void)
{
    cs_arena_free(last_arena);
    last_arena = NULL;
}

static cs_config_result parse(cs_config *cfg, cs_error *err, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    free_last();
    cs_config_defaults(cfg);
    last_arena = cfg->arena;
    cs_error_clear(err);
    FILE *out = fopen("/dev/null", "w");
    cs_config_result r = cs_config_parse(cfg, argc, argv, out, err);
    fclose(out);
    return r;
}

START_TEST(defaults)
{
    cs_config cfg;
    cs_error err;
    char *argv[] = {"crishim", NULL};
    ck_assert_int_eq(parse(&cfg, &err, argv), CS_CONFIG_RUN);
    ck_assert_uint_eq(cfg.nlisten, 1);
    ck_assert_str_eq(cfg.listen[0], "unix:///run/crishim/crishim.sock");
    ck_assert_int_eq(cfg.backend, CS_BACKEND_AUTO);
    ck_assert_str_eq(cfg.docker_host, "unix:///var/run/docker.sock");
    ck_assert_str_eq(cfg.containerd_address, "/run/containerd/containerd.sock");
    ck_assert_int_eq(cfg.log_level, CS_LOG_INFO);
    ck_assert_str_eq(cfg.streaming_addr, "127.0.0.1:0");
}
END_TEST

START_TEST(all_flags_both_spellings)
{
    cs_config cfg;
    cs_error err;
    char *argv[] = {"crishim", "--listen", "unix:///tmp/a.sock", "--listen=tcp://127.0.0.1:9911", "--insecure-tcp",
                    "--backend=docker", "--docker-host", "unix:///tmp/d.sock", "--containerd-address=/tmp/c.sock",
                    "--log-level", "debug", "--shutdown-grace=2.5", "--streaming-addr", "[::1]:10010",
                    "--pull-progress-timeout=2", "--max-concurrent-downloads", "5", NULL};
    ck_assert_int_eq(parse(&cfg, &err, argv), CS_CONFIG_RUN);
    ck_assert_uint_eq(cfg.nlisten, 2);
    ck_assert_str_eq(cfg.listen[1], "tcp://127.0.0.1:9911");
    ck_assert_int_eq(cfg.backend, CS_BACKEND_DOCKER);
    ck_assert_str_eq(cfg.docker_host, "unix:///tmp/d.sock");
    ck_assert_str_eq(cfg.containerd_address, "/tmp/c.sock");
    ck_assert_int_eq(cfg.log_level, CS_LOG_DEBUG);
    ck_assert_int_eq(cfg.shutdown_grace_ms, 2500);
    ck_assert_str_eq(cfg.streaming_addr, "[::1]:10010");
    ck_assert_int_eq(cfg.pull_progress_timeout_ms, 2000);
    ck_assert_int_eq(cfg.max_concurrent_downloads, 5);
}
END_TEST

START_TEST(help_and_version_exit)
{
    cs_config cfg;
    cs_error err;
    char *a1[] = {"crishim", "--help", NULL};
    char *a2[] = {"crishim", "--version", NULL};
    ck_assert_int_eq(parse(&cfg, &err, a1), CS_CONFIG_EXIT);
    ck_assert_int_eq(parse(&cfg, &err, a2), CS_CONFIG_EXIT);
}
END_TEST

static void expect_error(char **argv, const char *needle)
{
    cs_config cfg;
    cs_error err;
    ck_assert_int_eq(parse(&cfg, &err, argv), CS_CONFIG_ERROR);
    ck_assert_int_eq(err.code, CS_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "message \"%s\" lacks \"%s\"", err.msg, needle);
}

START_TEST(bad_input_names_the_problem)
{
    char *a1[] = {"crishim", "--bogus", NULL};
    expect_error(a1, "unknown flag --bogus");
    char *a2[] = {"crishim", "--backend", "podman", NULL};
    expect_error(a2, "--backend podman");
    char *a3[] = {"crishim", "--log-level=loud", NULL};
    expect_error(a3, "--log-level loud");
    char *a4[] = {"crishim", "--listen", NULL};
    expect_error(a4, "--listen needs a value");
    char *a5[] = {"crishim", "--listen=relative/path.sock", NULL};
    expect_error(a5, "--listen");
    char *a6[] = {"crishim", "--listen=tcp://nohostport", NULL};
    expect_error(a6, "tcp://host:port");
    char *a7[] = {"crishim", "--docker-host=ftp://x", NULL};
    expect_error(a7, "--docker-host");
    char *a8[] = {"crishim", "--shutdown-grace=-1", NULL};
    expect_error(a8, "--shutdown-grace");
    char *a8b[] = {"crishim", "--max-concurrent-downloads=0", NULL};
    expect_error(a8b, "--max-concurrent-downloads");
    char *a9[] = {"crishim", "stray", NULL};
    expect_error(a9, "unexpected argument stray");
    char *a10[] = {"crishim", "--listenx=1", NULL};
    expect_error(a10, "unknown flag --listenx=1");
    char *a11[] = {"crishim", "--streaming-addr=127.0.0.1", NULL};
    expect_error(a11, "--streaming-addr 127.0.0.1");
    char *a12[] = {"crishim", "--streaming-addr=:99999", NULL};
    expect_error(a12, "--streaming-addr");
}
END_TEST

START_TEST(config_json)
{
    cs_config cfg;
    cs_error err;
    char *argv[] = {"crishim", "--backend=docker", NULL};
    ck_assert_int_eq(parse(&cfg, &err, argv), CS_CONFIG_RUN);
    char *j = cs_config_to_json(&cfg);
    ck_assert_ptr_nonnull(strstr(j, "\"backend\":\"docker\""));
    ck_assert_ptr_nonnull(strstr(j, "\"listen\":[\"unix:///run/crishim/crishim.sock\"]"));
    free(j);
}
END_TEST


/* ---- the config file ---- */

static char tmpdir[] = "/tmp/cs-config-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(file_then_flags_win)
{
    const char *path = write_file("a.toml", "# a comment\n"
                                            "listen = [\"unix:///tmp/f1.sock\", # first\n"
                                            "          \"unix:///tmp/f2.sock\",\n"
                                            "]\n"
                                            "backend = \"containerd\"\n"
                                            "docker_host = 'unix:///tmp/file-docker.sock'\n"
                                            "log_level = \"warn\"   # trailing comment\n"
                                            "shutdown_grace = 2.5\n"
                                            "insecure_tcp = true\n"
                                            "socket_group = \"kube\"\n");
    char cfgflag[300];
    snprintf(cfgflag, sizeof cfgflag, "--config=%s", path);
    cs_config cfg;
    cs_error err;
    char *a1[] = {"crishim", cfgflag, NULL};
    ck_assert_int_eq(parse(&cfg, &err, a1), CS_CONFIG_RUN);
    ck_assert_str_eq(cfg.config_path, path);
    ck_assert_uint_eq(cfg.nlisten, 2);
    ck_assert_str_eq(cfg.listen[1], "unix:///tmp/f2.sock");
    ck_assert_int_eq(cfg.backend, CS_BACKEND_CONTAINERD);
    ck_assert_str_eq(cfg.docker_host, "unix:///tmp/file-docker.sock");
    ck_assert_int_eq(cfg.log_level, CS_LOG_WARN);
    ck_assert_int_eq(cfg.shutdown_grace_ms, 2500);
    ck_assert(cfg.insecure_tcp);
    ck_assert_str_eq(cfg.socket_group, "kube");

    /* Flags override; a repeated flag replaces the file's list, not adds to it. */
    char *a2[] = {"crishim", "--backend=docker", "--config", (char *)path, "--listen=unix:///tmp/c1.sock",
                  "--listen=unix:///tmp/c2.sock", "--listen=unix:///tmp/c3.sock", "--insecure-tcp=false", NULL};
    ck_assert_int_eq(parse(&cfg, &err, a2), CS_CONFIG_RUN);
    ck_assert_int_eq(cfg.backend, CS_BACKEND_DOCKER);
    ck_assert_uint_eq(cfg.nlisten, 3);
    ck_assert_str_eq(cfg.listen[0], "unix:///tmp/c1.sock");
    ck_assert(!cfg.insecure_tcp);
    ck_assert_str_eq(cfg.docker_host, "unix:///tmp/file-docker.sock"); /* not on the command line: the file's */
}
END_TEST

static void expect_file_error(const char *text, const char *needle)
{
    const char *path = write_file("bad.toml", text);
    char cfgflag[300];
    snprintf(cfgflag, sizeof cfgflag, "--config=%s", path);
    char *argv[] = {"crishim", cfgflag, NULL};
    cs_config cfg;
    cs_error err;
    ck_assert_int_eq(parse(&cfg, &err, argv), CS_CONFIG_ERROR);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "for %s: message \"%s\" lacks \"%s\"", text, err.msg, needle);
}

START_TEST(file_errors_name_key_and_line)
{
    expect_file_error("backend = \"docker\"\n\nbogus_key = 1\n", "bad.toml:3: unknown key bogus_key");
    expect_file_error("\nbackend = \"podman\"\n", "bad.toml:2: key backend: want auto, docker or containerd");
    expect_file_error("shutdown_grace = \"10\"\n", "bad.toml:1: key shutdown_grace: want a number of seconds, got string");
    expect_file_error("shutdown_grace = 99999\n", "bad.toml:1: key shutdown_grace: want seconds between 0 and 3600");
    expect_file_error("insecure_tcp = 1\n", "bad.toml:1: key insecure_tcp: want true or false, got integer 1");
    expect_file_error("listen = [1]\n", "bad.toml:1: key listen: want an array of strings");
    expect_file_error("listen = [\"relative\"]\n", "bad.toml:1: key listen: want unix:///path or tcp://host:port");
    expect_file_error("a = 1\n[tls]\ncert = \"x\"\n", "bad.toml:1: unknown key a");
    expect_file_error("[tls]\ncert = \"x\"\n", "bad.toml:2: unknown key tls.cert");
    expect_file_error("backend = docker\n", "bad.toml:1, key backend: 'docker' is not a value");
    expect_file_error("log_level = \"info\"\nlog_level = \"debug\"\n", "bad.toml:2, key log_level: defined twice");
    expect_file_error("backend = \"docker\" x\n", "bad.toml:1, key backend: unexpected 'x'");
    expect_file_error("listen = [\"unix:///a\",\n\n", "bad.toml:3, key listen: unterminated array");
    /* Across keys: plaintext TCP needs the flag. */
    expect_file_error("listen = [\"tcp://127.0.0.1:1234\"]\n", "needs --tls-cert and --tls-key (or --insecure-tcp");
    expect_file_error("tls_cert = \"/c\"\n", "tls_cert and tls_key");
}
END_TEST

START_TEST(config_file_presence)
{
    cs_config cfg;
    cs_error err;
    /* Named explicitly and missing: an error; the default path missing is fine (defaults test). */
    char *a1[] = {"crishim", "--config=/nonexistent/crishim.toml", NULL};
    ck_assert_int_eq(parse(&cfg, &err, a1), CS_CONFIG_ERROR);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/crishim.toml"));
    char *a2[] = {"crishim", "--config", NULL};
    ck_assert_int_eq(parse(&cfg, &err, a2), CS_CONFIG_ERROR);
    /* Plaintext TCP by flag. */
    char *a3[] = {"crishim", "--config=/dev/null", "--listen=tcp://127.0.0.1:1", NULL};
    ck_assert_int_eq(parse(&cfg, &err, a3), CS_CONFIG_ERROR);
    ck_assert_ptr_nonnull(strstr(err.msg, "--insecure-tcp"));
    char *a4[] = {"crishim", "--config=/dev/null", "--listen=tcp://127.0.0.1:1", "--insecure-tcp", NULL};
    ck_assert_int_eq(parse(&cfg, &err, a4), CS_CONFIG_RUN);
    char *a5[] = {"crishim", "--config=/dev/null", "--listen=tcp://127.0.0.1:1", "--tls-cert=/c", "--tls-key=/k",
                  "--tls-client-ca=/ca", NULL};
    ck_assert_int_eq(parse(&cfg, &err, a5), CS_CONFIG_RUN);
    ck_assert_str_eq(cfg.tls_client_ca, "/ca");
}
END_TEST

static char *capture(char **argv, cs_config_result want)
{
    cs_config cfg;
    cs_error err;
    int argc = 0;
    while (argv[argc])
        argc++;
    cs_config_defaults(&cfg);
    cs_error_clear(&err);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cs_config_result r = cs_config_parse(&cfg, argc, argv, out, &err);
    fclose(out);
    cs_config_free(&cfg);
    ck_assert_msg(r == want, "result %d (%s)", r, err.msg);
    return buf;
}

/* config default loads back as the defaults; config dump shows the flags
 * over the file, and loads back to itself. */
START_TEST(default_and_dump_round_trip)
{
    char *def = capture((char *[]){"crishim", "config", "default", NULL}, CS_CONFIG_EXIT);
    ck_assert_ptr_nonnull(strstr(def, "# docker, containerd or auto"));
    ck_assert_ptr_nonnull(strstr(def, "backend = \"auto\""));
    const char *path = write_file("default.toml", def);
    char cfgflag[300];
    snprintf(cfgflag, sizeof cfgflag, "--config=%s", path);
    char *dump_def = capture((char *[]){"crishim", "config", "dump", cfgflag, NULL}, CS_CONFIG_EXIT);
    char *dump_none = capture((char *[]){"crishim", "config", "dump", "--config=/dev/null", NULL}, CS_CONFIG_EXIT);
    /* Same values (the first line names the file). */
    ck_assert_str_eq(strchr(dump_def, '\n'), strchr(dump_none, '\n'));

    char *dump = capture((char *[]){"crishim", "config", "dump", cfgflag, "--log-level=debug",
                                    "--docker-host=unix:///tmp/q\"uote.sock", NULL},
                         CS_CONFIG_EXIT);
    ck_assert_ptr_nonnull(strstr(dump, "log_level = \"debug\""));
    ck_assert_ptr_nonnull(strstr(dump, "docker_host = \"unix:///tmp/q\\\"uote.sock\""));
    path = write_file("dump.toml", dump);
    snprintf(cfgflag, sizeof cfgflag, "--config=%s", path);
    char *again = capture((char *[]){"crishim", "config", "dump", cfgflag, NULL}, CS_CONFIG_EXIT);
    ck_assert_str_eq(strchr(again, '\n'), strchr(dump, '\n'));
    char *bad = capture((char *[]){"crishim", "config", "bogus", NULL}, CS_CONFIG_ERROR);
    free(def);
    free(dump_def);
    free(dump_none);
    free(dump);
    free(again);
    free(bad);
}
END_TEST

START_TEST(subcommands)
{
    cs_config cfg;
    cs_error err;
    char *a1[] = {"crishim", "health", "--listen=unix:///tmp/h.sock", "--config=/dev/null", NULL};
    ck_assert_int_eq(parse(&cfg, &err, a1), CS_CONFIG_RUN);
    ck_assert_int_eq(cfg.command, CS_CMD_HEALTH);
    ck_assert_str_eq(cfg.listen[0], "unix:///tmp/h.sock");
    char *a2[] = {"crishim", "--config=/dev/null", NULL};
    ck_assert_int_eq(parse(&cfg, &err, a2), CS_CONFIG_RUN);
    ck_assert_int_eq(cfg.command, CS_CMD_RUN);
}
END_TEST

/* ---- the TOML reader ---- */

typedef struct seen {
    char text[4096];
} seen;

static int record(void *user, const char *key, const cs_toml_value *v, int line, cs_error *err)
{
    seen *s = user;
    size_t n = strlen(s->text);
    char *p = s->text + n;
    size_t left = sizeof s->text - n;
    switch (v->type) {
    case CS_TOML_STRING: snprintf(p, left, "%d:%s=s(%s);", line, key, v->str); break;
    case CS_TOML_INT: snprintf(p, left, "%d:%s=i(%lld);", line, key, (long long)v->i); break;
    case CS_TOML_FLOAT: snprintf(p, left, "%d:%s=f(%g);", line, key, v->f); break;
    case CS_TOML_BOOL: snprintf(p, left, "%d:%s=b(%d);", line, key, v->b); break;
    case CS_TOML_ARRAY: snprintf(p, left, "%d:%s=a(%zu);", line, key, v->nitems); break;
    }
    return 0;
}

static void toml_ok(const char *text, const char *want)
{
    seen s = {{0}};
    cs_error err;
    cs_error_clear(&err);
    ck_assert_msg(cs_toml_parse(text, strlen(text), record, &s, &err) == 0, "%s: %s", text, err.msg);
    ck_assert_str_eq(s.text, want);
}

static void toml_bad(const char *text, const char *needle)
{
    seen s = {{0}};
    cs_error err;
    cs_error_clear(&err);
    ck_assert_msg(cs_toml_parse(text, strlen(text), record, &s, &err) != 0, "accepted: %s", text);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "for %s: message \"%s\" lacks \"%s\"", text, err.msg, needle);
}

START_TEST(toml_accepts)
{
    toml_ok("", "");
    toml_ok("\xEF\xBB\xBF# bom\r\na = 1\r\n", "2:a=i(1);");
    toml_ok("a = \"x\\ty\\u00e9\\U0001F600\\\"\"", "1:a=s(x\ty\xc3\xa9\xf0\x9f\x98\x80\");");
    toml_ok("a = 'C:\\no\\escapes'", "1:a=s(C:\\no\\escapes);");
    toml_ok("a = -1_000\nb = +3.5e2\nc = 0\nd = true\ne = false", "1:a=i(-1000);2:b=f(350);3:c=i(0);4:d=b(1);5:e=b(0);");
    toml_ok("\"quoted key\" = 1\nx.y = 2\n[t]\nz = 3\n[u.v]\nw = 4", "1:quoted key=i(1);2:x.y=i(2);4:t.z=i(3);6:u.v.w=i(4);");
    toml_ok("a = [\n  'x', # c\n  \"y\",\n]\nb = []", "1:a=a(2);5:b=a(0);");
    toml_ok("a=1#c", "1:a=i(1);");
}
END_TEST

START_TEST(toml_refuses)
{
    toml_bad("a = \"\"\"multi\"\"\"", "line 1, key a: multi-line strings are not supported");
    toml_bad("a = {b = 1}", "inline tables are not supported");
    toml_bad("[[t]]", "arrays of tables are not supported");
    toml_bad("a = [[1]]", "nested arrays are not supported");
    toml_bad("a = 0x10", "hex, octal and binary");
    toml_bad("a = inf", "inf and nan");
    toml_bad("a = 1979-05-27", "dates and times");
    toml_bad("a = 01", "leading zeros");
    toml_bad("a = 1__0", "misplaced '_'");
    toml_bad("a = 1.", "bad fraction");
    toml_bad("a = 99999999999999999999", "integer out of range");
    toml_bad("a = \"open", "unterminated string");
    toml_bad("a = \"\\q\"", "unknown escape");
    toml_bad("a = \"\\uD800\"", "not a Unicode scalar value");
    toml_bad("a = \"\\u0000\"", "NUL in a string");
    toml_bad("a = \"tab\x01\"", "control character");
    toml_bad("a = 1\na = 2", "line 2, key a: defined twice");
    toml_bad("[t]\n[t]", "line 2: defined twice");
    toml_bad("= 1", "'=' cannot start a key");
    toml_bad("a 1", "expected '='");
    toml_bad("a =", "expected a value");
    toml_bad("a = 1 2", "unexpected '2'");
    toml_bad("a = [1 2]", "expected ',' or ']'");
    toml_bad("a = bare", "'bare' is not a value");
    toml_bad("# c\x01", "control character in a comment");
    const char nul[] = "a = 1\nb\0 = 2";
    seen s = {{0}};
    cs_error err;
    ck_assert_int_ne(cs_toml_parse(nul, sizeof nul - 1, record, &s, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "line 2: NUL"));
}
END_TEST

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("flags");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, all_flags_both_spellings);
    tcase_add_test(tc, help_and_version_exit);
    tcase_add_test(tc, bad_input_names_the_problem);
    tcase_add_test(tc, config_json);
    tcase_add_test(tc, subcommands);
    tcase_add_checked_fixture(tc, NULL, free_last);
    suite_add_tcase(s, tc);
    TCase *file = tcase_create("file");
    tcase_add_checked_fixture(file, NULL, free_last);
    tcase_add_test(file, file_then_flags_win);
    tcase_add_test(file, file_errors_name_key_and_line);
    tcase_add_test(file, config_file_presence);
    tcase_add_test(file, default_and_dump_round_trip);
    suite_add_tcase(s, file);
    TCase *toml = tcase_create("toml");
    tcase_add_test(toml, toml_accepts);
    tcase_add_test(toml, toml_refuses);
    suite_add_tcase(s, toml);
    int rc = tc_run_suite(s, false);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
