/* blob_collection.c — directories as collections over the blob store; see blob_collection.h.
 * The directory walk keeps one directory open at a time (entries are read, the directory is
 * closed, then its subdirectories are walked), so deep trees cost no file descriptors. */
#include "storage/blob_collection.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <iroh/error.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/collection.h"
#include "storage/blob_internal.h"

#define ROOT_MAX (64u << 20)  /* bytes of a root we load: two million files */
#define META_MAX (256u << 20) /* bytes of a meta blob we load */
#define NAME_SHOWN 200        /* bytes of a name quoted in an error */

/* ---- progress over many files ------------------------------------------------------------ */

/* Reports the progress of one file as part of the whole: done counts from base, and the total
 * is the directory's (grown if files grew since they were listed). */
struct span {
    const struct blob_progress *outer;
    uint64_t base, total;
};

static int span_report(void *ctx, const char *stage, uint64_t done, uint64_t total)
{
    struct span *sp = ctx;
    (void)total;
    uint64_t at = sp->base + done;
    if (at > sp->total) sp->total = at;
    const struct blob_progress *p = sp->outer;
    return p && p->fn ? p->fn(p->ctx, stage, at, sp->total) : 0;
}

/* Asks the caller between files whether to go on. */
static int span_check(struct span *sp, const char *stage, struct blob_error *e)
{
    if (span_report(sp, stage, 0, 0)) return blob_fail(e, IROH_ECLOSED, "the call was cancelled");
    return 0;
}

/* ---- the directory walk ------------------------------------------------------------------- */

struct file {
    char *name; /* relative to the directory, '/' between components */
    uint64_t size;
};

struct walk {
    const char *root;
    struct file *files;
    size_t count, cap;
    uint64_t total, skipped;
};

static void files_free(struct file *files, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(files[i].name);
    free(files);
}

/* Joins a and b with '/' (b alone when a is empty) into out; false when it does not fit. */
static bool join(char *out, size_t cap, const char *a, const char *b, size_t blen)
{
    size_t alen = strlen(a), at = alen ? alen + 1 : 0;
    if (at + blen >= cap) return false;
    memcpy(out, a, alen);
    if (alen) out[alen] = '/';
    memcpy(out + at, b, blen);
    out[at + blen] = '\0';
    return true;
}

static int walk_push(struct walk *w, const char *rel, uint64_t size, struct blob_error *e)
{
    const char *why;
    if (iroh_collection_name_check(rel, strlen(rel), &why) < 0)
        return blob_fail(e, IROH_EINVAL, "cannot add %s/%s: %s (collection names are UTF-8)",
                         w->root, rel, why);
    if (w->count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        struct file *grown = realloc(w->files, cap * sizeof *grown);
        if (!grown) return blob_fail(e, IROH_ENOMEM, "out of memory");
        w->files = grown;
        w->cap = cap;
    }
    char *name = strdup(rel);
    if (!name) return blob_fail(e, IROH_ENOMEM, "out of memory");
    w->files[w->count++] = (struct file){name, size};
    w->total += size;
    return 0;
}

/* Adds the regular files of the directory rel (relative to the root, "" for the root) and
 * walks its subdirectories. */
static int walk_dir(struct walk *w, const char *rel, struct blob_error *e)
{
    char path[PATH_MAX], child[PATH_MAX];
    if (!join(path, sizeof path, w->root, rel, strlen(rel)))
        return blob_fail(e, IROH_EINVAL, "the path %s/%s is too long", w->root, rel);
    DIR *d = opendir(path);
    if (!d) return blob_fail_errno(e, "cannot read the directory", path);
    char **subdirs = NULL;
    size_t nsub = 0, capsub = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (errno = 0, de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        struct stat st;
        if (!join(child, sizeof child, rel, de->d_name, strlen(de->d_name)) ||
            strlen(w->root) + 1 + strlen(child) >= PATH_MAX) {
            rc = blob_fail(e, IROH_EINVAL, "the path %s/%s/%s is too long", w->root, rel,
                           de->d_name);
        } else if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            char full[PATH_MAX];
            join(full, sizeof full, path, de->d_name, strlen(de->d_name));
            rc = blob_fail_errno(e, "cannot stat", full);
        } else if (S_ISREG(st.st_mode)) {
            rc = walk_push(w, child, (uint64_t)st.st_size, e);
        } else if (S_ISDIR(st.st_mode)) {
            if (nsub == capsub) {
                capsub = capsub ? capsub * 2 : 8;
                char **grown = realloc(subdirs, capsub * sizeof *grown);
                if (!grown) {
                    rc = blob_fail(e, IROH_ENOMEM, "out of memory");
                    break;
                }
                subdirs = grown;
            }
            if (!(subdirs[nsub] = strdup(child)))
                rc = blob_fail(e, IROH_ENOMEM, "out of memory");
            else
                nsub++;
        } else {
            w->skipped++; /* symlinks are not followed; FIFOs, sockets and devices have no bytes */
        }
    }
    if (rc == 0 && errno != 0) rc = blob_fail_errno(e, "cannot read the directory", path);
    closedir(d);
    for (size_t i = 0; i < nsub; i++) {
        if (rc == 0) rc = walk_dir(w, subdirs[i], e);
        free(subdirs[i]);
    }
    free(subdirs);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct file *)a)->name, ((const struct file *)b)->name);
}

/* ---- adding ------------------------------------------------------------------------------- */

/* Imports the meta blob and the root of files (their hashes in children) and protects the
 * root as a HashSeq in out->root. temps holds the protections to drop afterwards. */
static int add_meta_and_root(struct blob_store *s, const struct file *files, size_t count,
                             const uint8_t *children, struct blob_temp_tag **temps,
                             struct blob_collection_added *out, struct blob_error *e)
{
    struct iroh_collection_name *names = malloc(sizeof *names * (count + 1));
    uint8_t *root = malloc(iroh_collection_root_size(count));
    uint8_t *meta = NULL;
    int rc = names && root ? 0 : blob_fail(e, IROH_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < count; i++)
        names[i] = (struct iroh_collection_name){files[i].name, strlen(files[i].name)};
    size_t meta_len = rc == 0 ? iroh_collection_meta_size(names, count) : 0, bad = 0;
    if (rc == 0 && !(meta = malloc(meta_len))) rc = blob_fail(e, IROH_ENOMEM, "out of memory");
    if (rc == 0 && iroh_collection_meta_encode(names, count, meta, meta_len, &bad) < 0)
        rc = blob_fail(e, IROH_ETOOBIG, "the collection's names are too long to store");
    struct blob_added meta_added;
    if (rc == 0) rc = blob_store_add_bytes(s, meta, meta_len, NULL, &meta_added, e);
    if (rc == 0) {
        temps[count] = meta_added.temp_tag;
        iroh_collection_root_encode(meta_added.hash, children, count, root);
        rc = blob_store_add_bytes(s, root, iroh_collection_root_size(count), NULL, &out->root, e);
    }
    if (rc == 0) {
        temps[count + 1] = out->root.temp_tag;
        rc = blob_temp_tag_new(s, out->root.hash, BLOB_FORMAT_HASH_SEQ, &out->root.temp_tag);
        if (rc < 0) {
            out->root.temp_tag = NULL;
            blob_fail(e, rc, "out of memory");
        }
    }
    free(names);
    free(root);
    free(meta);
    return rc;
}

int blob_collection_add_dir(struct blob_store *s, const char *dir, enum blob_import_mode mode,
                            const struct blob_progress *progress, struct blob_collection_added *out,
                            struct blob_error *e)
{
    memset(out, 0, sizeof *out);
    if (!dir || dir[0] != '/')
        return blob_fail(e, IROH_EINVAL, "the path must be absolute: %s", dir ? dir : "(none)");
    struct walk w = {.root = dir};
    int rc = walk_dir(&w, "", e);
    if (rc < 0) {
        files_free(w.files, w.count);
        return rc;
    }
    if (w.count > 1) qsort(w.files, w.count, sizeof *w.files, by_name); /* NULL when empty */

    /* Protections: one per file, then the meta blob's and the root's (raw) ones. */
    struct blob_temp_tag **temps = calloc(w.count + 2, sizeof *temps);
    uint8_t *children = malloc(w.count * BLOB_HASH_LEN + 1);
    if (!temps || !children) rc = blob_fail(e, IROH_ENOMEM, "out of memory");
    const char *stage = mode == BLOB_IMPORT_REFERENCE ? "hashing" : "copying";
    struct span sp = {progress, 0, w.total};
    char path[PATH_MAX];
    for (size_t i = 0; rc == 0 && i < w.count; i++) {
        if ((rc = span_check(&sp, stage, e)) < 0) break;
        join(path, sizeof path, dir, w.files[i].name, strlen(w.files[i].name));
        struct blob_progress file_progress = {span_report, &sp};
        struct blob_added added;
        rc = blob_store_add_path(s, path, mode, &file_progress, &added, e);
        if (rc < 0) break;
        temps[i] = added.temp_tag;
        memcpy(children + i * BLOB_HASH_LEN, added.hash, BLOB_HASH_LEN);
        sp.base += added.size;
        out->total_size += added.size;
    }
    if (rc == 0) rc = add_meta_and_root(s, w.files, w.count, children, temps, out, e);
    if (rc == 0) {
        out->files = w.count;
        out->skipped = w.skipped;
    }
    for (size_t i = 0; temps && i < w.count + 2; i++)
        blob_temp_tag_drop(s, temps[i]);
    free(temps);
    free(children);
    files_free(w.files, w.count);
    return rc;
}

/* ---- loading ------------------------------------------------------------------------------ */

struct blob_collection {
    uint8_t *root, *meta;
    size_t root_len, meta_len;
    struct iroh_collection_name *names; /* views into meta */
    size_t count;
};

void blob_collection_free(struct blob_collection *c)
{
    if (!c) return;
    free(c->root);
    free(c->meta);
    free(c->names);
    free(c);
}

/* Reads a whole complete blob of at most max bytes into a new buffer. */
static int read_whole(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN], size_t max,
                      uint8_t **out, size_t *len, struct blob_error *e)
{
    struct blob_reader *r;
    int rc = blob_store_reader_open(s, hash, &r, e);
    if (rc < 0) return rc;
    uint64_t size = blob_reader_size(r);
    char hex[BLOB_HASH_HEX_LEN + 1];
    blob_hash_hex(hash, hex);
    uint8_t *buf = NULL;
    if (!blob_reader_complete(r))
        rc = blob_fail(e, IROH_EINVAL, "the blob %s is incomplete", hex);
    else if (size > max)
        rc = blob_fail(e, IROH_EINVAL, "the blob %s is too large to be a collection's (%llu bytes)",
                       hex, (unsigned long long)size);
    else if (!(buf = malloc(size ? size : 1)))
        rc = blob_fail(e, IROH_ENOMEM, "out of memory");
    int64_t got = rc == 0 ? blob_reader_read(r, 0, buf, size, e) : 0;
    if (rc == 0 && got < 0) rc = (int)got;
    blob_reader_close(r);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = (size_t)size;
    return 0;
}

int blob_collection_load(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                         struct blob_collection **out, struct blob_error *e)
{
    struct blob_collection *c = calloc(1, sizeof *c);
    if (!c) return blob_fail(e, IROH_ENOMEM, "out of memory");
    char hex[BLOB_HASH_HEX_LEN + 1];
    blob_hash_hex(hash, hex);
    int rc = read_whole(s, hash, ROOT_MAX, &c->root, &c->root_len, e);
    if (rc == 0 && (c->root_len == 0 || c->root_len % BLOB_HASH_LEN != 0))
        rc = blob_fail(e, IROH_EINVAL,
                       "%s is not a collection: its size is not a positive multiple of 32", hex);
    if (rc == 0) {
        rc = read_whole(s, c->root, META_MAX, &c->meta, &c->meta_len, e);
        char meta_hex[BLOB_HASH_HEX_LEN + 1];
        blob_hash_hex(c->root, meta_hex);
        if (rc == IROH_ENOTFOUND)
            rc = blob_fail(e, IROH_EINVAL,
                           "%s is not a collection, or its meta blob %s is not in the store", hex,
                           meta_hex);
    }
    size_t cap = c->root_len / BLOB_HASH_LEN;
    if (rc == 0 && !(c->names = malloc(sizeof *c->names * cap)))
        rc = blob_fail(e, IROH_ENOMEM, "out of memory");
    const char *why = NULL;
    if (rc == 0 && iroh_collection_decode(c->root, c->root_len, c->meta, c->meta_len, c->names, cap,
                                          &c->count, &why) != 0)
        rc = blob_fail(e, IROH_EINVAL, "%s is not a collection: %s", hex, why);
    if (rc < 0) {
        blob_collection_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ---- exporting ---------------------------------------------------------------------------- */

/* Checks (create false) or makes (create true) the path of name under dirfd: every directory
 * on the way must be a real directory (a symlink is refused: nothing is written outside the
 * target), and the file must not be a directory, nor exist at all without overwrite. */
static int prepare(int dirfd, const char *dir, const struct iroh_collection_name *n, bool create,
                   bool overwrite, mode_t umask, struct blob_error *e)
{
    char path[PATH_MAX]; /* dir/name; name starts at path + skip */
    size_t skip = strlen(dir) + 1;
    if (!join(path, sizeof path, dir, n->data, n->len))
        return blob_fail(e, IROH_EINVAL, "the path %s/%.*s… is too long", dir, NAME_SHOWN, n->data);
    int fd = dup(dirfd);
    if (fd < 0) return blob_fail_errno(e, "cannot open", dir);
    int rc = 0;
    char *part = path + skip;
    for (char *slash; (slash = strchr(part, '/')); part = slash + 1) {
        *slash = 0; /* path is now the directory's */
        int next = -1;
        bool made = create && mkdirat(fd, part, 0700) == 0;
        if (create && !made && errno != EEXIST) {
            rc = blob_fail_errno(e, "cannot create the directory", path);
        } else {
            next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next >= 0 && made && fchmod(next, 0777 & ~umask) < 0)
                rc = blob_fail_errno(e, "cannot set the mode of", path);
            else if (next < 0 && (errno == ENOTDIR || errno == ELOOP))
                rc = blob_fail(e, IROH_EINVAL, "%s exists and is not a directory", path);
            else if (next < 0 && (errno != ENOENT || create))
                rc = blob_fail_errno(e, "cannot open", path);
        }
        *slash = '/';
        close(fd);
        fd = next;
        if (fd < 0) return rc; /* failed, or only checking and the rest does not exist yet */
    }
    struct stat st;
    if (fstatat(fd, part, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISDIR(st.st_mode))
            rc = blob_fail(e, IROH_EINVAL, "%s is a directory", path);
        else if (!overwrite)
            rc = blob_fail(e, IROH_EEXIST, "%s exists; pass overwrite to replace existing files",
                           path);
    }
    close(fd);
    return rc;
}

int blob_collection_export(struct blob_store *s, const struct blob_collection *c, const char *dir,
                           bool overwrite, mode_t umask, const struct blob_progress *progress,
                           struct blob_collection_exported *out, struct blob_error *e)
{
    memset(out, 0, sizeof *out);
    if (!dir || dir[0] != '/')
        return blob_fail(e, IROH_EINVAL, "the path must be absolute: %s", dir ? dir : "(none)");
    /* The names, checked on a sorted copy. */
    struct iroh_collection_name *sorted = malloc(sizeof *sorted * (c->count + 1));
    if (!sorted) return blob_fail(e, IROH_ENOMEM, "out of memory");
    memcpy(sorted, c->names, sizeof *sorted * c->count);
    size_t bad = 0;
    const char *why = NULL;
    int rc = 0;
    if (iroh_collection_names_check(sorted, c->count, &bad, &why) < 0) {
        int shown = sorted[bad].len > NAME_SHOWN ? NAME_SHOWN : (int)sorted[bad].len;
        rc = blob_fail(e, IROH_EINVAL, "the collection's name \"%.*s\" is refused: %s", shown,
                       sorted[bad].data, why);
    }
    free(sorted);
    /* Every file's blob, complete. */
    uint64_t total = 0;
    for (size_t i = 0; rc == 0 && i < c->count; i++) {
        const uint8_t *hash = c->root + BLOB_HASH_LEN * (i + 1);
        struct blob_status st;
        int found = blob_store_status(s, hash, &st, NULL);
        if (found == 0 && st.complete) {
            total += st.size;
            continue;
        }
        int shown = c->names[i].len > NAME_SHOWN ? NAME_SHOWN : (int)c->names[i].len;
        char hex[BLOB_HASH_HEX_LEN + 1];
        blob_hash_hex(hash, hex);
        rc = blob_fail(e, IROH_ENOTFOUND, "the blob of %.*s (%s) is %s", shown, c->names[i].data,
                       hex, found == 0 ? "incomplete" : "not in the store");
    }
    /* The target directory, then nothing in the way of any file. */
    bool made = rc == 0 && mkdir(dir, 0700) == 0;
    if (rc == 0 && !made && errno != EEXIST)
        rc = blob_fail_errno(e, "cannot create the directory", dir);
    int dirfd = rc == 0 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (rc == 0 && dirfd < 0)
        rc = errno == ENOTDIR ? blob_fail(e, IROH_EINVAL, "%s exists and is not a directory", dir)
                              : blob_fail_errno(e, "cannot open", dir);
    if (rc == 0 && made && fchmod(dirfd, 0777 & ~umask) < 0)
        rc = blob_fail_errno(e, "cannot set the mode of", dir);
    for (size_t i = 0; rc == 0 && i < c->count; i++)
        rc = prepare(dirfd, dir, &c->names[i], false, overwrite, umask, e);

    struct span sp = {progress, 0, total};
    char path[PATH_MAX];
    for (size_t i = 0; rc == 0 && i < c->count; i++) {
        if ((rc = span_check(&sp, "exporting", e)) < 0 ||
            (rc = prepare(dirfd, dir, &c->names[i], true, overwrite, umask, e)) < 0)
            break;
        if (!join(path, sizeof path, dir, c->names[i].data, c->names[i].len)) {
            rc = blob_fail(e, IROH_EINVAL, "the path %s/%.*s is too long", dir, NAME_SHOWN,
                           c->names[i].data);
            break;
        }
        struct blob_progress file_progress = {span_report, &sp};
        uint64_t size = 0;
        rc = blob_store_export(s, c->root + BLOB_HASH_LEN * (i + 1), path, umask, &file_progress,
                               &size, e);
        sp.base += size;
        out->total_size += size;
    }
    if (dirfd >= 0) close(dirfd);
    if (rc == 0) out->files = c->count;
    return rc;
}
