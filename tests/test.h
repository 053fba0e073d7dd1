/* test.h — the tiny assertion kit of every C test in tests/.
 *
 * A test file defines functions `static void test_x(void)` and a main() that calls
 * RUN(test_x) for each, then returns TEST_SUMMARY(). A failed CHECK prints file:line and the
 * expression and marks the running test failed; the test continues so one run shows every
 * failure. The summary line is "N passed, N failed" (counted per test function). */
#ifndef IROH_TEST_H
#define IROH_TEST_H

#include <stdio.h>
#include <string.h>

#ifndef TEST_FAILED_CHECKS
static int test_failed_checks;
static int test_passed, test_failed;
#define TEST_FAILED_CHECKS test_failed_checks
#endif

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);              \
            TEST_FAILED_CHECKS++;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ != check_b_) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", __FILE__, __LINE__,  \
                    #a, #b, check_a_, check_b_);                                                   \
            TEST_FAILED_CHECKS++;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", __FILE__,        \
                    __LINE__, #a, #b, check_a_ ? check_a_ : "(null)",                              \
                    check_b_ ? check_b_ : "(null)");                                               \
            TEST_FAILED_CHECKS++;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int before_ = TEST_FAILED_CHECKS;                                                          \
        fn();                                                                                      \
        if (TEST_FAILED_CHECKS == before_) {                                                       \
            test_passed++;                                                                         \
        } else {                                                                                   \
            test_failed++;                                                                         \
            fprintf(stderr, "FAIL %s\n", #fn);                                                     \
        }                                                                                          \
    } while (0)

#define TEST_SUMMARY() (printf("%d passed, %d failed\n", test_passed, test_failed), test_failed != 0)

#endif
