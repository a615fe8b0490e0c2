/* tests/unit/displays.c -- known display names and the slot that swaps
 * them (src/displays.c). */
#include "unit.h"

#include "displays.h"

/* Writes text to a temporary file; returns its path (static). */
static const char *file_with(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/sse-displays-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(displays_file_and_slot)
{
    char err[256];
    const char *path = file_with("# kiosks\nlobby\n\n  hall \t\nkitchen\n");
    struct displays *d = displays_load(path, err, sizeof err);
    unlink(path);
    ck_assert_msg(d != NULL, "%s", err);
    ck_assert_uint_eq(displays_count(d), 3);
    ck_assert_str_eq(displays_name(d, 0), "hall");      /* sorted */
    ck_assert(displays_contains(d, "lobby"));
    ck_assert(!displays_contains(d, "# kiosks"));
    ck_assert(!displays_contains(d, "lobb"));
    path = file_with("lobby\nbad name\n");
    ck_assert_ptr_null(displays_load(path, err, sizeof err));
    unlink(path);
    ck_assert_msg(strstr(err, ":2:") != NULL, "%s", err);   /* names the line */
    ck_assert_ptr_null(displays_load("/nonexistent/displays", err, sizeof err));

    /* a reader keeps its set while a reload swaps in another */
    struct displays_slot *slot = displays_slot_create();
    ck_assert_ptr_null(displays_slot_get(slot));        /* none: any name */
    displays_slot_set(slot, d);
    struct displays *held = displays_slot_get(slot);
    ck_assert_ptr_eq(held, d);
    displays_slot_set(slot, NULL);
    ck_assert(displays_contains(held, "hall"));         /* still there for its reader */
    displays_free(held);
    displays_slot_free(slot);
    displays_slot_free(NULL);
}
END_TEST

/* displays_load over text: the set, or NULL with the message in err. */
static struct displays *load(const char *text, char *err, size_t errlen)
{
    const char *path = file_with(text);
    struct displays *d = displays_load(path, err, errlen);
    unlink(path);
    return d;
}

/* The message for a file whose line 2 is bad (the first is fine). */
static const char *bad_second_line(const char *line)
{
    static char err[256];
    char text[512];
    snprintf(text, sizeof text, "lobby\n%s\n", line);
    struct displays *d = load(text, err, sizeof err);
    ck_assert_msg(d == NULL, "accepted line %s", line);
    ck_assert_msg(strstr(err, ":2: ") != NULL, "%s: %s", line, err);
    ck_assert_msg(!strchr(err, '\n'), "not one line: %s", err);
    return err;
}

START_TEST(displays_keys)
{
    char err[256];
    /* name and key; a key as the SHA-256 of it; no key */
    struct displays *d = load("lobby   kiosk-key-0123456789\n"
                              "hall\tsha256:CC196575667136e32683bdfac3ad78ff3f4a2939d93744788e35b10ed32c8c8c\n"
                              "kitchen\n"
                              "  # a comment\n"
                              "lobby kiosk-key-0123456789\n"    /* the same again: fine */
                              "kitchen\n",
                              err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    ck_assert_uint_eq(displays_count(d), 3);
    ck_assert_uint_eq(displays_keyed(d), 2);
    const char *k = "kiosk-key-0123456789";
    ck_assert_int_eq(displays_check_key(d, "lobby", k, strlen(k)), DISPLAYS_KEY_OK);
    ck_assert_int_eq(displays_check_key(d, "hall", k, strlen(k)), DISPLAYS_KEY_OK);
    ck_assert_int_eq(displays_check_key(d, "lobby", NULL, 0), DISPLAYS_KEY_MISSING);
    ck_assert_int_eq(displays_check_key(d, "lobby", "", 0), DISPLAYS_KEY_MISSING);
    ck_assert_int_eq(displays_check_key(d, "lobby", k, strlen(k) - 1), DISPLAYS_KEY_WRONG);
    ck_assert_int_eq(displays_check_key(d, "lobby", "kiosk-key-0123456788", 20), DISPLAYS_KEY_WRONG);
    ck_assert_int_eq(displays_check_key(d, "lobby", "kiosk-key-01234567890", 21), DISPLAYS_KEY_WRONG);
    /* the digest is the key of "hall", not a key itself */
    const char *digest = "sha256:cc196575667136e32683bdfac3ad78ff3f4a2939d93744788e35b10ed32c8c8c";
    ck_assert_int_eq(displays_check_key(d, "hall", digest, strlen(digest)), DISPLAYS_KEY_WRONG);
    ck_assert_int_eq(displays_check_key(d, "kitchen", NULL, 0), DISPLAYS_KEY_NONE);
    ck_assert_int_eq(displays_check_key(d, "kitchen", k, strlen(k)), DISPLAYS_KEY_NONE);
    ck_assert_int_eq(displays_check_key(d, "nowhere", k, strlen(k)), DISPLAYS_KEY_NONE);
    displays_free(d);

    /* a key of 16 and of 128 characters, any printable ASCII but space */
    char line[300];
    snprintf(line, sizeof line, "a %s\nb %.128s\n", "!#$%&'()*+,-./:;",
             "<=>?@[\\]^_`{|}~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
             "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    d = load(line, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    ck_assert_uint_eq(displays_keyed(d), 2);
    displays_free(d);

    /* bad lines: one line, naming the line, never the key */
    ck_assert(strstr(bad_second_line("hall short-key"), "16 to 128") != NULL);
    char long_key[200];
    memset(long_key, 'k', sizeof long_key);
    snprintf(line, sizeof line, "hall %.129s", long_key);
    ck_assert(strstr(bad_second_line(line), "16 to 128") != NULL);
    ck_assert(strstr(bad_second_line("hall kiosk-key-0123456789 extra"), "at most one key") != NULL);
    ck_assert(strstr(bad_second_line("hall kiosk-key-01234\x01" "56789"), "printable") != NULL);
    ck_assert(strstr(bad_second_line("hall kiosk-key-0123\xc3\xa9" "456789"), "printable") != NULL);
    ck_assert(strstr(bad_second_line("hall sha256:abc"), "64 hex") != NULL);
    ck_assert(strstr(bad_second_line("hall sha256:zz196575667136e32683bdfac3ad78ff3f4a2939d93744788e35b10ed32c8c8c"), "64 hex") != NULL);
    ck_assert(strstr(bad_second_line("ha!l kiosk-key-0123456789"), "invalid display name") != NULL);
    const char *e = bad_second_line("lobby another-key-0123456789");     /* line 1 has no key */
    ck_assert_msg(strstr(e, "lobby is on line 1 too") != NULL, "%s", e);
    d = load("lobby first-key-0123456789\nlobby other-key-0123456789\n", err, sizeof err);
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(err, ":2: display lobby is on line 1 too, with another key") != NULL, "%s", err);
    ck_assert_msg(!strstr(err, "first-key") && !strstr(err, "other-key"), "a key in %s", err);

    const char *why;
    ck_assert_int_eq(displays_check_line("  ", 2, &why), 0);
    ck_assert_int_eq(displays_check_line("# x y z", 7, &why), 0);
    ck_assert_int_eq(displays_check_line("a b", 3, &why), -1);
    ck_assert_ptr_nonnull(why);
}
END_TEST

Suite *displays_suite(void)
{
    Suite *s = suite_create("displays");
    UNIT_TEST(s, displays_file_and_slot);
    UNIT_TEST(s, displays_keys);
    return s;
}
