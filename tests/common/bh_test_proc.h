/* Run a program as a child process in tests: feed stdin, capture stdout and
 * stderr, return the exit status. Include after cmocka.h. */
#ifndef BH_TEST_PROC_H
#define BH_TEST_PROC_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    int status; /* exit code, or 128 + signal */
    char out[1 << 16];
    size_t out_len;
    char err[1 << 14];
    size_t err_len;
} bh_proc_result;

/* Runs argv (argv[0] a path) with input on stdin (NULL for none).
 * Output beyond the buffers is read and dropped. */
static inline void bh_proc_run(bh_proc_result *r, char *const argv[], const char *input)
{
    int in[2], out[2], err[2];
    memset(r, 0, sizeof *r);
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[1]);
        close(out[0]);
        close(err[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    signal(SIGPIPE, SIG_IGN);
    if (input) {
        size_t len = strlen(input), off = 0;
        while (off < len) {
            ssize_t n = write(in[1], input + off, len - off);
            if (n <= 0) break;
            off += (size_t)n;
        }
    }
    close(in[1]);
    struct pollfd fds[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, 30000) <= 0) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
            char *buf = i == 0 ? r->out : r->err;
            size_t cap = (i == 0 ? sizeof r->out : sizeof r->err) - 1;
            size_t *len = i == 0 ? &r->out_len : &r->err_len;
            char sink[4096];
            ssize_t n = *len < cap ? read(fds[i].fd, buf + *len, cap - *len)
                                   : read(fds[i].fd, sink, sizeof sink);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else if (*len < cap) {
                *len += (size_t)n;
            }
        }
    }
    r->out[r->out_len] = '\0';
    r->err[r->err_len] = '\0';
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif
