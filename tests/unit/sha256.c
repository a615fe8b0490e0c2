/* tests/unit/sha256.c -- SHA-256 (src/sha256.c) against FIPS 180-4's
 * examples and the lengths where the padding changes. */
#include "unit.h"

#include "sha256.h"

static void hex(const uint8_t d[SHA256_LEN], char out[2 * SHA256_LEN + 1])
{
    for (int i = 0; i < SHA256_LEN; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void expect(const void *data, size_t len, const char *want)
{
    uint8_t d[SHA256_LEN];
    char got[2 * SHA256_LEN + 1];
    sha256(data, len, d);
    hex(d, got);
    ck_assert_msg(strcmp(got, want) == 0, "%zu bytes: %s, want %s", len, got, want);
}

START_TEST(sha256_vectors)
{
    expect("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    expect(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    static char a[1000000];
    memset(a, 'a', sizeof a);
    expect(a, sizeof a, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* around the end of a block: the length in the same block or the next */
    static const struct { size_t n; const char *want; } x[] = {
        { 55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072" },
        { 56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e" },
        { 63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2" },
        { 64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c" },
        { 65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9" },
        { 119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c" },
        { 120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98" },
    };
    char xs[128];
    memset(xs, 'x', sizeof xs);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        expect(xs, x[i].n, x[i].want);
}
END_TEST

START_TEST(sha256_equal_compares_every_byte)
{
    uint8_t a[SHA256_LEN], b[SHA256_LEN];
    sha256("k", 1, a);
    memcpy(b, a, sizeof b);
    ck_assert(sha256_equal(a, b));
    for (int i = 0; i < SHA256_LEN; i++) {
        b[i] ^= 0x80;
        ck_assert(!sha256_equal(a, b));
        b[i] ^= 0x80;
    }
}
END_TEST

Suite *sha256_suite(void)
{
    Suite *s = suite_create("sha256");
    UNIT_TEST(s, sha256_vectors);
    UNIT_TEST(s, sha256_equal_compares_every_byte);
    return s;
}
