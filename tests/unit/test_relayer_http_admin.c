/* The admin API's HTTP side in-process: a fake admin handler that answers
 * after an optional wait, raw sockets for the clients an operator's tool
 * would not be (keep-alive, pipelining, a client that leaves mid-job). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bh_admin.h"
#include "bh_http.h"
#include "ws_test_client.h"

#define ADMIN "admin-secret-token"
#define READ "read-token"
#define AUTH "Authorization: Bearer " ADMIN "\r\n"

static atomic_int CALLS;

static int snap(void *ud, json_t **out)
{
    (void)ud;
    *out = json_pack("{s:s, s:[], s:[]}", "node", "admin-test", "chains", "vaults");
    return *out ? BH_OK : BH_ENOMEM;
}

static int ready(void *ud, char *why, size_t cap)
{
    (void)ud;
    (void)why;
    (void)cap;
    return 1;
}

/* Answers {"ok":true,"n":N,"echo":<body.say>} after body.wait_ms. */
static void admin(void *ud, const char *path, const json_t *req, unsigned *status, json_t **resp)
{
    (void)ud;
    int n = atomic_fetch_add(&CALLS, 1) + 1;
    json_int_t wait_ms = json_integer_value(json_object_get(req, "wait_ms"));
    if (wait_ms > 0) sleep_ms((int)wait_ms);
    json_t *say = json_object_get(req, "say");
    *status = 200;
    *resp = json_pack("{s:b, s:i, s:s, s:O?}", "ok", 1, "n", n, "path", path, "echo", say);
}

static bh_http *S;
static uint16_t PORT;

static int setup(void **state)
{
    (void)state;
    bh_http_source src = {.snapshot = snap, .ready = ready, .admin = admin};
    bh_http_options opt = {.token = READ, .admin_token = ADMIN};
    char err[256];
    if (bh_http_create(&S, err, sizeof err, &opt, &src) != BH_OK) fail_msg("create: %s", err);
    if (bh_http_start(S, err, sizeof err) != BH_OK) fail_msg("start: %s", err);
    PORT = bh_http_port(S);
    atomic_store(&CALLS, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bh_http_stop(S);
    bh_http_destroy(S);
    S = NULL;
    return 0;
}

static int post_text(char *out, size_t cap, const char *auth, const char *body, int keep_alive)
{
    return snprintf(out, cap,
                    "POST /admin/v1/vaultctl HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s"
                    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                    keep_alive ? "" : "Connection: close\r\n", auth ? auth : "", strlen(body),
                    body);
}

static http_resp post(const char *auth, const char *body)
{
    char hdr[256];
    snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", auth ? auth : "");
    return http_req_body(PORT, "POST", "/admin/v1/vaultctl", hdr, body);
}

/* Everything the server sends on fd within ms, or until it closes; sets
 * *closed when it did. */
static size_t read_for(int fd, char *buf, size_t cap, int ms, int *closed)
{
    size_t len = 0;
    *closed = 0;
    double until = now_s() + ms / 1000.0;
    while (len + 1 < cap) {
        int left = (int)((until - now_s()) * 1000);
        if (left <= 0) break;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, left) <= 0) break;
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r <= 0) {
            *closed = 1;
            break;
        }
        len += (size_t)r;
    }
    buf[len] = '\0';
    return len;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* After whatever a test did, a plain request on a new connection works. */
static void still_serves(void)
{
    for (int i = 0; i < 50; i++) {
        http_resp r = post(AUTH, "{\"say\":\"after\"}");
        int st = r.status;
        int ok = st == 200 && strstr(r.body, "\"echo\":\"after\"") != NULL;
        free(r.body);
        if (ok) return;
        if (st != 503) fail_msg("afterwards: status %d", st);
        sleep_ms(100); /* busy: the earlier job is still finishing */
    }
    fail_msg("afterwards: still busy after 5 s");
}

static void test_tokens(void **state)
{
    (void)state;
    http_resp r = post(NULL, "{}");
    assert_int_equal(r.status, 401);
    free(r.body);
    r = post("Authorization: Bearer " READ "\r\n", "{}");
    assert_int_equal(r.status, 401);
    free(r.body);
    r = post("Authorization: Bearer admin-secret-tokem\r\n", "{}");
    assert_int_equal(r.status, 401);
    free(r.body);
    assert_int_equal(atomic_load(&CALLS), 0);
    r = post(AUTH, "[1]");
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "bad_request"));
    free(r.body);
    assert_int_equal(atomic_load(&CALLS), 0);
    r = post(AUTH, "{\"say\":\"hi\"}");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"echo\":\"hi\""));
    free(r.body);
    assert_int_equal(atomic_load(&CALLS), 1);
}

/* An admin answer closes its connection: one request per connection, so
 * nothing a client sends after it on the same connection is read. */
static void test_keep_alive_gets_one_answer_then_close(void **state)
{
    (void)state;
    int fd = tcp_connect(PORT, 0);
    char req[1024];
    int n = post_text(req, sizeof req, AUTH, "{\"say\":\"one\"}", 1);
    send_all(fd, req, (size_t)n);
    char buf[16384];
    int closed = 0;
    read_for(fd, buf, sizeof buf, 5000, &closed);
    assert_true(closed);
    assert_int_equal(count(buf, "HTTP/1.1 "), 1);
    assert_non_null(strstr(buf, "\"echo\":\"one\""));
    assert_non_null(strcasestr(buf, "connection: close"));
    close(fd);
    still_serves();
}

static void pipelined(const char *auth_first, const char *first_body)
{
    int fd = tcp_connect(PORT, 0);
    char req[4096];
    int n = post_text(req, sizeof req, auth_first, first_body, 1);
    n += post_text(req + n, sizeof req - (size_t)n, AUTH, "{\"say\":\"second\"}", 1);
    n += post_text(req + n, sizeof req - (size_t)n, AUTH, "{\"say\":\"third\"}", 1);
    send_all(fd, req, (size_t)n);
    char buf[65536];
    int closed = 0;
    read_for(fd, buf, sizeof buf, 5000, &closed);
    assert_true(closed); /* no endless stream of answers */
    if (count(buf, "HTTP/1.1 ") != 1) fail_msg("not one answer: %.600s", buf);
    assert_null(strstr(buf, "second"));
    assert_null(strstr(buf, "third"));
    close(fd);
    still_serves();
}

static void test_pipelined_requests(void **state)
{
    (void)state;
    pipelined(AUTH, "{\"say\":\"first\",\"wait_ms\":300}");
    assert_int_equal(atomic_load(&CALLS), 2); /* first, and still_serves' */
}

/* Refusals close too: a client without the token cannot pipeline either. */
static void test_pipelined_after_refusal(void **state)
{
    (void)state;
    pipelined(NULL, "{\"say\":\"first\"}");
    pipelined("Authorization: Bearer " READ "\r\n", "{}");
    pipelined(AUTH, "not json");
    assert_int_equal(atomic_load(&CALLS), 3); /* only the three still_serves */
}

/* A client that leaves while its job runs: the job finishes, is freed, and
 * the next request is served. */
static void test_client_leaves_mid_job(void **state)
{
    (void)state;
    int fd = tcp_connect(PORT, 0);
    char req[1024];
    int n = post_text(req, sizeof req, AUTH, "{\"say\":\"gone\",\"wait_ms\":400}", 0);
    send_all(fd, req, (size_t)n);
    sleep_ms(100);
    close(fd);
    still_serves();
    assert_int_equal(atomic_load(&CALLS), 2);
}

/* One job at a time: a second client gets 503 busy while it runs. */
static void test_busy(void **state)
{
    (void)state;
    int fd = tcp_connect(PORT, 0);
    char req[1024];
    int n = post_text(req, sizeof req, AUTH, "{\"say\":\"slow\",\"wait_ms\":800}", 0);
    send_all(fd, req, (size_t)n);
    sleep_ms(150);
    http_resp r = post(AUTH, "{\"say\":\"other\"}");
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "busy"));
    free(r.body);
    char buf[16384];
    int closed = 0;
    read_for(fd, buf, sizeof buf, 5000, &closed);
    assert_non_null(strstr(buf, "\"echo\":\"slow\""));
    close(fd);
    still_serves();
}

/* A body sent in pieces, and one above the bound. */
static void test_body_in_pieces_and_too_big(void **state)
{
    (void)state;
    int fd = tcp_connect(PORT, 0);
    const char *body = "{\"say\":\"pieces\"}";
    char head[512];
    int n = snprintf(head, sizeof head,
                     "POST /admin/v1/vaultctl HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" AUTH
                     "Content-Length: %zu\r\n\r\n",
                     strlen(body));
    send_all(fd, head, (size_t)n);
    for (const char *c = body; *c; c++) {
        send_all(fd, c, 1);
        sleep_ms(5);
    }
    http_resp r = http_read_close(fd, "POST", "/admin/v1/vaultctl");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "pieces"));
    free(r.body);

    size_t big = BH_HTTP_MAX_ADMIN_BODY + 10;
    char *b = malloc(big + 1);
    memset(b, ' ', big);
    b[0] = '{';
    b[big - 1] = '}';
    b[big] = '\0';
    r = post(AUTH, b);
    free(b);
    assert_int_equal(r.status, 413);
    free(r.body);
    still_serves();
}

/* Stopping the server while a job runs waits for it and frees it. */
static void test_stop_mid_job(void **state)
{
    (void)state;
    int fd = tcp_connect(PORT, 0);
    char req[1024];
    int n = post_text(req, sizeof req, AUTH, "{\"wait_ms\":300}", 0);
    send_all(fd, req, (size_t)n);
    sleep_ms(100);
    bh_http_stop(S);
    bh_http_destroy(S);
    S = NULL;
    close(fd);
    setup(NULL);
    still_serves();
}

/* The verb's child sees none of the node's secrets: a key held in an
 * environment variable (key_env) stays in the node. The "binary" here is
 * a script that prints its environment and arguments. */
static void test_child_gets_minimal_env(void **state)
{
    (void)state;
    char dir[] = "/tmp/bh-admin-env-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char exe[64];
    snprintf(exe, sizeof exe, "%s/fake-bulkhead", dir);
    FILE *f = fopen(exe, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\nenv\necho \"ARGS=$*\"\n", f);
    fclose(f);
    assert_int_equal(chmod(exe, 0755), 0);
    setenv("BH_TEST_ATTEST_KEY",
           "0x4c0883a69102937d6231471b5dbb6204fe512961708279f8a3a0b1f1e0b1c2d3", 1);
    setenv("BULKHEAD_ADMIN_TOKEN", ADMIN, 1);
    setenv("TZ", "UTC", 1);

    bh_admin ad = {.exe = exe, .data_dir = dir, .timeout_s = 10};
    json_t *req = json_pack("{s:[s,s], s:s}", "argv", "pending", "alpha", "actor", "alice");
    unsigned status = 0;
    json_t *resp = NULL;
    bh_admin_handle(&ad, "/admin/v1/vaultctl", req, &status, &resp);
    json_decref(req);
    assert_int_equal(status, 200);
    const char *out = json_string_value(json_object_get(resp, "stdout"));
    assert_non_null(out);
    assert_null(strstr(out, "BH_TEST_ATTEST_KEY"));
    assert_null(strstr(out, "4c0883a69102937d"));
    assert_null(strstr(out, "BULKHEAD_ADMIN_TOKEN"));
    assert_null(strstr(out, ADMIN));
    assert_non_null(strstr(out, "\nTZ=UTC\n"));
    char want[160];
    snprintf(want, sizeof want, "ARGS=vaultctl -d %s pending --actor api:alice alpha", dir);
    assert_non_null(strstr(out, want));
    json_decref(resp);
    unsetenv("BH_TEST_ATTEST_KEY");
    unsetenv("BULKHEAD_ADMIN_TOKEN");
    unlink(exe);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive_gets_one_answer_then_close, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_after_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_leaves_mid_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_in_pieces_and_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_mid_job, setup, teardown),
        cmocka_unit_test(test_child_gets_minimal_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
