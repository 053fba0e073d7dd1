/* file_checks.h — what the blob tests look at on disk: how many entries a directory holds
 * (count_files) and the hash /usr/bin/b3sum gives a file (b3sum_hex), so that the stored
 * files and BLAKE3 hashes are checked against a tool outside the project.
 * Used by tests/unit/test_blob_store.c (the store itself) and tests/integration/test_blobs.c
 * (the same through a real irohd). */
#ifndef IROH_TESTS_FILE_CHECKS_H
#define IROH_TESTS_FILE_CHECKS_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

/* The number of entries in dir whose names do not start with '.', or -1 when dir cannot be
 * opened. */
static inline int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* Writes b3sum's lower-case hex hash of the file at path to out and returns true; out is ""
 * when b3sum ran but gave no hash (so a comparison with it fails). Returns false, out
 * untouched, when /usr/bin/b3sum is not installed. */
static inline bool b3sum_hex(const char *path, char out[65])
{
    if (access("/usr/bin/b3sum", X_OK) != 0) return false;
    out[0] = '\0';
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "/usr/bin/b3sum --no-names '%s'", path);
    FILE *p = popen(cmd, "r");
    if (!p) return true;
    if (!fgets(out, 65, p)) out[0] = '\0';
    pclose(p);
    return true;
}

#endif
