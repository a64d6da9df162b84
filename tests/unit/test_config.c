/* Command-line parsing: defaults, both flag spellings, every error path. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "util/log.h"
#include "suite.h"

static cs_config_result parse(cs_config *cfg, cs_error *err, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    cs_config_defaults(cfg);
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
    char *argv[] = {"crishim", "--listen", "unix:///tmp/a.sock", "--listen=tcp://127.0.0.1:9911",
                    "--backend=docker", "--docker-host", "unix:///tmp/d.sock", "--containerd-address=/tmp/c.sock",
                    "--log-level", "debug", "--shutdown-grace=2.5", "--streaming-addr", "[::1]:10010", NULL};
    ck_assert_int_eq(parse(&cfg, &err, argv), CS_CONFIG_RUN);
    ck_assert_uint_eq(cfg.nlisten, 2);
    ck_assert_str_eq(cfg.listen[1], "tcp://127.0.0.1:9911");
    ck_assert_int_eq(cfg.backend, CS_BACKEND_DOCKER);
    ck_assert_str_eq(cfg.docker_host, "unix:///tmp/d.sock");
    ck_assert_str_eq(cfg.containerd_address, "/tmp/c.sock");
    ck_assert_int_eq(cfg.log_level, CS_LOG_DEBUG);
    ck_assert_int_eq(cfg.shutdown_grace_ms, 2500);
    ck_assert_str_eq(cfg.streaming_addr, "[::1]:10010");
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

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("flags");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, all_flags_both_spellings);
    tcase_add_test(tc, help_and_version_exit);
    tcase_add_test(tc, bad_input_names_the_problem);
    tcase_add_test(tc, config_json);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
