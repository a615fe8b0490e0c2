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

Suite *displays_suite(void)
{
    Suite *s = suite_create("displays");
    UNIT_TEST(s, displays_file_and_slot);
    return s;
}
