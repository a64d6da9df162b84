/* The JSON reader on responses captured from a real Docker 20.10 daemon
 * (tests/fixtures/docker), on escapes and on malformed, truncated and mutated
 * input (meant to run under ASan); the writer's escaping, depth limit and a
 * round trip through the reader. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "util/json.h"
#include "suite.h"

static const char *const fixtures[] = {
    "version.json",       "info.json",          "container_inspect.json", "container_exited_inspect.json",
    "containers_list.json", "images_list.json", "image_inspect.json",     "network_bridge.json",
    "networks_list.json", "error_404.json",
};
#define NFIXTURES (sizeof fixtures / sizeof fixtures[0])

static char *fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/docker/%s", CS_FIXTURES, name);
    char *text;
    cs_error err;
    ck_assert_msg(cs_read_file(path, 1 << 20, &text, len, &err) == 0, "%s", err.msg);
    return text;
}

static cs_json *parse_ok(const char *text, size_t len)
{
    cs_json *j;
    cs_error err;
    ck_assert_msg(cs_json_parse(text, len, &j, &err) == 0, "parse: %s in %.*s", err.msg, (int)len, text);
    return j;
}

static cs_json *parse_str(const char *text)
{
    return parse_ok(text, strlen(text));
}

/* Parses text[0..len) expecting failure; returns the message. */
static const char *parse_fails(const char *text, size_t len, cs_error *err)
{
    cs_json *j = (cs_json *)1;
    int rc = cs_json_parse(text, len, &j, err);
    ck_assert_msg(rc == -1, "accepted \"%.*s\"", (int)len, text);
    ck_assert_ptr_null(j);
    ck_assert_int_eq(err->code, CS_ERR_INTERNAL);
    return err->msg;
}

/* ---- typed getters on captured daemon responses ---- */

START_TEST(version_and_info)
{
    size_t len;
    char *text = fixture("version.json", &len);
    cs_json *j = parse_ok(text, len);
    cs_arena *a = cs_arena_new();
    ck_assert_str_eq(cs_json_get_str(j, 0, "ApiVersion", a), "1.41");
    ck_assert_str_eq(cs_json_get_str(j, 0, "MinAPIVersion", a), "1.12");
    ck_assert_str_eq(cs_json_get_str(j, 0, "Version", a), "20.10.24+dfsg1");
    ck_assert_ptr_null(cs_json_get_str(j, 0, "NoSuchKey", a));
    ck_assert_ptr_null(cs_json_get_str(j, 0, "Platform", a)); /* an object is not a string */
    ck_assert_str_eq(cs_json_get_str(j, 0, "Platform.Name", a), "");
    /* Components is an array of objects */
    int comps = cs_json_key(j, 0, "Components");
    ck_assert_int_eq(cs_json_type_of(j, comps), CS_JSON_ARRAY);
    ck_assert_int_eq(cs_json_count(j, comps), 4);
    int engine = cs_json_at(j, comps, 0);
    ck_assert_str_eq(cs_json_get_str(j, engine, "Name", a), "Engine");
    ck_assert_str_eq(cs_json_get_str(j, engine, "Details.ApiVersion", a), "1.41");
    ck_assert_str_eq(cs_json_get_str(j, engine, "Details.MinAPIVersion", a), "1.12");
    const char *names[] = {"Engine", "containerd", "runc", "docker-init"};
    int n = 0;
    for (int c = cs_json_first(j, comps); c >= 0; c = cs_json_next(j, comps, c), n++)
        ck_assert(cs_json_str_eq(j, cs_json_key(j, c, "Name"), names[n]));
    ck_assert_int_eq(n, 4);
    cs_json_free(j);
    free(text);

    text = fixture("info.json", &len);
    j = parse_ok(text, len);
    ck_assert_str_eq(cs_json_get_str(j, 0, "CgroupDriver", a), "cgroupfs");
    ck_assert_str_eq(cs_json_get_str(j, 0, "CgroupVersion", a), "1");
    ck_assert_str_eq(cs_json_get_str(j, 0, "Driver", a), "overlay2");
    ck_assert_int_ge(cs_json_get_int64(j, 0, "NCPU", -1), 1);
    ck_assert_int_eq(cs_json_get_int64(j, 0, "MemTotal", 0), 25276502016LL);
    ck_assert(cs_json_get_bool(j, 0, "MemoryLimit", false));
    /* DriverStatus: an array of [name, value] pairs */
    int ds = cs_json_key(j, 0, "DriverStatus");
    ck_assert_str_eq(cs_json_str(j, cs_json_at(j, cs_json_at(j, ds, 0), 0), a), "Backing Filesystem");
    int logs = cs_json_get(j, 0, "Plugins.Log");
    ck_assert_int_eq(cs_json_type_of(j, logs), CS_JSON_ARRAY);
    bool have_json_file = false;
    for (int it = cs_json_first(j, logs); it >= 0; it = cs_json_next(j, logs, it))
        have_json_file |= cs_json_str_eq(j, it, "json-file");
    ck_assert(have_json_file);
    ck_assert_int_eq(cs_json_type_of(j, cs_json_get(j, 0, "Plugins.Authorization")), CS_JSON_NULL);
    cs_json_free(j);
    free(text);
    cs_arena_free(a);
}
END_TEST

START_TEST(container_inspect_labels_with_dots)
{
    size_t len;
    char *text = fixture("container_inspect.json", &len);
    cs_json *j = parse_ok(text, len);
    cs_arena *a = cs_arena_new();
    int labels = cs_json_get(j, 0, "Config.Labels");
    ck_assert_int_eq(cs_json_type_of(j, labels), CS_JSON_OBJECT);
    /* keys contain dots: exact-key lookup, never path splitting */
    ck_assert_str_eq(cs_json_str(j, cs_json_key(j, labels, "io.kubernetes.pod.name"), a), "web");
    ck_assert_str_eq(cs_json_str(j, cs_json_key(j, labels, "crishim.io/x"), a), "1");
    ck_assert_int_eq(cs_json_get(j, labels, "io.kubernetes.pod.name"), -1);
    ck_assert_int_eq(cs_json_key(j, labels, "io.kubernetes.pod"), -1); /* no prefix match */
    int n = 0, k;
    for (int v = cs_json_first_member(j, labels, &k); v >= 0; v = cs_json_next_member(j, labels, v, &k)) {
        ck_assert_int_eq(cs_json_type_of(j, k), CS_JSON_STRING);
        ck_assert_int_eq(cs_json_key(j, labels, cs_json_str(j, k, a)), v);
        n++;
    }
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(k, -1); /* cleared at the end */
    ck_assert(cs_json_get_bool(j, 0, "State.Running", false));
    ck_assert_int_gt(cs_json_get_int64(j, 0, "State.Pid", 0), 0);
    ck_assert_str_eq(cs_json_get_str(j, 0, "State.Status", a), "running");
    /* Cmd is an array of strings */
    int cmd = cs_json_get(j, 0, "Config.Cmd");
    ck_assert_str_eq(cs_json_str(j, cs_json_at(j, cmd, 0), a), "sleep");
    ck_assert_int_eq(cs_json_at(j, cmd, 5), -1);
    ck_assert_int_eq(cs_json_at(j, cmd, -1), -1);
    /* raw text of a value: strings without quotes, still escaped */
    size_t rn;
    const char *raw = cs_json_raw(j, cs_json_get(j, 0, "State.Status"), &rn);
    ck_assert_int_eq((int)rn, 7);
    ck_assert_int_eq(memcmp(raw, "running", 7), 0);
    raw = cs_json_raw(j, cs_json_get(j, 0, "State"), &rn);
    ck_assert(raw[0] == '{' && raw[rn - 1] == '}');
    cs_json_free(j);
    free(text);
    cs_arena_free(a);
}
END_TEST

/* Captured from `docker run --label 'crishim.io/note=caf\u00e9 "quoted" é 😀'
 * --label 'io.kubernetes.container.name=a<b>&c' -e 'GREETING=tab<TAB>end' ... exit 3`. */
START_TEST(exited_container_escapes)
{
    size_t len;
    char *text = fixture("container_exited_inspect.json", &len);
    cs_json *j = parse_ok(text, len);
    cs_arena *a = cs_arena_new();
    ck_assert_str_eq(cs_json_get_str(j, 0, "State.Status", a), "exited");
    ck_assert_int_eq(cs_json_get_int64(j, 0, "State.ExitCode", -1), 3);
    ck_assert_int_eq(cs_json_get_int64(j, 0, "State.Pid", -1), 0);
    ck_assert(!cs_json_get_bool(j, 0, "State.Running", true));
    int labels = cs_json_get(j, 0, "Config.Labels");
    ck_assert_str_eq(cs_json_str(j, cs_json_key(j, labels, "crishim.io/note"), a),
                     "caf\\u00e9 \"quoted\" \xc3\xa9 \xf0\x9f\x98\x80");
    ck_assert(cs_json_str_eq(j, cs_json_key(j, labels, "io.kubernetes.container.name"), "a<b>&c"));
    int env = cs_json_get(j, 0, "Config.Env");
    ck_assert_str_eq(cs_json_str(j, cs_json_at(j, env, 0), a), "GREETING=tab\tend");
    ck_assert(cs_json_str_eq(j, cs_json_at(j, env, 0), "GREETING=tab\tend"));
    ck_assert_str_eq(cs_json_str(j, cs_json_at(j, cs_json_get(j, 0, "Config.Cmd"), 2), a), "echo hi; exit 3");
    ck_assert_int_eq(cs_json_type_of(j, cs_json_get(j, 0, "Config.Entrypoint")), CS_JSON_NULL);
    cs_json_free(j);
    free(text);
    cs_arena_free(a);
}
END_TEST

START_TEST(images_sizes_and_nulls)
{
    size_t len;
    char *text = fixture("images_list.json", &len);
    cs_json *j = parse_ok(text, len);
    int img = cs_json_first(j, 0);
    ck_assert_int_ge(img, 0);
    int64_t size;
    ck_assert_int_eq(cs_json_int64(j, cs_json_key(j, img, "Size"), &size), 0);
    ck_assert_int_eq(size, 1982291);
    ck_assert_int_eq(cs_json_type_of(j, cs_json_key(j, img, "RepoDigests")), CS_JSON_NULL);
    ck_assert_int_eq(cs_json_count(j, cs_json_key(j, img, "RepoDigests")), 0);
    ck_assert_int_eq(cs_json_first(j, cs_json_key(j, img, "RepoDigests")), -1);
    ck_assert_int_eq(cs_json_get_int64(j, img, "Containers", 0), -1);
    uint64_t u;
    ck_assert_int_eq(cs_json_uint64(j, cs_json_key(j, img, "Containers"), &u), -1);
    ck_assert_int_eq(cs_json_next(j, 0, img), -1);
    cs_json_free(j);
    free(text);

    text = fixture("image_inspect.json", &len);
    j = parse_ok(text, len);
    cs_arena *a = cs_arena_new();
    ck_assert_int_eq(cs_json_get_int64(j, 0, "Size", -1), 1982291);
    ck_assert_int_eq(cs_json_get_int64(j, 0, "VirtualSize", -1), 1982291);
    ck_assert_str_eq(cs_json_get_str(j, 0, "Os", a), "linux");
    ck_assert_str_eq(cs_json_get_str(j, 0, "RootFS.Type", a), "layers");
    int layers = cs_json_get(j, 0, "RootFS.Layers");
    ck_assert_int_eq(cs_json_count(j, layers), 1);
    ck_assert_int_eq(strncmp(cs_json_str(j, cs_json_at(j, layers, 0), a), "sha256:", 7), 0);
    int digests = cs_json_key(j, 0, "RepoDigests");
    ck_assert_int_eq(cs_json_type_of(j, digests), CS_JSON_ARRAY);
    ck_assert_int_eq(cs_json_count(j, digests), 0);
    ck_assert_int_eq(cs_json_first(j, digests), -1);
    ck_assert_int_eq(cs_json_type_of(j, cs_json_get(j, 0, "Config.Labels")), CS_JSON_NULL);
    ck_assert_int_eq(cs_json_get(j, 0, "Config.Labels.x"), -1); /* through null */
    ck_assert_str_eq(cs_json_get_str(j, 0, "GraphDriver.Name", a), "overlay2");
    cs_json_free(j);
    free(text);
    cs_arena_free(a);
}
END_TEST

START_TEST(networks_options_with_dots)
{
    size_t len;
    char *text = fixture("networks_list.json", &len);
    cs_json *j = parse_ok(text, len);
    cs_arena *a = cs_arena_new();
    int bridge = -1, count = 0;
    for (int it = cs_json_first(j, 0); it >= 0; it = cs_json_next(j, 0, it), count++)
        if (cs_json_str_eq(j, cs_json_key(j, it, "Name"), "bridge"))
            bridge = it;
    ck_assert_int_eq(count, 3);
    ck_assert_int_ge(bridge, 0);
    int opts = cs_json_key(j, bridge, "Options");
    ck_assert_str_eq(cs_json_str(j, cs_json_key(j, opts, "com.docker.network.bridge.name"), a), "csh-br0");
    ck_assert_str_eq(cs_json_str(j, cs_json_key(j, opts, "com.docker.network.driver.mtu"), a), "1500");
    int cfg0 = cs_json_at(j, cs_json_get(j, bridge, "IPAM.Config"), 0);
    ck_assert_str_eq(cs_json_get_str(j, cfg0, "Subnet", a), "10.213.0.0/24");
    ck_assert_str_eq(cs_json_get_str(j, cfg0, "Gateway", a), "10.213.0.1");
    /* empty objects have no members */
    int k = 7;
    ck_assert_int_eq(cs_json_first_member(j, cs_json_key(j, bridge, "Containers"), &k), -1);
    ck_assert_int_eq(k, -1);
    cs_json_free(j);
    free(text);

    text = fixture("error_404.json", &len);
    j = parse_ok(text, len);
    ck_assert_str_eq(cs_json_get_str(j, 0, "message", a), "No such container: nope");
    cs_json_free(j);
    free(text);
    cs_arena_free(a);
}
END_TEST

/* Every fixture: skipping the root covers all tokens, and iterating members
 * and elements visits exactly count() values. */
static int check_counts(const cs_json *j, int tok)
{
    cs_json_type t = cs_json_type_of(j, tok);
    int end = cs_json_skip(j, tok);
    int n = 0;
    if (t == CS_JSON_ARRAY) {
        int last = tok + 1;
        for (int it = cs_json_first(j, tok); it >= 0; it = cs_json_next(j, tok, it), n++) {
            ck_assert_int_eq(it, last); /* elements are contiguous */
            last = check_counts(j, it);
        }
        ck_assert_int_eq(last, end);
    } else if (t == CS_JSON_OBJECT) {
        int k, last = tok + 1;
        for (int v = cs_json_first_member(j, tok, &k); v >= 0; v = cs_json_next_member(j, tok, v, &k), n++) {
            ck_assert_int_eq(k, last);
            ck_assert_int_eq(v, k + 1);
            last = check_counts(j, v);
        }
        ck_assert_int_eq(last, end);
    } else {
        ck_assert_int_eq(end, tok + 1);
    }
    ck_assert_int_eq(n, cs_json_count(j, tok));
    return end;
}

START_TEST(fixtures_structure)
{
    for (size_t f = 0; f < NFIXTURES; f++) {
        size_t len;
        char *text = fixture(fixtures[f], &len);
        cs_json *j = parse_ok(text, len);
        int end = check_counts(j, 0);
        ck_assert_int_eq(cs_json_skip(j, end), -1); /* one past the last token */
        ck_assert_int_eq(cs_json_type_of(j, end), CS_JSON_NONE);
        cs_json_free(j);
        free(text);
    }
}
END_TEST

/* ---- absent tokens, lookups ---- */

START_TEST(absent_tokens_chain)
{
    cs_json *j = parse_str("{\"a\":{\"b\":[1,2]},\"s\":\"x\"}");
    bool b = true;
    int64_t i = 9;
    uint64_t u = 9;
    double d = 9;
    size_t rn = 9;
    int k = 9;
    ck_assert_int_eq(cs_json_get(j, 0, "a.x.y"), -1);
    ck_assert_int_eq(cs_json_get(j, 0, "s.x"), -1); /* a string has no members */
    ck_assert_int_eq(cs_json_get(j, -1, "a"), -1);
    ck_assert_int_eq(cs_json_get(j, 0, NULL), -1);
    ck_assert_int_eq(cs_json_type_of(j, -1), CS_JSON_NONE);
    ck_assert_int_eq(cs_json_type_of(NULL, 0), CS_JSON_NONE);
    ck_assert_int_eq(cs_json_count(j, -1), 0);
    ck_assert_int_eq(cs_json_key(j, -1, "a"), -1);
    ck_assert_int_eq(cs_json_key(j, 0, NULL), -1);
    ck_assert_int_eq(cs_json_at(j, -1, 0), -1);
    ck_assert_int_eq(cs_json_first(j, -1), -1);
    ck_assert_int_eq(cs_json_next(j, -1, 2), -1);
    ck_assert_int_eq(cs_json_first_member(j, -1, &k), -1);
    ck_assert_int_eq(k, -1);
    k = 9;
    ck_assert_int_eq(cs_json_next_member(j, -1, 2, &k), -1);
    ck_assert_int_eq(k, -1);
    ck_assert_ptr_null(cs_json_raw(j, -1, &rn));
    ck_assert_uint_eq(rn, 0);
    ck_assert_ptr_null(cs_json_str(j, -1, NULL));
    ck_assert(!cs_json_str_eq(j, -1, "x"));
    ck_assert_int_eq(cs_json_int64(j, -1, &i), -1);
    ck_assert_int_eq(cs_json_uint64(j, -1, &u), -1);
    ck_assert_int_eq(cs_json_double(j, -1, &d), -1);
    ck_assert_int_eq(cs_json_bool(j, -1, &b), -1);
    ck_assert(i == 9 && u == 9 && d == 9 && b); /* outputs untouched on failure */
    ck_assert_ptr_null(cs_json_get_str(j, -1, "a", NULL));
    ck_assert_int_eq(cs_json_get_int64(j, -1, "a", 7), 7);
    ck_assert(cs_json_get_bool(j, -1, "a", true));
    ck_assert_int_eq(cs_json_get_int64(j, 0, "a.b", 7), 7); /* an array is not an int */
    ck_assert_int_eq(cs_json_skip(j, -1), -1);
    ck_assert_int_eq(cs_json_skip(j, 99), -1);
    ck_assert_int_eq(cs_json_type_of(j, 99), CS_JSON_NONE);
    int arr = cs_json_get(j, 0, "a.b");
    ck_assert_int_eq(cs_json_count(j, arr), 2);
    /* next() refuses an element that does not belong to the array */
    ck_assert_int_eq(cs_json_next(j, arr, 0), -1);
    ck_assert_int_eq(cs_json_next(j, 0, cs_json_first(j, arr)), -1);
    ck_assert_int_eq(cs_json_next_member(j, 0, cs_json_first(j, arr), &k), -1);
    ck_assert_int_eq(cs_json_next_member(j, cs_json_key(j, 0, "a"), 1, &k), -1);
    cs_json_free(j);
    cs_json_free(NULL);
}
END_TEST

START_TEST(path_lookup)
{
    char big[600];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char text[1400];
    snprintf(text, sizeof text, "{\"%s\":{\"x\":1},\"\":{\"\":2},\"a.b\":3,\"a\":{\"b\":4},\"k\\u00e9y\":5}", big);
    cs_json *j = parse_str(text);
    char path[700];
    snprintf(path, sizeof path, "%s.x", big);
    ck_assert_int_eq(cs_json_get_int64(j, 0, path, -1), 1); /* long path segments */
    ck_assert_int_eq(cs_json_get_int64(j, 0, ".", -1), 2);   /* empty keys */
    ck_assert_int_eq(cs_json_get_int64(j, 0, "a.b", -1), 4); /* the path, not the dotted key */
    ck_assert_int_eq(cs_json_int64(j, cs_json_key(j, 0, "a.b"), &(int64_t){0}), 0);
    ck_assert_int_eq(cs_json_get_int64(j, 0, "a.b.", -1), -1);
    ck_assert_int_eq(cs_json_get_int64(j, 0, "k\xc3\xa9y", -1), 5); /* keys compare unescaped */
    ck_assert_int_eq(cs_json_get(j, 0, "a..b"), -1);
    cs_json_free(j);
}
END_TEST

/* ---- strings ---- */

START_TEST(string_escapes)
{
    const char *t = "[\"a\\\"b\\\\c\\/d\\n\\t\\b\\f\\r\", \"\\u00e9\\u4e2d\\u0041\", \"\\ud83d\\ude00\", \"\\ud83d x\","
                    " \"\\udc00\", \"\\ud83d\\u0041\", \"\\ud83d\\ud83d\\ude00\", \"\\uD83D\\uDE00\", \"\\ud83d\","
                    " \"\\u0000z\", \"plain \xc3\xa9\", \"\"]";
    const char *want[] = {
        "a\"b\\c/d\n\t\b\f\r",
        "\xc3\xa9\xe4\xb8\xad" "A",
        "\xf0\x9f\x98\x80",
        "\xef\xbf\xbd x",
        "\xef\xbf\xbd",
        "\xef\xbf\xbd" "A",                      /* high surrogate then a non-surrogate */
        "\xef\xbf\xbd\xf0\x9f\x98\x80",          /* lone high, then a pair */
        "\xf0\x9f\x98\x80",                      /* upper-case hex */
        "\xef\xbf\xbd",                          /* high surrogate at the very end */
        "",                                      /* U+0000 ends the C string */
        "plain \xc3\xa9",
        "",
    };
    cs_json *j = parse_str(t);
    cs_arena *a = cs_arena_new();
    ck_assert_int_eq(cs_json_count(j, 0), (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < (int)(sizeof want / sizeof want[0]); i++) {
        char *s = cs_json_str(j, cs_json_at(j, 0, i), NULL);
        ck_assert_str_eq(s, want[i]);
        free(s);
        ck_assert_str_eq(cs_json_str(j, cs_json_at(j, 0, i), a), want[i]);
        if (i != 9)
            ck_assert(cs_json_str_eq(j, cs_json_at(j, 0, i), want[i]));
    }
    /* the embedded NUL counts: "\u0000z" is not "" */
    ck_assert(!cs_json_str_eq(j, cs_json_at(j, 0, 9), ""));
    ck_assert(!cs_json_str_eq(j, cs_json_at(j, 0, 0), NULL));
    ck_assert(!cs_json_str_eq(j, cs_json_at(j, 0, 2), "\xf0\x9f\x98"));
    ck_assert_ptr_null(cs_json_str(j, 0, NULL)); /* not a string */
    cs_json_free(j);
    cs_arena_free(a);
}
END_TEST

START_TEST(long_escaped_strings)
{
    /* longer than str_eq's stack buffer, with escapes */
    size_t n = 5000;
    char *text = malloc(n * 6 + 16), *want = malloc(n * 2 + 1);
    size_t o = 0, w = 0;
    o += (size_t)sprintf(text + o, "{\"");
    for (size_t i = 0; i < n; i++) {
        o += (size_t)sprintf(text + o, i % 2 ? "\\u00e9" : "\\n");
        w += (size_t)sprintf(want + w, i % 2 ? "\xc3\xa9" : "\n");
    }
    o += (size_t)sprintf(text + o, "\":true}");
    cs_json *j = parse_ok(text, o);
    ck_assert_int_eq(cs_json_key(j, 0, want), 2);
    char *k = cs_json_str(j, 1, NULL);
    ck_assert_str_eq(k, want);
    free(k);
    want[w - 1] = '\0';
    ck_assert_int_eq(cs_json_key(j, 0, want), -1);
    cs_json_free(j);
    free(text);
    free(want);
}
END_TEST

/* ---- numbers ---- */

START_TEST(numbers)
{
    cs_json *j = parse_str("[9223372036854775807, -9223372036854775808, 9223372036854775808, -5, -0, 1.5, 1e3,"
                           " 18446744073709551615, 18446744073709551616, 99999999999999999999, true, null,"
                           " 1.0, 0.1, 1e400, 1e-400, -2.5E-3, \"12\"]");
    int64_t i;
    uint64_t u;
    double d;
    bool b;
#define AT(n) cs_json_at(j, 0, n)
    ck_assert_int_eq(cs_json_int64(j, AT(0), &i), 0);
    ck_assert_int_eq(i, INT64_MAX);
    ck_assert_int_eq(cs_json_int64(j, AT(1), &i), 0);
    ck_assert(i == INT64_MIN);
    ck_assert_int_eq(cs_json_int64(j, AT(2), &i), -1); /* overflow */
    ck_assert_int_eq(cs_json_uint64(j, AT(2), &u), 0);
    ck_assert(u == 9223372036854775808ULL);
    ck_assert_int_eq(cs_json_int64(j, AT(3), &i), 0);
    ck_assert_int_eq(i, -5);
    ck_assert_int_eq(cs_json_uint64(j, AT(3), &u), -1); /* negative */
    ck_assert_int_eq(cs_json_int64(j, AT(4), &i), 0);
    ck_assert_int_eq(i, 0);
    ck_assert_int_eq(cs_json_uint64(j, AT(4), &u), -1); /* "-0" is still signed */
    ck_assert_int_eq(cs_json_int64(j, AT(5), &i), -1);  /* not an integer */
    ck_assert_int_eq(cs_json_double(j, AT(5), &d), 0);
    ck_assert(d == 1.5);
    ck_assert_int_eq(cs_json_int64(j, AT(6), &i), -1); /* exponents are refused */
    ck_assert_int_eq(cs_json_double(j, AT(6), &d), 0);
    ck_assert(d == 1000);
    ck_assert_int_eq(cs_json_uint64(j, AT(7), &u), 0);
    ck_assert(u == UINT64_MAX);
    ck_assert_int_eq(cs_json_uint64(j, AT(8), &u), -1);
    ck_assert_int_eq(cs_json_int64(j, AT(9), &i), -1);
    ck_assert_int_eq(cs_json_double(j, AT(9), &d), 0);
    ck_assert(d == 1e20);
    ck_assert_int_eq(cs_json_bool(j, AT(10), &b), 0);
    ck_assert(b);
    ck_assert_int_eq(cs_json_int64(j, AT(10), &i), -1);
    ck_assert_int_eq(cs_json_type_of(j, AT(11)), CS_JSON_NULL);
    ck_assert_int_eq(cs_json_bool(j, AT(11), &b), -1);
    ck_assert_int_eq(cs_json_double(j, AT(11), &d), -1);
    ck_assert_int_eq(cs_json_int64(j, AT(12), &i), -1); /* 1.0 too */
    ck_assert_int_eq(cs_json_double(j, AT(13), &d), 0);
    ck_assert(d == 0.1);
    ck_assert_int_eq(cs_json_double(j, AT(14), &d), -1); /* overflow */
    ck_assert_int_eq(cs_json_double(j, AT(15), &d), 0);  /* underflow rounds */
    ck_assert(d >= 0 && d < 1e-300);
    ck_assert_int_eq(cs_json_double(j, AT(16), &d), 0);
    ck_assert(d == -2.5e-3);
    ck_assert_int_eq(cs_json_type_of(j, AT(17)), CS_JSON_STRING);
    ck_assert_int_eq(cs_json_int64(j, AT(17), &i), -1); /* no coercion from strings */
    ck_assert_int_eq(cs_json_type_of(j, AT(5)), CS_JSON_NUMBER);
    ck_assert_int_eq(cs_json_type_of(j, AT(3)), CS_JSON_NUMBER);
#undef AT
    cs_json_free(j);

    /* a number longer than the getters' stack copies */
    char text[400] = "[1";
    for (int k = 0; k < 300; k++)
        strcat(text, "0");
    strcat(text, ".5]");
    j = parse_str(text);
    ck_assert_int_eq(cs_json_double(j, cs_json_at(j, 0, 0), &d), 0);
    ck_assert(d == 1e300);
    ck_assert_int_eq(cs_json_int64(j, cs_json_at(j, 0, 0), &i), -1);
    ck_assert_int_eq(cs_json_uint64(j, cs_json_at(j, 0, 0), &u), -1);
    cs_json_free(j);
}
END_TEST

/* The token's text is not NUL-terminated: a number must be read only up to its
 * end, even when digits follow in the buffer. */
START_TEST(numbers_bounded_by_token)
{
    const char text[] = "[12]34";
    cs_json *j = parse_ok(text, 4);
    int64_t i;
    ck_assert_int_eq(cs_json_int64(j, cs_json_at(j, 0, 0), &i), 0);
    ck_assert_int_eq(i, 12);
    cs_json_free(j);
    /* and a bare top-level number in an exact-size heap buffer */
    char *heap = malloc(3);
    memcpy(heap, "-42", 3);
    j = parse_ok(heap, 3);
    ck_assert_int_eq(cs_json_type_of(j, 0), CS_JSON_NUMBER);
    ck_assert_int_eq(cs_json_int64(j, 0, &i), 0);
    ck_assert_int_eq(i, -42);
    cs_json_free(j);
    free(heap);
}
END_TEST

/* ---- malformed input ---- */

START_TEST(valid_edge_documents)
{
    const char *good[] = {"{}", "[]", " \t\r\n{ } \n", "1", " -0.5e+10 ", "0", "true", "false", "null", "\"x\"",
                          "[[],{}]", "{\"\":\"\"}", "[1,-2,3.25,4E2,5e-1,true,false,null,\"s\"]",
                          "{\"a\" : 1 , \"b\":[ ] }", "[\"\\u0041\\\\\"]", "{\"a\":{\"b\":{\"c\":[1,[2,[3]]]}}}"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        cs_json *j = parse_str(good[i]);
        ck_assert_int_ne(cs_json_type_of(j, 0), CS_JSON_NONE);
        cs_json_free(j);
    }
    cs_json *j = parse_str(" true ");
    ck_assert_int_eq(cs_json_type_of(j, 0), CS_JSON_TRUE);
    cs_json_free(j);
}
END_TEST

START_TEST(malformed_input_fails_cleanly)
{
    /* Many of these jsmn alone accepts: it ignores commas and colons. */
    const char *bad[] = {
        "", " ", "\n\t ", "{", "[1,", "{\"a\" 1}", "{\"a\":}", "{\"a\"}", "{\"a\":1,}", "{,\"a\":1}", "{,}",
        "[1 2]", "[1 2]x", "[,1]", "[1,]", "[1,,2]", "[\"a\":]", "[\"a\":1]", "{\"a\":\"b\":\"c\"}",
        "{\"a\" \"b\"}", "{\"a\":1 \"b\":2}", "{\"a\"::1}", "{\"a\",1}", "[[]:\"x\"]", "{} {}", "{}x", "x{}",
        "[1]]", "{}}", "]", "}", "tru", "[tru]", "[nul]", "[truex]", "[True]", "[-]", "[01]", "[1.]", "[.5]",
        "[1e]", "[1e+]", "[+1]", "[1.2.3]", "[0x10]", "[--1]", "\"open", "{1:2}", "{\"a\":1:2}", "[\"\\x\"]",
        "[\"\\u12\"]", "[\"\\u12G4\"]", "[NaN]", "[Infinity]", "1 2", "\"a\" \"b\"", "-", "[1,2", "{\"a\":[",
        "'a'", "[1;2]", "{\"a\":1}\"", "\xef\xbb\xbf{}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cs_error err;
        const char *msg = parse_fails(bad[i], strlen(bad[i]), &err);
        ck_assert_msg(strstr(msg, "JSON"), "message \"%s\" for \"%s\"", msg, bad[i]);
    }
}
END_TEST

START_TEST(error_messages)
{
    cs_error err;
    ck_assert_str_eq(parse_fails("", 0, &err), "malformed JSON: empty document");
    ck_assert_str_eq(parse_fails(NULL, 5, &err), "malformed JSON: empty document");
    ck_assert_str_eq(parse_fails("{\"a\":[1,2", 9, &err), "truncated JSON (9 bytes)");
    ck_assert_str_eq(parse_fails("[1 2]", 5, &err), "malformed JSON at byte 2: expected ','");
    ck_assert_str_eq(parse_fails("{\"a\":1} x", 9, &err), "malformed JSON at byte 8: unexpected character");
    ck_assert_str_eq(parse_fails("{\"a\":1} {}", 10, &err), "malformed JSON at byte 7: data after the document");
    ck_assert_str_eq(parse_fails("[tru]", 5, &err), "malformed JSON at byte 1: invalid literal");
    /* NUL bytes: jsmn would stop there as if the text ended */
    ck_assert_str_eq(parse_fails("{}\0{", 4, &err), "malformed JSON at byte 2: NUL byte");
    ck_assert_str_eq(parse_fails("[\"a\0b\"]", 7, &err), "malformed JSON at byte 3: NUL byte");
    /* err may be NULL */
    cs_json *j;
    ck_assert_int_eq(cs_json_parse("[", 1, &j, NULL), -1);
}
END_TEST

static char *nested(int depth, size_t *len)
{
    char *s = malloc((size_t)depth * 2 + 2);
    for (int i = 0; i < depth; i++)
        s[i] = '[';
    s[depth] = '1';
    for (int i = 0; i < depth; i++)
        s[depth + 1 + i] = ']';
    *len = (size_t)depth * 2 + 1;
    return s;
}

START_TEST(nesting_limit)
{
    size_t len;
    char *s = nested(512, &len);
    cs_json *j = parse_ok(s, len);
    int tok = 0;
    for (int i = 0; i < 512; i++)
        tok = cs_json_first(j, tok);
    ck_assert_int_eq(cs_json_type_of(j, tok), CS_JSON_NUMBER);
    ck_assert_int_eq(cs_json_skip(j, 0), 513);
    cs_json_free(j);
    free(s);
    s = nested(513, &len);
    cs_error err;
    ck_assert_ptr_nonnull(strstr(parse_fails(s, len, &err), "nested too deeply"));
    free(s);
    s = nested(100000, &len);
    ck_assert_ptr_nonnull(strstr(parse_fails(s, len, &err), "nested too deeply"));
    free(s);
}
END_TEST

/* Every prefix of every fixture either parses or fails cleanly; when it
 * parses, walking all of it stays in bounds (ASan watches). */
static void walk(const cs_json *j, int tok, int depth)
{
    ck_assert_int_lt(depth, 600);
    size_t rn;
    int64_t i;
    double d;
    bool b;
    cs_json_raw(j, tok, &rn);
    cs_json_int64(j, tok, &i);
    cs_json_double(j, tok, &d);
    cs_json_bool(j, tok, &b);
    cs_json_type t = cs_json_type_of(j, tok);
    if (t == CS_JSON_ARRAY) {
        for (int it = cs_json_first(j, tok); it >= 0; it = cs_json_next(j, tok, it))
            walk(j, it, depth + 1);
        cs_json_at(j, tok, cs_json_count(j, tok) - 1);
    } else if (t == CS_JSON_OBJECT) {
        int k;
        for (int v = cs_json_first_member(j, tok, &k); v >= 0; v = cs_json_next_member(j, tok, v, &k)) {
            char *key = cs_json_str(j, k, NULL);
            ck_assert_ptr_nonnull(key);
            cs_json_key(j, tok, key);
            free(key);
            walk(j, v, depth + 1);
        }
        cs_json_get(j, tok, "Config.Labels");
    } else if (t == CS_JSON_STRING) {
        free(cs_json_str(j, tok, NULL));
        cs_json_str_eq(j, tok, "running");
    }
}

/* An exact-size heap copy, so any read past the end is caught. */
static void parse_and_walk(const char *text, size_t n)
{
    char *copy = malloc(n ? n : 1);
    memcpy(copy, text, n);
    cs_json *j;
    cs_error err;
    if (cs_json_parse(copy, n, &j, &err) == 0) {
        walk(j, 0, 0);
        cs_json_free(j);
    } else {
        ck_assert_int_eq(err.code, CS_ERR_INTERNAL);
    }
    free(copy);
}

START_TEST(every_prefix_of_fixtures)
{
    for (size_t f = 0; f < NFIXTURES; f++) {
        size_t len;
        char *text = fixture(fixtures[f], &len);
        size_t parsed = 0;
        for (size_t n = 0; n <= len; n++) {
            char *copy = malloc(n ? n : 1);
            memcpy(copy, text, n);
            cs_json *j;
            if (cs_json_parse(copy, n, &j, NULL) == 0) {
                walk(j, 0, 0);
                cs_json_free(j);
                parsed++;
            }
            free(copy);
        }
        /* only the whole document (and it with its trailing newline, if any) parses */
        ck_assert_msg(parsed >= 1 && parsed <= 2, "%s: %zu prefixes parsed", fixtures[f], parsed);
        free(text);
    }
}
END_TEST

/* Deterministic mutations of the fixtures: flipped, deleted and inserted bytes
 * taken from JSON's own punctuation, so the tokenizer gets past the first byte. */
static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

START_TEST(mutated_fixtures)
{
    static const char pick[] = "{}[]\":,\\ 0-1e.tfnu\x01\x80\xff";
    char *buf = malloc(1 << 16);
    for (size_t f = 0; f < NFIXTURES; f++) {
        size_t len;
        char *text = fixture(fixtures[f], &len);
        ck_assert_uint_lt(len + 8, 1 << 16);
        for (int round = 0; round < 400; round++) {
            memcpy(buf, text, len);
            size_t n = len;
            int edits = 1 + (int)(rnd() % 3);
            for (int e = 0; e < edits && n > 1; e++) {
                size_t at = rnd() % n;
                switch (rnd() % 3) {
                case 0:
                    buf[at] = pick[rnd() % (sizeof pick - 1)];
                    break;
                case 1:
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                    break;
                default:
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = pick[rnd() % (sizeof pick - 1)];
                    n++;
                    break;
                }
            }
            parse_and_walk(buf, n);
        }
        free(text);
    }
    free(buf);
}
END_TEST

/* Long arrays iterate in linear time (a quadratic next() or jsmn without parent
 * links would take minutes here). */
START_TEST(large_array_iterates_linearly)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_arr_begin(&w);
    for (int i = 0; i < 200000; i++) {
        cs_jw_obj_begin(&w);
        cs_jw_kv_int(&w, "i", i);
        cs_jw_key(&w, "l");
        cs_jw_arr_begin(&w);
        cs_jw_int(&w, 1);
        cs_jw_int(&w, 2);
        cs_jw_arr_end(&w);
        cs_jw_obj_end(&w);
    }
    cs_jw_arr_end(&w);
    cs_json *j = parse_ok(w.buf, w.len);
    int64_t sum = 0, n = 0;
    for (int it = cs_json_first(j, 0); it >= 0; it = cs_json_next(j, 0, it), n++)
        sum += cs_json_get_int64(j, it, "i", 0) + cs_json_count(j, cs_json_key(j, it, "l"));
    ck_assert_int_eq(n, 200000);
    ck_assert_int_eq(sum, (int64_t)199999 * 200000 / 2 + 2 * 200000);
    cs_json_free(j);
    cs_jw_free(&w);
}
END_TEST

/* ---- writer ---- */

static char *take(cs_jw *w)
{
    size_t len;
    char *s = cs_jw_take(w, &len);
    ck_assert_uint_eq(len, strlen(s));
    return s;
}

START_TEST(writer_escapes_and_round_trips)
{
    cs_jw w;
    cs_jw_init(&w);
    ck_assert_str_eq(cs_jw_str_view(&w), "");
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "q", "say \"hi\"\\\n\t\x01\x1f\b\f\r/");
    cs_jw_kv_str(&w, "bad-utf8", "a\xff" "b\xc3(" "\xed\xa0\x80");
    cs_jw_kv_str(&w, "utf8", "\xc3\xa9\xf0\x9f\x98\x80");
    cs_jw_kv_str(&w, "k\"ey\n", "v");
    cs_jw_kv_int(&w, "neg", -42);
    cs_jw_kv_int(&w, "min", INT64_MIN);
    cs_jw_kv_bool(&w, "t", true);
    cs_jw_kv_bool(&w, "f", false);
    cs_jw_kv_str(&w, "nul", NULL);
    cs_jw_key(&w, "arr");
    cs_jw_arr_begin(&w);
    cs_jw_uint(&w, UINT64_MAX);
    cs_jw_double(&w, 0.5);
    cs_jw_double(&w, 1.0 / 0.0);
    cs_jw_double(&w, NAN);
    cs_jw_null(&w);
    cs_jw_string(&w, NULL);
    cs_jw_raw(&w, "{\"x\":[]}", 8);
    cs_jw_stringn(&w, "ab\0cd", 5);
    cs_jw_arr_begin(&w);
    cs_jw_arr_end(&w);
    cs_jw_obj_begin(&w);
    cs_jw_obj_end(&w);
    cs_jw_arr_end(&w);
    cs_jw_obj_end(&w);
    char *out = take(&w);
    ck_assert_ptr_nonnull(strstr(out, "{\"q\":\"say \\\"hi\\\"\\\\\\n\\t\\u0001\\u001f\\b\\f\\r/\","));
    ck_assert_ptr_nonnull(
        strstr(out, "\"bad-utf8\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""));
    ck_assert_ptr_nonnull(strstr(out, "\"k\\\"ey\\n\":\"v\""));
    ck_assert_ptr_nonnull(strstr(out, "\"nul\":null,"));
    ck_assert_ptr_nonnull(
        strstr(out, "\"arr\":[18446744073709551615,0.5,null,null,null,null,{\"x\":[]},\"ab\\u0000cd\",[],{}]}"));

    cs_json *j = parse_str(out);
    cs_arena *a = cs_arena_new();
    ck_assert_str_eq(cs_json_get_str(j, 0, "q", a), "say \"hi\"\\\n\t\x01\x1f\b\f\r/");
    ck_assert_str_eq(cs_json_get_str(j, 0, "utf8", a), "\xc3\xa9\xf0\x9f\x98\x80");
    ck_assert_str_eq(cs_json_str(j, cs_json_key(j, 0, "k\"ey\n"), a), "v");
    ck_assert_int_eq(cs_json_get_int64(j, 0, "neg", 0), -42);
    ck_assert(cs_json_get_int64(j, 0, "min", 0) == INT64_MIN);
    ck_assert(cs_json_get_bool(j, 0, "t", false));
    ck_assert(!cs_json_get_bool(j, 0, "f", true));
    ck_assert_int_eq(cs_json_type_of(j, cs_json_key(j, 0, "nul")), CS_JSON_NULL);
    int arr = cs_json_key(j, 0, "arr");
    ck_assert_int_eq(cs_json_count(j, arr), 10);
    uint64_t u;
    ck_assert_int_eq(cs_json_uint64(j, cs_json_at(j, arr, 0), &u), 0);
    ck_assert(u == UINT64_MAX);
    ck_assert(!cs_json_str_eq(j, cs_json_at(j, arr, 7), "ab"));
    cs_json_free(j);
    cs_arena_free(a);
    free(out);
    cs_jw_free(&w); /* harmless after take */
}
END_TEST

/* Each malformed UTF-8 byte becomes one U+FFFD; valid sequences pass through. */
START_TEST(writer_invalid_utf8)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                         /* overlong '/' */
        {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},         /* overlong, 3 bytes */
        {"\xf0\x80\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},         /* UTF-16 surrogate */
        {"\xed\x9f\xbf", "\xed\x9f\xbf"},                                 /* U+D7FF is fine */
        {"x\xe2\x82", "x\xef\xbf\xbd\xef\xbf\xbd"},                       /* truncated at the end */
        {"\xe2\x82x", "\xef\xbf\xbd\xef\xbf\xbdx"},                       /* truncated mid-string */
        {"\xf5\x80\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
        {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},                         /* U+10FFFF */
        {"\x80", "\xef\xbf\xbd"},                                         /* stray continuation */
        {"\xfe\xff", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\x7f", "\x7f"},
        {"\xe2\x82\xac", "\xe2\x82\xac"},                                 /* euro sign */
        {"a\xe2\x80\xa8" "b\xe2\x80\xa9", "a\\u2028b\\u2029"},            /* JS line separators */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cs_jw w;
        cs_jw_init(&w);
        cs_jw_string(&w, cases[i].in);
        char want[64];
        snprintf(want, sizeof want, "\"%s\"", cases[i].out);
        ck_assert_msg(strcmp(cs_jw_str_view(&w), want) == 0, "case %zu: got %s", i, cs_jw_str_view(&w));
        cs_json *j = parse_str(cs_jw_str_view(&w));
        cs_json_free(j);
        cs_jw_free(&w);
    }
}
END_TEST

/* Random byte strings: the output always parses, and writing the decoded
 * string again gives the same text (the writer's output is a fixed point). */
START_TEST(writer_random_round_trip)
{
    rng_state = 777;
    char in[64];
    for (int round = 0; round < 5000; round++) {
        size_t n = rnd() % sizeof in;
        for (size_t i = 0; i < n; i++) {
            uint32_t r = rnd();
            /* mostly ASCII and valid UTF-8 lead/continuation bytes, no NUL */
            in[i] = (char)(r % 4 == 0 ? 0x80 + (r >> 8) % 0x80 : 1 + (r >> 8) % 0x7f);
        }
        cs_jw w;
        cs_jw_init(&w);
        cs_jw_arr_begin(&w);
        cs_jw_stringn(&w, in, n);
        cs_jw_arr_end(&w);
        size_t len;
        char *out = cs_jw_take(&w, &len);
        cs_json *j = parse_ok(out, len);
        char *back = cs_json_str(j, cs_json_at(j, 0, 0), NULL);
        cs_jw_init(&w);
        cs_jw_arr_begin(&w);
        cs_jw_string(&w, back);
        cs_jw_arr_end(&w);
        ck_assert_str_eq(cs_jw_str_view(&w), out);
        /* inputs without bytes >= 0x80 survive exactly */
        bool ascii = true;
        for (size_t i = 0; i < n; i++)
            ascii &= (unsigned char)in[i] < 0x80;
        if (ascii) {
            ck_assert_uint_eq(strlen(back), n);
            ck_assert_int_eq(memcmp(back, in, n), 0);
        }
        free(back);
        free(out);
        cs_json_free(j);
        cs_jw_free(&w);
    }
}
END_TEST

START_TEST(writer_doubles_round_trip)
{
    const double vals[] = {0.1, -0.0, 1e300, -2.5e-308, 123456789.123456789, 5e-324, 1.7976931348623157e308};
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_arr_begin(&w);
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        cs_jw_double(&w, vals[i]);
    cs_jw_arr_end(&w);
    cs_json *j = parse_str(cs_jw_str_view(&w));
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        double d;
        ck_assert_int_eq(cs_json_double(j, cs_json_at(j, 0, (int)i), &d), 0);
        ck_assert_msg(d == vals[i], "%.17g != %.17g", d, vals[i]);
    }
    cs_json_free(j);
    cs_jw_free(&w);
}
END_TEST

/* Nesting beyond CS_JW_MAX_DEPTH: the container at the limit is written as
 * null, its contents dropped, and writing resumes once it is closed. */
START_TEST(writer_deep_nesting_is_safe)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_key(&w, "deep");
    for (int i = 0; i < 200; i++) {
        cs_jw_arr_begin(&w);
        cs_jw_int(&w, i);
    }
    cs_jw_kv_str(&w, "dropped", "x");
    for (int i = 0; i < 200; i++) {
        cs_jw_int(&w, -i);
        cs_jw_arr_end(&w);
    }
    cs_jw_kv_int(&w, "after", 1);
    cs_jw_obj_end(&w);
    ck_assert_int_eq(w.depth, 0);
    const char *out = cs_jw_str_view(&w);
    ck_assert_ptr_null(strstr(out, "dropped"));
    cs_json *j = parse_str(out);
    ck_assert_int_eq(cs_json_get_int64(j, 0, "after", 0), 1);
    /* walk down: levels 1..63 are arrays [i, next, -(199-...)] */
    int tok = cs_json_key(j, 0, "deep");
    int levels = 0;
    while (cs_json_type_of(j, tok) == CS_JSON_ARRAY) {
        ck_assert_int_eq(cs_json_count(j, tok), 3);
        tok = cs_json_at(j, tok, 1);
        levels++;
    }
    ck_assert_int_eq(levels, CS_JW_MAX_DEPTH - 1); /* the object is level 1 */
    ck_assert_int_eq(cs_json_type_of(j, tok), CS_JSON_NULL);
    cs_json_free(j);
    cs_jw_free(&w);

    /* exactly at the limit nothing is dropped */
    cs_jw_init(&w);
    for (int i = 0; i < CS_JW_MAX_DEPTH; i++)
        cs_jw_arr_begin(&w);
    cs_jw_int(&w, 1);
    cs_jw_int(&w, 2);
    for (int i = 0; i < CS_JW_MAX_DEPTH; i++)
        cs_jw_arr_end(&w);
    ck_assert_uint_eq(w.len, CS_JW_MAX_DEPTH * 2 + 3);
    ck_assert_ptr_nonnull(strstr(cs_jw_str_view(&w), "[1,2]"));
    cs_jw_free(&w);
}
END_TEST

START_TEST(writer_take_and_reuse)
{
    cs_jw w;
    cs_jw_init(&w);
    /* grow well past the initial buffer */
    cs_jw_arr_begin(&w);
    for (int i = 0; i < 10000; i++)
        cs_jw_string(&w, "0123456789");
    cs_jw_arr_end(&w);
    size_t len;
    char *s = cs_jw_take(&w, &len);
    ck_assert_uint_eq(len, 2 + 10000 * 12 + 9999);
    ck_assert_uint_eq(strlen(s), len);
    free(s);
    ck_assert_ptr_null(w.buf);
    ck_assert_str_eq(cs_jw_str_view(&w), "");
    /* taking an empty writer gives an empty string, not NULL */
    s = cs_jw_take(&w, &len);
    ck_assert_str_eq(s, "");
    ck_assert_uint_eq(len, 0);
    free(s);
    /* writing to a taken writer without init still works */
    cs_jw_kv_str(&w, "a", "b");
    ck_assert_str_eq(cs_jw_str_view(&w), "\"a\":\"b\"");
    cs_jw_free(&w);
    cs_jw_free(&w);
    /* a fresh init after take */
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "k", "v");
    cs_jw_kv_int(&w, "n", 1);
    cs_jw_obj_end(&w);
    s = take(&w);
    ck_assert_str_eq(s, "{\"k\":\"v\",\"n\":1}");
    free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("json");
    TCase *fx = tcase_create("fixtures");
    tcase_add_test(fx, version_and_info);
    tcase_add_test(fx, container_inspect_labels_with_dots);
    tcase_add_test(fx, exited_container_escapes);
    tcase_add_test(fx, images_sizes_and_nulls);
    tcase_add_test(fx, networks_options_with_dots);
    tcase_add_test(fx, fixtures_structure);
    suite_add_tcase(s, fx);
    TCase *rd = tcase_create("reader");
    tcase_add_test(rd, absent_tokens_chain);
    tcase_add_test(rd, path_lookup);
    tcase_add_test(rd, string_escapes);
    tcase_add_test(rd, long_escaped_strings);
    tcase_add_test(rd, numbers);
    tcase_add_test(rd, numbers_bounded_by_token);
    suite_add_tcase(s, rd);
    TCase *bad = tcase_create("malformed");
    tcase_set_timeout(bad, 240);
    tcase_add_test(bad, valid_edge_documents);
    tcase_add_test(bad, malformed_input_fails_cleanly);
    tcase_add_test(bad, error_messages);
    tcase_add_test(bad, nesting_limit);
    tcase_add_test(bad, every_prefix_of_fixtures);
    tcase_add_test(bad, mutated_fixtures);
    tcase_add_test(bad, large_array_iterates_linearly);
    suite_add_tcase(s, bad);
    TCase *tw = tcase_create("writer");
    tcase_set_timeout(tw, 60);
    tcase_add_test(tw, writer_escapes_and_round_trips);
    tcase_add_test(tw, writer_invalid_utf8);
    tcase_add_test(tw, writer_random_round_trip);
    tcase_add_test(tw, writer_doubles_round_trip);
    tcase_add_test(tw, writer_deep_nesting_is_safe);
    tcase_add_test(tw, writer_take_and_reuse);
    suite_add_tcase(s, tw);
    return tc_run_suite(s, false);
}
