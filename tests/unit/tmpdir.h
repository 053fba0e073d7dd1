/* tmpdir.h — the scratch directory of a test that needs files (unit, integration and relay
 * tests): made under IROH_TEST_TMP (the build dir ctest gives; /tmp without it) and removed
 * with everything in it at the end.
 * The including file defines _GNU_SOURCE (or _XOPEN_SOURCE 700) first, for nftw. */
#ifndef IROH_TESTS_TMPDIR_H
#define IROH_TESTS_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Creates a new directory "<IROH_TEST_TMP>/<prefix>-XXXXXX" and writes its path to dir[0..cap);
 * exits the test with status 1 if it cannot. */
static inline void tmpdir_make(char *dir, size_t cap, const char *prefix)
{
    const char *base = getenv("IROH_TEST_TMP");
    snprintf(dir, cap, "%s/%s-XXXXXX", base && *base ? base : "/tmp", prefix);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static inline int rm_rf_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes path and everything below it (links are removed, not followed). Returns 0, or -1
 * when something could not be removed. */
static inline int rm_rf(const char *path)
{
    return nftw(path, rm_rf_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

#endif
