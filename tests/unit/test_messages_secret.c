/* The secret-file reader and the key loader: what they accept, every
 * documented refusal with its code and text, and that nothing of a refused
 * file is left in the caller's buffers or messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bh_secret.h"

/* A valid key whose digits appear nowhere else: messages must never show them. */
#define KEY "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define NO_KEY                                                                                     \
    "holds no key; write the 32-byte secret as 64 hex digits (optional 0x, one trailing newline)"

static char dir[64];
static char why[1024];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/bh-secret-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *in_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
    return out;
}

/* name in the test directory holding text, with that exact mode. */
static const char *file_with(char *path, size_t cap, const char *name, const char *text, size_t len,
                             mode_t mode)
{
    in_dir(path, cap, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

static const char *key_file(char *path, size_t cap, const char *text, mode_t mode)
{
    return file_with(path, cap, "k.key", text, strlen(text), mode);
}

static void assert_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) fail_msg("byte %zu of a refused read is 0x%02x, not wiped", i, b[i]);
}

static void assert_no_key_material(void)
{
    if (strstr(why, "a1b2c3d4") || strstr(why, "A1B2C3D4") || strstr(why, "0718293a"))
        fail_msg("key material in the message: %s", why);
}

/* Loading path must fail with rc and a message ending in text; the key is zeroed. */
static void refuse_load(const char *path, int rc, const char *text)
{
    bh_seckey k;
    memset(&k, 0xaa, sizeof k);
    snprintf(why, sizeof why, "stale");
    assert_int_equal(bh_seckey_load_file(&k, why, sizeof why, path), rc);
    assert_zero(k.data, sizeof k.data);
    if (!strstr(why, text)) fail_msg("message \"%s\" lacks \"%s\"", why, text);
    assert_no_key_material();
}

static void assert_key(const bh_seckey *k, const char *hex)
{
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        assert_int_equal(k->data[i], v);
    }
}

static void test_messages_secret_accepted_forms(void **state)
{
    (void)state;
    static const char *const good[] = {
        KEY,
        "0x" KEY,
        "0X" KEY "\n",
        KEY "\n",
        "A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90",
        "0x" KEY "\n"};
    char path[128];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        key_file(path, sizeof path, good[i], i % 2 ? 0400 : 0600);
        bh_seckey k;
        snprintf(why, sizeof why, "stale");
        assert_int_equal(bh_seckey_load_file(&k, why, sizeof why, path), BH_OK);
        assert_key(&k, KEY);
        assert_string_equal(why, "");
        assert_int_equal(bh_seckey_parse_text(&k, good[i], strlen(good[i])), BH_OK);
        assert_key(&k, KEY);
    }
    /* the longest accepted text is exactly BH_SECKEY_TEXT_MAX bytes */
    assert_int_equal(strlen("0x" KEY "\n"), BH_SECKEY_TEXT_MAX);
}

static void test_messages_secret_not_key_text(void **state)
{
    (void)state;
    static const char *const bad[] = {
        KEY "\n\n", /* a second newline */
        KEY " ",    /* trailing garbage */
        " " KEY,
        KEY "00",
        KEY "\r\n",
        "\n" KEY,
        "0x0x" KEY,
        "0x0xa1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f", /* 62 digits */
        "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",    /* 63 */
        "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8fzz",   /* bad hex */
        "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9\n0",
        "",
        "\n",
        "0x",
        "0x\n",
    };
    char path[128], fix[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        key_file(path, sizeof path, bad[i], 0600);
        snprintf(fix, sizeof fix, "%s " NO_KEY, path);
        refuse_load(path, BH_EMALFORMED, fix);
        assert_string_equal(why, fix);
        bh_seckey k;
        memset(&k, 0xaa, sizeof k);
        assert_int_equal(bh_seckey_parse_text(&k, bad[i], strlen(bad[i])), BH_EMALFORMED);
        assert_zero(k.data, sizeof k.data);
    }
    /* an embedded NUL is no digit */
    static const char nul[] = KEY;
    char with_nul[sizeof nul];
    memcpy(with_nul, nul, sizeof nul);
    with_nul[10] = '\0';
    file_with(path, sizeof path, "nul.key", with_nul, 64, 0600);
    refuse_load(path, BH_EMALFORMED, NO_KEY);
}

static void test_messages_secret_too_long(void **state)
{
    (void)state;
    char path[128], big[4096];
    /* one byte over the longest key text, and far over it */
    static const size_t sizes[] = {BH_SECKEY_TEXT_MAX + 1, sizeof big};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memset(big, 'a', sizes[i]);
        memcpy(big, "0x" KEY, 66);
        big[66] = '\n';
        file_with(path, sizeof path, "long.key", big, sizes[i], 0600);
        refuse_load(path, BH_EMALFORMED, NO_KEY);
    }

    /* the reader itself: exactly cap bytes is fine, one more is BH_ETOOBIG and wiped */
    char buf[16];
    size_t n = 99;
    file_with(path, sizeof path, "cap.txt", "0123456789abcdef", 16, 0600);
    assert_int_equal(bh_secret_read_file(buf, sizeof buf, &n, why, sizeof why, path), BH_OK);
    assert_int_equal(n, 16);
    assert_memory_equal(buf, "0123456789abcdef", 16);
    file_with(path, sizeof path, "cap.txt", "0123456789abcdefg", 17, 0600);
    n = 99;
    assert_int_equal(bh_secret_read_file(buf, sizeof buf, &n, why, sizeof why, path), BH_ETOOBIG);
    assert_int_equal(n, 0);
    assert_zero(buf, sizeof buf);
    char fix[256];
    snprintf(fix, sizeof fix, "%s is longer than 16 bytes; check the file", path);
    assert_string_equal(why, fix);
    /* an empty file is read as empty */
    file_with(path, sizeof path, "empty.txt", "", 0, 0600);
    assert_int_equal(bh_secret_read_file(buf, sizeof buf, &n, why, sizeof why, path), BH_OK);
    assert_int_equal(n, 0);
}

static void test_messages_secret_open_to_others(void **state)
{
    (void)state;
    static const mode_t modes[] = {0644, 0640, 0604, 0660,       0620,      0602,
                                   0610, 0601, 0607, 0700 | 070, 04600 | 01};
    char path[128], fix[512];
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        key_file(path, sizeof path, KEY "\n", modes[i]);
        snprintf(fix, sizeof fix, "%s is open to group or others (mode %04o); chmod 600 %s", path,
                 (unsigned)modes[i], path);
        refuse_load(path, BH_EPERM, fix);
        assert_string_equal(why, fix);
        char buf[80];
        size_t n = 1;
        assert_int_equal(bh_secret_read_file(buf, sizeof buf, &n, why, sizeof why, path), BH_EPERM);
        assert_int_equal(n, 0);
    }
    /* owner-only modes other than 0600 and 0400 are the owner's business */
    key_file(path, sizeof path, KEY, 0700);
    bh_seckey k;
    assert_int_equal(bh_seckey_load_file(&k, why, sizeof why, path), BH_OK);
}

static void test_messages_secret_symlink_refused(void **state)
{
    (void)state;
    char target[128], link[128], fix[512];
    key_file(target, sizeof target, KEY "\n", 0600);
    in_dir(link, sizeof link, "link.key");
    unlink(link);
    assert_int_equal(symlink("k.key", link), 0);
    snprintf(fix, sizeof fix, "%s is a symbolic link; point it at the file itself", link);
    refuse_load(link, ELOOP, fix);
    assert_string_equal(why, fix);
    /* a link to a link, and a dangling one, the same */
    char link2[128];
    in_dir(link2, sizeof link2, "link2.key");
    unlink(link2);
    assert_int_equal(symlink("link.key", link2), 0);
    refuse_load(link2, ELOOP, "is a symbolic link");
    unlink(target);
    refuse_load(link, ELOOP, "is a symbolic link");
    /* a directory on the way that is a link is the caller's path, followed */
    char ldir[128], via[192];
    in_dir(ldir, sizeof ldir, "dirlink");
    unlink(ldir);
    assert_int_equal(symlink(".", ldir), 0);
    key_file(target, sizeof target, KEY "\n", 0600);
    snprintf(via, sizeof via, "%s/k.key", ldir);
    bh_seckey k;
    assert_int_equal(bh_seckey_load_file(&k, why, sizeof why, via), BH_OK);
    assert_key(&k, KEY);
}

static void test_messages_secret_not_regular(void **state)
{
    (void)state;
    char path[128], fix[512];
    in_dir(path, sizeof path, "keydir");
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(fix, sizeof fix, "%s is not a regular file; point it at the key file", path);
    refuse_load(path, BH_EMALFORMED, fix);
    assert_string_equal(why, fix);
    /* a FIFO with no writer must not hang the load */
    in_dir(path, sizeof path, "key.fifo");
    assert_int_equal(mkfifo(path, 0600), 0);
    refuse_load(path, BH_EMALFORMED, "is not a regular file");
    refuse_load("/dev/null", BH_EMALFORMED, "/dev/null is not a regular file");

    in_dir(path, sizeof path, "absent.key");
    snprintf(fix, sizeof fix, "cannot open %s: No such file or directory; check the path", path);
    refuse_load(path, ENOENT, fix);
    assert_string_equal(why, fix);
    refuse_load("", ENOENT, "cannot open : No such file or directory");
}

static void test_messages_secret_misuse(void **state)
{
    (void)state;
    char buf[8], path[128];
    size_t n = 5;
    key_file(path, sizeof path, KEY, 0600);
    assert_int_equal(bh_secret_read_file(NULL, 8, &n, why, sizeof why, path), BH_EINVAL);
    assert_int_equal(n, 0);
    assert_int_equal(bh_secret_read_file(buf, 0, &n, why, sizeof why, path), BH_EINVAL);
    assert_int_equal(bh_secret_read_file(buf, sizeof buf, NULL, why, sizeof why, path), BH_EINVAL);
    assert_int_equal(bh_secret_read_file(buf, sizeof buf, &n, why, sizeof why, NULL), BH_EINVAL);
    /* no message buffer: the codes alone */
    assert_int_equal(bh_secret_read_file(buf, sizeof buf, &n, NULL, 0, path), BH_ETOOBIG);
    bh_seckey k;
    assert_int_equal(bh_seckey_load_file(&k, NULL, 0, path), BH_OK);
    assert_int_equal(bh_seckey_load_file(NULL, why, sizeof why, path), BH_EINVAL);
    assert_int_equal(bh_seckey_load_file(&k, why, sizeof why, NULL), BH_EINVAL);
    assert_zero(k.data, sizeof k.data);
    assert_int_equal(bh_seckey_parse_text(NULL, KEY, 64), BH_EINVAL);
    assert_int_equal(bh_seckey_parse_text(&k, NULL, 64), BH_EINVAL);
    assert_int_equal(bh_seckey_parse_text(&k, NULL, 0), BH_EMALFORMED);
    /* a message cut to a small buffer stays NUL-terminated */
    char tiny[8];
    assert_int_equal(bh_seckey_load_file(&k, tiny, sizeof tiny, "/nonexistent/x"), ENOENT);
    assert_string_equal(tiny, "cannot ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_secret_accepted_forms),
        cmocka_unit_test(test_messages_secret_not_key_text),
        cmocka_unit_test(test_messages_secret_too_long),
        cmocka_unit_test(test_messages_secret_open_to_others),
        cmocka_unit_test(test_messages_secret_symlink_refused),
        cmocka_unit_test(test_messages_secret_not_regular),
        cmocka_unit_test(test_messages_secret_misuse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
