/* blobs_service.c — blobs.* and tags.* over the blob store; see blobs_service.h.
 *
 * Each call becomes a job: its params are copied, the store call runs on the thread pool and
 * builds the result there, and the completion on the loop answers the call. A job of
 * blobs.add or blobs.export holds a subscription on its caller's connection: it learns from it
 * that the caller left (the job is then cancelled) and sends its blobs.progress notifications
 * through it, from a 100 ms timer that sends only what changed. */
#include "daemon/blobs_service.h"
#include "daemon/rpc_server.h"

#include <fcntl.h>
#include <iroh/error.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/fd_pump.h"
#include "daemon/log.h"
#include "ipc/jsonrpc.h"
#include "storage/blob_collection.h"

#define COMPONENT "blobs"
#define READ_INLINE_MAX (1u << 20) /* bytes blobs.read returns without a pipe */
#define PROGRESS_MS 100            /* at most 10 progress notifications a second per call */

enum job_kind {
    JOB_ADD,
    JOB_EXPORT,
    JOB_READ,
    JOB_STATUS,
    JOB_LIST,
    JOB_DELETE,
    JOB_GC,
    JOB_TAGS_LIST,
    JOB_TAGS_GET,
    JOB_TAGS_SET,
    JOB_TAGS_DELETE,
};

struct job {
    uv_work_t req;
    struct blobs_service *bs;
    struct rpc_call *call;
    enum job_kind kind;
    const char *what; /* "cannot add the content", for error messages */
    struct job *prev, *next;
    /* params (owned copies) */
    char *path, *data, *tag;
    bool data_is_base64, reference, no_tag, use_fd, has_length, overwrite;
    int collection; /* blobs.export: 1 as a directory, 0 as a file, -1 as its content says */
    mode_t umask;   /* blobs.export: the caller's, for the modes of what is written */
    enum blob_format format;
    uint8_t hash[BLOB_HASH_LEN];
    uint64_t offset, length;
    /* progress, written by the worker and read by the timer */
    char *token;
    struct rpc_subscription *sub; /* watches the caller; NULL once it left */
    _Atomic(const char *) stage;
    _Atomic uint64_t done, total;
    const char *sent_stage;
    uint64_t sent_done;
    atomic_bool cancel;
    /* outcome, written by the worker */
    int rc;
    struct blob_error err;
    json_object *result;
    enum { CHANGED_NONE, CHANGED_HASH, CHANGED_ANY } changed; /* the store's blobs: hash, any */
    struct blob_reader *reader; /* blobs.read with fd: handed to the pump */
    uint8_t *first;
    size_t first_len;
};

struct pump_entry {
    struct blobs_service *bs;
    struct fd_pump *pump;
    struct pump_entry *prev, *next;
};

struct blobs_service {
    uv_loop_t *loop;
    struct blob_store *store;
    struct blob_changes changes;
    struct job *jobs;
    struct pump_entry *pumps;
    uv_timer_t timer;
    bool timer_running;
    bool stopping;
    size_t pending; /* jobs, pumps and the timer handle not yet finished */
};

/* ---- results and errors ----------------------------------------------------------------- */

/* The store's codes as the API reports them: a cancelled job means irohd is stopping, and
 * data that failed verification is an I/O error of the file it came from. */
static int code_for(int rc)
{
    switch (rc) {
    case IROH_ECLOSED: return JSONRPC_SHUTTING_DOWN;
    case IROH_ECORRUPT: return JSONRPC_IO_ERROR;
    default: return jsonrpc_code_for(rc);
    }
}

static void fail(struct rpc_call *call, int rc, const char *message, const char *detail)
{
    json_object *data = json_object_new_object();
    json_object_object_add(data, "detail",
                           json_object_new_string(detail && *detail ? detail : iroh_strerror(rc)));
    rpc_call_fail(call, code_for(rc), message, data);
}

static json_object *hash_json(const uint8_t hash[BLOB_HASH_LEN])
{
    char hex[BLOB_HASH_HEX_LEN + 1];
    blob_hash_hex(hash, hex);
    return json_object_new_string(hex);
}

static json_object *status_json(const struct blob_status *st)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "hash", hash_json(st->hash));
    rpc_add_u64(o, "size", st->size);
    json_object_object_add(o, "complete", json_object_new_boolean(st->complete));
    rpc_add_u64(o, "present_groups", st->present_groups);
    rpc_add_u64(o, "total_groups", st->total_groups);
    json_object_object_add(o, "location", json_object_new_string(blob_location_name(st->location)));
    static const char *const ob[] = {"inline", "owned", "not_needed"};
    json_object_object_add(o, "outboard", json_object_new_string(ob[st->outboard % 3]));
    return o;
}

static json_object *tag_json(const struct blob_tag *t)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(t->name));
    json_object_object_add(o, "hash", hash_json(t->hash));
    json_object_object_add(o, "format", json_object_new_string(blob_format_name(t->format)));
    return o;
}

/* ---- progress ----------------------------------------------------------------------------- */

static int on_progress(void *ctx, const char *stage, uint64_t done, uint64_t total)
{
    struct job *j = ctx;
    atomic_store(&j->total, total);
    atomic_store(&j->done, done);
    atomic_store(&j->stage, stage);
    return atomic_load(&j->cancel);
}

static void send_progress(struct job *j)
{
    const char *stage = atomic_load(&j->stage);
    uint64_t done = atomic_load(&j->done);
    if (!j->token || !j->sub || !stage || (stage == j->sent_stage && done == j->sent_done)) return;
    json_object *p = json_object_new_object();
    json_object_object_add(p, "token", json_object_new_string(j->token));
    json_object_object_add(p, "stage", json_object_new_string(stage));
    rpc_add_u64(p, "done", done);
    rpc_add_u64(p, "total", atomic_load(&j->total));
    /* A caller that does not read loses progress events, never memory. */
    if (rpc_subscription_notify(j->sub, "blobs.progress", p) == 0) {
        j->sent_stage = stage;
        j->sent_done = done;
    }
}

static void on_timer(uv_timer_t *t)
{
    struct blobs_service *bs = t->data;
    bool any = false;
    for (struct job *j = bs->jobs; j; j = j->next) {
        if (!j->token) continue;
        any = true;
        send_progress(j);
    }
    if (!any) {
        uv_timer_stop(&bs->timer);
        bs->timer_running = false;
    }
}

/* The caller left or unsubscribed: stop the work, nobody waits for it. */
static void on_watch_end(struct rpc_subscription *sub, void *ctx)
{
    struct job *j = ctx;
    (void)sub;
    j->sub = NULL;
    atomic_store(&j->cancel, true);
}

/* ---- jobs --------------------------------------------------------------------------------- */

static void maybe_free_service(struct blobs_service *bs)
{
    if (bs->stopping && bs->pending == 0) free(bs);
}

static void job_free(struct job *j)
{
    free(j->path);
    free(j->data);
    free(j->tag);
    free(j->token);
    free(j->first);
    blob_reader_close(j->reader);
    json_object_put(j->result);
    free(j);
}

static struct job *job_new(struct blobs_service *bs, struct rpc_call *call, enum job_kind kind,
                           const char *what)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        rpc_call_fail(call, JSONRPC_INTERNAL_ERROR, "out of memory", NULL);
        return NULL;
    }
    j->bs = bs;
    j->call = call;
    j->kind = kind;
    j->what = what;
    j->req.data = j;
    return j;
}

static bool get_u64(json_object *params, const char *key, uint64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(params, key, &v) || json_object_is_type(v, json_type_null))
        return false;
    *out = (uint64_t)json_object_get_int64(v);
    return true;
}

/* Copies an optional string param; false (call answered) when out of memory. */
static bool copy_string(struct job *j, json_object *params, const char *key, char **out)
{
    const char *s = rpc_param_string(params, key);
    if (!s) return true;
    *out = strdup(s);
    if (*out) return true;
    rpc_call_fail(j->call, JSONRPC_INTERNAL_ERROR, "out of memory", NULL);
    job_free(j);
    return false;
}

/* Parses the hash param; false (call answered, job freed) when it is malformed. */
static bool parse_hash(struct job *j, json_object *params, const char *key)
{
    const char *text = rpc_param_string(params, key);
    if (text && blob_hash_parse(text, j->hash) == 0) return true;
    char detail[200];
    snprintf(detail, sizeof detail,
             "%s must be a BLAKE3 hash: 64 hex digits or 52 base32 characters, not \"%.80s\"", key,
             text ? text : "");
    fail(j->call, IROH_EINVAL, "malformed hash", detail);
    job_free(j);
    return false;
}

static void work(uv_work_t *req);
static void after_work(uv_work_t *req, int status);

static void submit(struct job *j)
{
    struct blobs_service *bs = j->bs;
    if (bs->stopping) {
        fail(j->call, IROH_ECLOSED, "irohd is shutting down", NULL);
        job_free(j);
        return;
    }
    if (j->kind == JOB_ADD || j->kind == JOB_EXPORT)
        j->sub = rpc_subscription_new(rpc_call_client(j->call), on_watch_end, j);
    j->next = bs->jobs;
    if (j->next) j->next->prev = j;
    bs->jobs = j;
    bs->pending++;
    if (j->token && !bs->timer_running) {
        uv_timer_start(&bs->timer, on_timer, PROGRESS_MS, PROGRESS_MS);
        bs->timer_running = true;
    }
    uv_queue_work(bs->loop, &j->req, work, after_work);
}

/* ---- work on the pool --------------------------------------------------------------------- */

static int decode_data(struct job *j, uint8_t **bytes, size_t *len)
{
    if (!j->data_is_base64) {
        *bytes = (uint8_t *)j->data;
        *len = strlen(j->data);
        return 0;
    }
    size_t in = strlen(j->data);
    uint8_t *out = malloc(in / 4 * 3 + 3);
    const char *end = NULL;
    if (!out) return IROH_ENOMEM;
    if (sodium_base642bin(out, in / 4 * 3 + 3, j->data, in, NULL, len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != j->data + in) {
        free(out);
        snprintf(j->err.detail, sizeof j->err.detail,
                 "data_base64 is not base64 (RFC 4648, with padding)");
        return IROH_EINVAL;
    }
    *bytes = out;
    return 0;
}

static void work_add(struct job *j)
{
    struct blob_store *s = j->bs->store;
    struct blob_progress progress = {on_progress, j};
    enum blob_import_mode mode = j->reference ? BLOB_IMPORT_REFERENCE : BLOB_IMPORT_COPY;
    struct blob_added added;
    memset(&added, 0, sizeof added);
    struct blob_collection_added dir;
    struct stat st;
    bool have_st = j->path && stat(j->path, &st) == 0, is_dir = have_st && S_ISDIR(st.st_mode);
    if (is_dir) {
        j->format = BLOB_FORMAT_HASH_SEQ; /* the root's tag protects the files */
        j->rc = blob_collection_add_dir(s, j->path, mode, &progress, &dir, &j->err);
        added = dir.root;
        j->changed = CHANGED_ANY; /* its files, even when it failed half way */
    } else if (j->path) {
        if (j->format == BLOB_FORMAT_HASH_SEQ && have_st && st.st_size % BLOB_HASH_LEN != 0)
            goto not_hash_seq; /* refused before it is stored (checked again below) */
        j->rc = blob_store_add_path(s, j->path, mode, &progress, &added, &j->err);
    } else {
        uint8_t *bytes;
        size_t len;
        j->rc = decode_data(j, &bytes, &len);
        if (j->rc == 0 && j->format == BLOB_FORMAT_HASH_SEQ && len % BLOB_HASH_LEN != 0) {
            if (bytes != (uint8_t *)j->data) free(bytes);
            goto not_hash_seq;
        }
        if (j->rc == 0) {
            j->rc = blob_store_add_bytes(s, bytes, len, &progress, &added, &j->err);
            if (bytes != (uint8_t *)j->data) free(bytes);
        }
    }
    if (j->rc < 0) return;
    if (!is_dir) {
        memcpy(j->hash, added.hash, BLOB_HASH_LEN);
        j->changed = CHANGED_HASH;
    }
    if (j->format == BLOB_FORMAT_HASH_SEQ && added.size % BLOB_HASH_LEN != 0) {
        blob_temp_tag_drop(s, added.temp_tag); /* the file grew meanwhile: unprotected now */
        goto not_hash_seq;
    }
    /* Tag it while the temp tag still protects it, then let the temp tag go. */
    char name[64];
    const char *tag = NULL;
    if (j->tag) {
        j->rc = blob_store_tag_set(s, j->tag, added.hash, j->format, &j->err);
        tag = j->tag;
    } else if (!j->no_tag) {
        j->rc = blob_store_tag_create(s, added.hash, j->format, name, sizeof name, &j->err);
        tag = name;
    }
    blob_temp_tag_drop(s, added.temp_tag);
    if (j->rc < 0) return;
    json_object *r = json_object_new_object();
    json_object_object_add(r, "hash", hash_json(added.hash));
    rpc_add_u64(r, "size", added.size);
    json_object_object_add(r, "format", json_object_new_string(blob_format_name(j->format)));
    json_object_object_add(r, "tag", tag ? json_object_new_string(tag) : NULL);
    json_object_object_add(r, "location",
                           json_object_new_string(blob_location_name(added.location)));
    json_object_object_add(r, "existed", json_object_new_boolean(added.existed));
    if (is_dir) {
        rpc_add_u64(r, "files", dir.files);
        rpc_add_u64(r, "total_size", dir.total_size);
        rpc_add_u64(r, "skipped", dir.skipped);
    }
    j->result = r;
    return;
not_hash_seq:
    snprintf(j->err.detail, sizeof j->err.detail,
             "a hash_seq blob is a sequence of 32-byte hashes: its size must be a multiple of 32");
    j->rc = IROH_EINVAL;
}

/* A collection to a directory, or one blob to a file; an existing file is replaced only with
 * overwrite. */
static void work_export(struct job *j)
{
    struct blob_store *s = j->bs->store;
    struct blob_progress progress = {on_progress, j};
    struct blob_collection *c = NULL;
    bool as_dir = false;
    if (j->collection != 0) {
        j->rc = blob_collection_load(s, j->hash, &c, &j->err);
        if (j->rc < 0 && (j->collection == 1 || j->rc != IROH_EINVAL)) return;
    }
    uint64_t size = 0, files = 1;
    struct stat st;
    if (c) {
        as_dir = true;
        struct blob_collection_exported ex;
        j->rc =
            blob_collection_export(s, c, j->path, j->overwrite, j->umask, &progress, &ex, &j->err);
        blob_collection_free(c);
        size = ex.total_size;
        files = ex.files;
    } else if (!j->overwrite && lstat(j->path, &st) == 0) {
        snprintf(j->err.detail, sizeof j->err.detail, "%s exists; pass overwrite to replace it",
                 j->path);
        j->rc = IROH_EEXIST;
    } else {
        j->rc = blob_store_export(s, j->hash, j->path, j->umask, &progress, &size, &j->err);
    }
    if (j->rc < 0) return;
    j->result = json_object_new_object();
    rpc_add_u64(j->result, "size", size);
    json_object_object_add(j->result, "path", json_object_new_string(j->path));
    rpc_add_u64(j->result, "files", files);
    json_object_object_add(j->result, "collection", json_object_new_boolean(as_dir));
}

static void work_read(struct job *j)
{
    j->rc = blob_store_reader_open(j->bs->store, j->hash, &j->reader, &j->err);
    if (j->rc < 0) return;
    uint64_t size = blob_reader_size(j->reader);
    uint64_t offset = j->offset < size ? j->offset : size;
    uint64_t len = size - offset;
    if (j->has_length && j->length < len) len = j->length;
    if (!j->use_fd && len > READ_INLINE_MAX) {
        snprintf(j->err.detail, sizeof j->err.detail,
                 "%llu bytes are more than blobs.read returns inline (%u); ask for a length of "
                 "at most that, or pass fd: true to stream them through a pipe",
                 (unsigned long long)len, READ_INLINE_MAX);
        j->rc = IROH_ETOOBIG;
        return;
    }
    /* With a pipe, the first block is read now so that errors still reach the caller. */
    size_t first = !j->use_fd ? (size_t)len : len < FD_PUMP_BLOCK ? (size_t)len : FD_PUMP_BLOCK;
    j->first = malloc(j->use_fd ? FD_PUMP_BLOCK : first ? first : 1);
    if (!j->first) {
        j->rc = IROH_ENOMEM;
        return;
    }
    int64_t got = blob_reader_read(j->reader, offset, j->first, first, &j->err);
    if (got < 0) {
        j->rc = (int)got;
        return;
    }
    j->first_len = (size_t)got;
    json_object *r = json_object_new_object();
    rpc_add_u64(r, "size", size);
    rpc_add_u64(r, "offset", offset);
    rpc_add_u64(r, "length", len);
    j->offset = offset;
    j->length = len;
    if (!j->use_fd) {
        size_t b64len = sodium_base64_ENCODED_LEN(first, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(b64len);
        if (!b64) {
            json_object_put(r);
            j->rc = IROH_ENOMEM;
            return;
        }
        sodium_bin2base64(b64, b64len, j->first, first, sodium_base64_VARIANT_ORIGINAL);
        json_object_object_add(r, "data_base64", json_object_new_string(b64));
        free(b64);
    }
    j->result = r;
}

static void work_list(struct job *j)
{
    struct blob_store *s = j->bs->store;
    struct blob_status *list = NULL;
    struct blob_tag *tags = NULL;
    size_t n = 0, ntags = 0;
    j->rc = blob_store_list(s, &list, &n, &j->err);
    if (j->rc == 0) j->rc = blob_store_tag_list(s, &tags, &ntags, &j->err);
    if (j->rc == 0) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "hash", hash_json(list[i].hash));
            rpc_add_u64(o, "size", list[i].size);
            json_object_object_add(o, "complete", json_object_new_boolean(list[i].complete));
            /* The format its named tags give it: hash_seq if any says so. */
            enum blob_format f = BLOB_FORMAT_RAW;
            for (size_t k = 0; k < ntags; k++)
                if (tags[k].format == BLOB_FORMAT_HASH_SEQ &&
                    memcmp(tags[k].hash, list[i].hash, BLOB_HASH_LEN) == 0)
                    f = BLOB_FORMAT_HASH_SEQ;
            json_object_object_add(o, "format", json_object_new_string(blob_format_name(f)));
            json_object_array_add(arr, o);
        }
        j->result = arr;
    }
    free(list);
    blob_tags_free(tags, ntags);
}

static void work(uv_work_t *req)
{
    struct job *j = req->data;
    struct blob_store *s = j->bs->store;
    switch (j->kind) {
    case JOB_ADD: work_add(j); break;
    case JOB_READ: work_read(j); break;
    case JOB_LIST: work_list(j); break;
    case JOB_EXPORT: work_export(j); break;
    case JOB_STATUS: {
        struct blob_status st;
        j->rc = blob_store_status(s, j->hash, &st, &j->err);
        if (j->rc == 0) j->result = status_json(&st);
        break;
    }
    case JOB_DELETE: {
        bool deleted = false;
        j->rc = blob_store_delete(s, j->hash, &deleted, &j->err);
        if (j->rc < 0) break;
        if (deleted) j->changed = CHANGED_HASH;
        j->result = json_object_new_object();
        json_object_object_add(j->result, "deleted", json_object_new_boolean(deleted));
        break;
    }
    case JOB_GC: {
        struct blob_gc_stats stats;
        j->rc = blob_store_gc(s, &stats, &j->err);
        if (j->rc < 0) break;
        if (stats.deleted) j->changed = CHANGED_ANY;
        j->result = json_object_new_object();
        rpc_add_u64(j->result, "deleted", stats.deleted);
        rpc_add_u64(j->result, "freed_bytes", stats.freed_bytes);
        break;
    }
    case JOB_TAGS_LIST: {
        struct blob_tag *tags;
        size_t n;
        j->rc = blob_store_tag_list(s, &tags, &n, &j->err);
        if (j->rc < 0) break;
        j->result = json_object_new_array();
        for (size_t i = 0; i < n; i++)
            json_object_array_add(j->result, tag_json(&tags[i]));
        blob_tags_free(tags, n);
        break;
    }
    case JOB_TAGS_GET: {
        struct blob_tag t;
        j->rc = blob_store_tag_get(s, j->tag, &t, &j->err);
        if (j->rc < 0) break;
        j->result = tag_json(&t);
        free(t.name);
        break;
    }
    case JOB_TAGS_SET: {
        j->rc = blob_store_tag_set(s, j->tag, j->hash, j->format, &j->err);
        if (j->rc < 0) break;
        struct blob_tag t = {j->tag, {0}, j->format};
        memcpy(t.hash, j->hash, BLOB_HASH_LEN);
        j->result = tag_json(&t);
        break;
    }
    case JOB_TAGS_DELETE: {
        bool deleted = false;
        j->rc = blob_store_tag_delete(s, j->tag, &deleted, &j->err);
        if (j->rc < 0) break;
        j->result = json_object_new_object();
        json_object_object_add(j->result, "deleted", json_object_new_boolean(deleted));
        break;
    }
    }
}

/* ---- completion on the loop --------------------------------------------------------------- */

static void on_pump_done(void *ctx, int rc, const char *detail)
{
    struct pump_entry *pe = ctx;
    struct blobs_service *bs = pe->bs;
    if (rc < 0 && rc != IROH_ECLOSED)
        log_warn(COMPONENT, "a blobs.read stream ended early: %s", detail);
    if (pe->prev)
        pe->prev->next = pe->next;
    else
        bs->pumps = pe->next;
    if (pe->next) pe->next->prev = pe->prev;
    free(pe);
    bs->pending--;
    maybe_free_service(bs);
}

/* blobs.read with fd: a pipe whose read end goes to the caller, the pump fills the other. */
static void reply_with_pipe(struct job *j)
{
    struct blobs_service *bs = j->bs;
    int fds[2];
    struct pump_entry *pe = calloc(1, sizeof *pe);
    if (!pe || pipe2(fds, O_CLOEXEC) < 0) {
        free(pe);
        fail(j->call, IROH_EBUSY, "cannot read the blob", "cannot create a pipe now");
        return;
    }
    pe->bs = bs;
    int rc = fd_pump_start(bs->loop, j->reader, j->offset, j->length, j->first, j->first_len,
                           fds[1], on_pump_done, pe, &pe->pump);
    j->reader = NULL; /* the pump owns them now, even on failure */
    j->first = NULL;
    if (rc < 0) {
        free(pe);
        close(fds[0]);
        fail(j->call, rc, "cannot read the blob", "cannot start streaming");
        return;
    }
    pe->next = bs->pumps;
    if (pe->next) pe->next->prev = pe;
    bs->pumps = pe;
    bs->pending++;
    json_object_object_add(j->result, "fd", json_object_new_int(0));
    rpc_call_reply(j->call, j->result, fds, 1);
    j->result = NULL;
}

static void after_work(uv_work_t *req, int status)
{
    struct job *j = req->data;
    struct blobs_service *bs = j->bs;
    (void)status; /* jobs are never cancelled through libuv */
    if (j->changed != CHANGED_NONE)
        blob_changes_notify(&bs->changes, j->changed == CHANGED_HASH ? j->hash : NULL);
    if (j->prev)
        j->prev->next = j->next;
    else
        bs->jobs = j->next;
    if (j->next) j->next->prev = j->prev;
    if (j->sub) {
        send_progress(j); /* the last state, if the timer has not sent it */
        rpc_subscription_end(j->sub);
        j->sub = NULL;
    }
    if (j->rc < 0) {
        if (j->rc == IROH_ECLOSED && !bs->stopping)
            fail(j->call, j->rc, "cancelled", "the call was cancelled");
        else
            fail(j->call, j->rc, j->rc == IROH_ECLOSED ? "irohd is shutting down" : j->what,
                 j->err.detail);
    } else if (j->kind == JOB_READ && j->use_fd) {
        if (bs->stopping)
            fail(j->call, IROH_ECLOSED, "irohd is shutting down", NULL);
        else
            reply_with_pipe(j);
    } else {
        if (j->kind == JOB_ADD)
            log_debug(COMPONENT, "added %s (%s)",
                      json_object_get_string(json_object_object_get(j->result, "hash")),
                      json_object_get_string(json_object_object_get(j->result, "location")));
        rpc_call_reply(j->call, j->result, NULL, 0);
        j->result = NULL;
    }
    job_free(j);
    bs->pending--;
    maybe_free_service(bs);
}

/* ---- handlers ----------------------------------------------------------------------------- */

static void handle_add(struct rpc_call *call, json_object *params, void *ctx)
{
    struct job *j = job_new(ctx, call, JOB_ADD, "cannot add the content");
    if (!j) return;
    int sources = !!rpc_param_string(params, "path") + !!rpc_param_string(params, "data_base64") +
                  !!rpc_param_string(params, "text");
    if (sources != 1) {
        fail(call, IROH_EINVAL, "invalid params", "give exactly one of path, data_base64 and text");
        job_free(j);
        return;
    }
    if (rpc_param_string(params, "tag") && rpc_param_bool(params, "no_tag")) {
        fail(call, IROH_EINVAL, "invalid params", "tag and no_tag: true exclude each other");
        job_free(j);
        return;
    }
    const char *path = rpc_param_string(params, "path");
    if (path && path[0] != '/') {
        fail(call, IROH_EINVAL, "invalid params",
             "path must be absolute (irohd does not know the caller's working directory)");
        job_free(j);
        return;
    }
    if (!copy_string(j, params, "path", &j->path) || !copy_string(j, params, "tag", &j->tag) ||
        !copy_string(j, params, "progress", &j->token))
        return;
    j->data_is_base64 = rpc_param_string(params, "data_base64") != NULL;
    if (!copy_string(j, params, j->data_is_base64 ? "data_base64" : "text", &j->data)) return;
    j->reference = rpc_param_bool(params, "reference");
    j->no_tag = rpc_param_bool(params, "no_tag");
    const char *format = rpc_param_string(params, "format");
    j->format = format && strcmp(format, "hash_seq") == 0 ? BLOB_FORMAT_HASH_SEQ : BLOB_FORMAT_RAW;
    submit(j);
}

static void handle_export(struct rpc_call *call, json_object *params, void *ctx)
{
    struct job *j = job_new(ctx, call, JOB_EXPORT, "cannot export the blob");
    if (!j || !parse_hash(j, params, "hash")) return;
    const char *path = rpc_param_string(params, "path");
    if (!path || path[0] != '/') {
        fail(call, IROH_EINVAL, "invalid params",
             "path must be absolute (irohd does not know the caller's working directory)");
        job_free(j);
        return;
    }
    if (!copy_string(j, params, "path", &j->path) || !copy_string(j, params, "progress", &j->token))
        return;
    j->overwrite = rpc_param_bool(params, "overwrite");
    j->umask = rpc_client_umask(rpc_call_client(call));
    json_object *collection;
    j->collection = json_object_object_get_ex(params, "collection", &collection)
                        ? json_object_get_boolean(collection)
                        : -1;
    submit(j);
}

static void handle_read(struct rpc_call *call, json_object *params, void *ctx)
{
    struct job *j = job_new(ctx, call, JOB_READ, "cannot read the blob");
    if (!j || !parse_hash(j, params, "hash")) return;
    get_u64(params, "offset", &j->offset);
    j->has_length = get_u64(params, "length", &j->length);
    j->use_fd = rpc_param_bool(params, "fd");
    submit(j);
}

static void handle_hash_job(struct rpc_call *call, json_object *params, void *ctx,
                            enum job_kind kind, const char *what)
{
    struct job *j = job_new(ctx, call, kind, what);
    if (!j || !parse_hash(j, params, "hash")) return;
    submit(j);
}

static void handle_status(struct rpc_call *call, json_object *params, void *ctx)
{
    handle_hash_job(call, params, ctx, JOB_STATUS, "no such blob");
}

static void handle_delete(struct rpc_call *call, json_object *params, void *ctx)
{
    handle_hash_job(call, params, ctx, JOB_DELETE, "cannot delete the blob");
}

static void handle_plain(struct rpc_call *call, void *ctx, enum job_kind kind, const char *what)
{
    struct job *j = job_new(ctx, call, kind, what);
    if (j) submit(j);
}

static void handle_list(struct rpc_call *call, json_object *params, void *ctx)
{
    (void)params;
    handle_plain(call, ctx, JOB_LIST, "cannot list the blobs");
}

static void handle_gc(struct rpc_call *call, json_object *params, void *ctx)
{
    (void)params;
    handle_plain(call, ctx, JOB_GC, "garbage collection failed");
}

static void handle_tags_list(struct rpc_call *call, json_object *params, void *ctx)
{
    (void)params;
    handle_plain(call, ctx, JOB_TAGS_LIST, "cannot list the tags");
}

static void handle_tag_job(struct rpc_call *call, json_object *params, void *ctx,
                           enum job_kind kind, const char *what)
{
    struct job *j = job_new(ctx, call, kind, what);
    if (!j) return;
    if (kind == JOB_TAGS_SET) {
        if (!parse_hash(j, params, "hash")) return;
        const char *format = rpc_param_string(params, "format");
        j->format =
            format && strcmp(format, "hash_seq") == 0 ? BLOB_FORMAT_HASH_SEQ : BLOB_FORMAT_RAW;
    }
    if (!copy_string(j, params, "name", &j->tag)) return;
    submit(j);
}

static void handle_tags_get(struct rpc_call *call, json_object *params, void *ctx)
{
    handle_tag_job(call, params, ctx, JOB_TAGS_GET, "no such tag");
}

static void handle_tags_set(struct rpc_call *call, json_object *params, void *ctx)
{
    handle_tag_job(call, params, ctx, JOB_TAGS_SET, "cannot set the tag");
}

static void handle_tags_delete(struct rpc_call *call, json_object *params, void *ctx)
{
    handle_tag_job(call, params, ctx, JOB_TAGS_DELETE, "cannot delete the tag");
}

/* ---- life cycle ----------------------------------------------------------------------------- */

int blobs_service_start(uv_loop_t *loop, struct rpc_server *server, struct blob_store *store,
                        struct blobs_service **out)
{
    struct blobs_service *bs = calloc(1, sizeof *bs);
    if (!bs) return IROH_ENOMEM;
    bs->loop = loop;
    bs->store = store;
    uv_timer_init(loop, &bs->timer);
    bs->timer.data = bs;
    bs->pending = 1; /* the timer handle, until it is closed */
    static const struct {
        const char *name;
        rpc_handler_fn *fn;
    } methods[] = {
        {"blobs.add", handle_add},
        {"blobs.export", handle_export},
        {"blobs.read", handle_read},
        {"blobs.status", handle_status},
        {"blobs.list", handle_list},
        {"blobs.delete", handle_delete},
        {"blobs.gc", handle_gc},
        {"tags.list", handle_tags_list},
        {"tags.get", handle_tags_get},
        {"tags.set", handle_tags_set},
        {"tags.delete", handle_tags_delete},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        rpc_server_register(server, methods[i].name, methods[i].fn, bs);
    *out = bs;
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct blobs_service *bs = h->data;
    bs->pending--;
    maybe_free_service(bs);
}

void blobs_service_set_changes(struct blobs_service *bs, const struct blob_changes *changes)
{
    bs->changes = *changes;
}

void blobs_service_stop(struct blobs_service *bs)
{
    bs->stopping = true;
    bs->changes = (struct blob_changes){0};
    for (struct job *j = bs->jobs; j; j = j->next) {
        atomic_store(&j->cancel, true);
        if (j->sub) {
            rpc_subscription_end(j->sub);
            j->sub = NULL;
        }
    }
    for (struct pump_entry *pe = bs->pumps; pe; pe = pe->next)
        fd_pump_stop(pe->pump);
    uv_close((uv_handle_t *)&bs->timer, on_timer_closed);
}
