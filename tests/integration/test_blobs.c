/* test_blobs.c — the blobs.* and tags.* methods of a real irohd (IROHD_PATH) in a fresh temp
 * dir, through libiroh-client: add (text, base64, a 100 MiB file whose hash must equal
 * b3sum's, by reference), status, list, read (inline and through a passed pipe), export,
 * tags, gc with a HashSeq, delete, progress notifications and their rate, every error kind,
 * a referenced file that changes, the same file added by two clients at once, an add
 * cancelled by its caller leaving, and a restart of irohd that keeps everything. Results and
 * notifications are checked against their schemas in ipc/api.json; the daemon and the shared
 * helpers are harness.c. */
#include <iroh/client.h>

#include "core/blake3.h"
#include "harness.h"
#include "test.h"
#include "tests/unit/file_checks.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 30000 /* the bound of every wait for the daemon */
#define MIB (1024 * 1024)
#define BIG (100 * MIB)

static char big_path[300];
static const char *const daemon_args[] = {"--log-level", "debug", NULL};

/* ---- helpers --------------------------------------------------------------------------- */

/* Calls and returns the result (checked against its schema; the caller puts it), or NULL
 * after a failed CHECK. */
static json_object *call_ok(iroh_client *c, const char *method, const char *params)
{
    json_object *result = call_result(c, method, params);
    if (result) check_schema("methods", method, result);
    return result;
}

/* Calls, expects the error code, checks data.kind and data.detail; returns the detail. */
static char last_detail[600];
static const char *call_err(iroh_client *c, const char *method, const char *params, int code)
{
    iroh_response *r = NULL;
    last_detail[0] = 0;
    CHECK_EQ_INT(iroh_client_call(c, method, params, WAIT_MS, &r), 0);
    if (!r) return last_detail;
    CHECK_EQ_INT(iroh_response_error_code(r), code);
    json_object *data =
        json_tokener_parse(iroh_response_error_data(r) ? iroh_response_error_data(r) : "");
    CHECK(*get_str(data, "kind") != 0);
    if (code != -32602 || *get_str(data, "detail")) /* the server's own param checks say it */
        snprintf(last_detail, sizeof last_detail, "%s", get_str(data, "detail"));
    if (code != -32602) CHECK(last_detail[0] != 0);
    json_object_put(data);
    iroh_response_free(r);
    return last_detail;
}

static void hex_of(const uint8_t *h, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void blake3_hex(const void *data, size_t len, char out[65])
{
    uint8_t h[32];
    iroh_blake3_hash(data, len, h);
    hex_of(h, out);
}

static uint64_t rng = 0x1234567887654321ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void write_random_file(const char *path, size_t size)
{
    FILE *f = fopen(path, "wb");
    uint64_t block[8192];
    for (size_t done = 0; done < size; done += sizeof block) {
        for (size_t i = 0; i < 8192; i++)
            block[i] = rnd();
        size_t n = size - done < sizeof block ? size - done : sizeof block;
        fwrite(block, 1, n, f);
    }
    fclose(f);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(*len ? *len : 1);
    if (fread(p, 1, *len, f) != *len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

/* The BLAKE3 hex of what a passed pipe yields until EOF; *len gets its byte count. */
static void drain_pipe(int fd, char hex[65], uint64_t *len)
{
    struct iroh_blake3_hasher h;
    iroh_blake3_init(&h);
    uint8_t *buf = malloc(MIB);
    *len = 0;
    for (;;) {
        ssize_t n = read(fd, buf, MIB);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        iroh_blake3_update(&h, buf, (size_t)n);
        *len += (uint64_t)n;
    }
    free(buf);
    close(fd);
    uint8_t out[32];
    iroh_blake3_finalize(&h, out, 32);
    hex_of(out, hex);
}

/* blobs.read with fd: true; returns the passed fd (or -1) and the result in *result. */
static int read_fd(iroh_client *c, const char *params, json_object **result)
{
    iroh_response *r = NULL;
    *result = NULL;
    CHECK_EQ_INT(iroh_client_call(c, "blobs.read", params, WAIT_MS, &r), 0);
    if (!r) return -1;
    CHECK_EQ_INT(iroh_response_error_code(r), 0);
    CHECK_EQ_INT(iroh_response_fd_count(r), 1);
    int fd = iroh_response_take_fd(r, 0);
    *result = json_tokener_parse(iroh_response_result(r) ? iroh_response_result(r) : "");
    if (*result) check_schema("methods", "blobs.read", *result);
    iroh_response_free(r);
    return fd;
}

/* The entries in irohd's blobs/<sub> (data or tmp), or -1. */
static int count_store_files(const char *sub)
{
    char path[400];
    snprintf(path, sizeof path, "%s/blobs/%s", irohd_dir, sub);
    return count_files(path);
}

/* Hashes remembered across tests (and the restart). */
static char hello_hash[65], big_hash[65], coll_hash[65];

/* ---- tests --------------------------------------------------------------------------- */

static void test_add_small_and_read(void)
{
    iroh_client *c = connect_daemon();
    json_object *r = call_ok(c, "blobs.add", "{\"text\":\"hello\",\"tag\":\"greeting\"}");
    char want[65];
    blake3_hex("hello", 5, want);
    CHECK_EQ_STR(get_str(r, "hash"), want);
    CHECK_EQ_INT(get_int(r, "size"), 5);
    CHECK_EQ_STR(get_str(r, "format"), "raw");
    CHECK_EQ_STR(get_str(r, "tag"), "greeting");
    CHECK_EQ_STR(get_str(r, "location"), "inline");
    snprintf(hello_hash, sizeof hello_hash, "%s", get_str(r, "hash"));
    json_object_put(r);

    /* The same bytes as base64: same hash, already there; an automatic tag. */
    r = call_ok(c, "blobs.add", "{\"data_base64\":\"aGVsbG8=\"}");
    CHECK_EQ_STR(get_str(r, "hash"), want);
    CHECK(get_bool(r, "existed"));
    CHECK(strncmp(get_str(r, "tag"), "auto-", 5) == 0);
    char params[400];
    snprintf(params, sizeof params, "{\"name\":\"%s\"}", get_str(r, "tag"));
    json_object_put(r);
    r = call_ok(c, "tags.delete", params);
    CHECK(get_bool(r, "deleted"));
    json_object_put(r);

    snprintf(params, sizeof params, "{\"hash\":\"%s\"}", hello_hash);
    r = call_ok(c, "blobs.status", params);
    CHECK(get_bool(r, "complete"));
    CHECK_EQ_INT(get_int(r, "size"), 5);
    CHECK_EQ_INT(get_int(r, "present_groups"), 1);
    CHECK_EQ_INT(get_int(r, "total_groups"), 1);
    CHECK_EQ_STR(get_str(r, "location"), "inline");
    CHECK_EQ_STR(get_str(r, "outboard"), "not_needed");
    json_object_put(r);

    snprintf(params, sizeof params, "{\"hash\":\"%s\",\"offset\":1,\"length\":3}", hello_hash);
    r = call_ok(c, "blobs.read", params);
    CHECK_EQ_STR(get_str(r, "data_base64"), "ZWxs"); /* "ell" */
    CHECK_EQ_INT(get_int(r, "length"), 3);
    CHECK_EQ_INT(get_int(r, "size"), 5);
    json_object_put(r);
    /* Past the end: cut at the end. */
    snprintf(params, sizeof params, "{\"hash\":\"%s\",\"offset\":4,\"length\":100}", hello_hash);
    r = call_ok(c, "blobs.read", params);
    CHECK_EQ_STR(get_str(r, "data_base64"), "bw==");
    json_object_put(r);
    /* Through a pipe. */
    snprintf(params, sizeof params, "{\"hash\":\"%s\",\"fd\":true}", hello_hash);
    int fd = read_fd(c, params, &r);
    char got[8] = "";
    CHECK_EQ_INT(read(fd, got, sizeof got), 5);
    CHECK(memcmp(got, "hello", 5) == 0);
    CHECK_EQ_INT(read(fd, got, sizeof got), 0);
    close(fd);
    json_object_put(r);

    /* The empty blob is always there. */
    char empty[65];
    blake3_hex("", 0, empty);
    snprintf(params, sizeof params, "{\"hash\":\"%s\"}", empty);
    r = call_ok(c, "blobs.status", params);
    CHECK(get_bool(r, "complete"));
    json_object_put(r);
    iroh_client_close(c);
}

struct progress_log {
    int count, bad;
    int64_t first_ms, last_ms;
    uint64_t last_done, total;
    const char *stage;
    char token[32];
};

static void on_progress(iroh_client *client, const char *method, const char *params, void *ud)
{
    (void)client;
    struct progress_log *p = ud;
    if (strcmp(method, "blobs.progress") != 0) return;
    json_object *o = json_tokener_parse(params);
    check_schema("x-notifications", "blobs.progress", o);
    if (strcmp(get_str(o, "token"), p->token) != 0) p->bad++;
    uint64_t done = (uint64_t)get_int(o, "done"), total = (uint64_t)get_int(o, "total");
    if (done < p->last_done || done > total) p->bad++;
    if (p->count == 0) p->first_ms = now_ms();
    p->last_ms = now_ms();
    p->count++;
    p->last_done = done;
    p->total = total;
    json_object_put(o);
}

/* A 100 MiB file: its hash is b3sum's; progress arrives at most ~10 times a second; reads
 * through a pipe and inline ranges match; export equals the file. */
static void test_big_file(void)
{
    snprintf(big_path, sizeof big_path, "%s/big-input", irohd_dir);
    write_random_file(big_path, BIG);
    iroh_client *c = connect_daemon();
    struct progress_log p = {0};
    snprintf(p.token, sizeof p.token, "big-1");
    iroh_client_on_notification(c, on_progress, &p);
    char params[600];
    snprintf(params, sizeof params, "{\"path\":\"%s\",\"tag\":\"big\",\"progress\":\"big-1\"}",
             big_path);
    int64_t start = now_ms();
    json_object *r = call_ok(c, "blobs.add", params);
    int64_t took = now_ms() - start;
    snprintf(big_hash, sizeof big_hash, "%s", get_str(r, "hash"));
    char want[65];
    if (b3sum_hex(big_path, want))
        CHECK_EQ_STR(big_hash, want);
    else
        printf("note: /usr/bin/b3sum is missing; the 100 MiB hash is checked with BLAKE3 only\n");
    CHECK_EQ_INT(get_int(r, "size"), BIG);
    CHECK_EQ_STR(get_str(r, "location"), "owned");
    json_object_put(r);
    printf("100 MiB added in %lld ms with %d progress notifications\n", (long long)took, p.count);
    CHECK(p.count >= 1);
    CHECK_EQ_INT(p.bad, 0);
    CHECK_EQ_INT(p.last_done, BIG);
    CHECK_EQ_INT(p.total, BIG);
    CHECK(p.count <= took / 100 + 2);

    snprintf(params, sizeof params, "{\"hash\":\"%s\"}", big_hash);
    r = call_ok(c, "blobs.status", params);
    CHECK_EQ_STR(get_str(r, "outboard"), "owned");
    CHECK_EQ_INT(get_int(r, "total_groups"), BIG / 16384);
    json_object_put(r);

    /* Through a pipe: all of it, then an odd range. */
    snprintf(params, sizeof params, "{\"hash\":\"%s\",\"fd\":true}", big_hash);
    int fd = read_fd(c, params, &r);
    json_object_put(r);
    char streamed[65];
    uint64_t len = 0;
    drain_pipe(fd, streamed, &len);
    CHECK_EQ_INT(len, BIG);
    CHECK_EQ_STR(streamed, big_hash);

    size_t flen;
    uint8_t *file = read_file(big_path, &flen);
    CHECK(file && flen == BIG);
    const uint64_t off = 12345677, n = 3 * MIB + 17;
    snprintf(params, sizeof params, "{\"hash\":\"%s\",\"offset\":%llu,\"length\":%llu,\"fd\":true}",
             big_hash, (unsigned long long)off, (unsigned long long)n);
    fd = read_fd(c, params, &r);
    CHECK_EQ_INT(get_int(r, "length"), n);
    json_object_put(r);
    drain_pipe(fd, streamed, &len);
    CHECK_EQ_INT(len, n);
    blake3_hex(file + off, n, want);
    CHECK_EQ_STR(streamed, want);

    /* Inline ranges at odd offsets. */
    for (int i = 0; i < 20; i++) {
        uint64_t o = rnd() % BIG, l = rnd() % 70000;
        snprintf(params, sizeof params, "{\"hash\":\"%s\",\"offset\":%llu,\"length\":%llu}",
                 big_hash, (unsigned long long)o, (unsigned long long)l);
        r = call_ok(c, "blobs.read", params);
        uint64_t expect = o + l > BIG ? BIG - o : l;
        CHECK_EQ_INT(get_int(r, "length"), expect);
        char enc[100000];
        size_t elen = 0;
        static const char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (uint64_t k = 0; k < expect; k += 3) {
            uint32_t v = (uint32_t)file[o + k] << 16;
            if (k + 1 < expect) v |= (uint32_t)file[o + k + 1] << 8;
            if (k + 2 < expect) v |= file[o + k + 2];
            enc[elen++] = b64[v >> 18];
            enc[elen++] = b64[(v >> 12) & 63];
            enc[elen++] = k + 1 < expect ? b64[(v >> 6) & 63] : '=';
            enc[elen++] = k + 2 < expect ? b64[v & 63] : '=';
        }
        enc[elen] = 0;
        CHECK_EQ_STR(get_str(r, "data_base64"), enc);
        json_object_put(r);
    }

    /* Export with progress. */
    char out[400];
    snprintf(out, sizeof out, "%s/exported", irohd_dir);
    p = (struct progress_log){0};
    snprintf(p.token, sizeof p.token, "exp");
    snprintf(params, sizeof params, "{\"hash\":\"%s\",\"path\":\"%s\",\"progress\":\"exp\"}",
             big_hash, out);
    r = call_ok(c, "blobs.export", params);
    CHECK_EQ_INT(get_int(r, "size"), BIG);
    json_object_put(r);
    CHECK(p.count >= 1);
    CHECK_EQ_INT(p.last_done, BIG);
    size_t xlen;
    uint8_t *exported = read_file(out, &xlen);
    CHECK(exported && xlen == BIG && memcmp(exported, file, BIG) == 0);
    free(exported);
    unlink(out);
    free(file);
    iroh_client_close(c);
}

/* A referenced file stays where it is; if it changes, reads fail and never lie. */
static void test_reference(void)
{
    char path[400], params[600];
    snprintf(path, sizeof path, "%s/referenced", irohd_dir);
    write_random_file(path, MIB + 5);
    iroh_client *c = connect_daemon();
    snprintf(params, sizeof params, "{\"path\":\"%s\",\"reference\":true,\"tag\":\"ref\"}", path);
    json_object *r = call_ok(c, "blobs.add", params);
    CHECK_EQ_STR(get_str(r, "location"), "external");
    char hash[65];
    snprintf(hash, sizeof hash, "%s", get_str(r, "hash"));
    json_object_put(r);
    int owned = count_store_files("data");

    snprintf(params, sizeof params, "{\"hash\":\"%s\",\"offset\":500000,\"length\":1000}", hash);
    json_object_put(call_ok(c, "blobs.read", params));

    struct stat st;
    stat(path, &st);
    int fd = open(path, O_WRONLY);
    CHECK_EQ_INT(pwrite(fd, "XXXX", 4, 500100), 4);
    close(fd);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    utimensat(AT_FDCWD, path, times, 0);
    const char *detail = call_err(c, "blobs.read", params, 1005);
    CHECK(strstr(detail, "modified") != NULL);
    /* Through a pipe: the stream stops before the changed group. */
    snprintf(params, sizeof params, "{\"hash\":\"%s\",\"fd\":true}", hash);
    fd = read_fd(c, params, &r);
    json_object_put(r);
    char got[65];
    uint64_t len = 0;
    drain_pipe(fd, got, &len);
    CHECK(len < 500100);
    CHECK_EQ_INT(count_store_files("data"), owned); /* nothing was copied */
    unlink(path);
    snprintf(params, sizeof params, "{\"hash\":\"%s\",\"offset\":0,\"length\":10}", hash);
    call_err(c, "blobs.read", params, 1005);
    iroh_client_close(c);
}

static void test_errors(void)
{
    iroh_client *c = connect_daemon();
    char params[600];
    /* Malformed hashes. */
    call_err(c, "blobs.status", "{\"hash\":\"zz\"}", -32602);
    call_err(c, "blobs.status",
             "{\"hash\":\"g000000000000000000000000000000000000000000000000000000000000000\"}",
             -32602);
    CHECK(strstr(last_detail, "hash") != NULL);
    call_err(c, "blobs.read", "{\"hash\":\"0123456789012345678901234567890123456789012345678901\"}",
             -32602);
    call_err(c, "tags.set",
             "{\"name\":\"x\",\"hash\":"
             "\"000000000000000000000000000000000000000000000000000000000000000\"}",
             -32602);
    /* Unknown blob. */
    const char *zero = "0000000000000000000000000000000000000000000000000000000000000000";
    snprintf(params, sizeof params, "{\"hash\":\"%s\"}", zero);
    call_err(c, "blobs.status", params, 1001);
    call_err(c, "blobs.read", params, 1001);
    snprintf(params, sizeof params, "{\"hash\":\"%s\",\"path\":\"%s/x\"}", zero, irohd_dir);
    call_err(c, "blobs.export", params, 1001);
    /* Bad sources. */
    snprintf(params, sizeof params, "{\"path\":\"%s/no-such-file\"}", irohd_dir);
    CHECK(strstr(call_err(c, "blobs.add", params, 1001), "no-such-file") != NULL);
    call_err(c, "blobs.add", "{\"path\":\"relative/file\"}", -32602);
    /* A directory is added as a collection (tests/integration/blobs_cli.sh); a FIFO is refused
     * without blocking on its open. */
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s/fifo", irohd_dir);
    CHECK_EQ_INT(mkfifo(fifo, 0600), 0);
    snprintf(params, sizeof params, "{\"path\":\"%s\"}", fifo);
    CHECK(strstr(call_err(c, "blobs.add", params, -32602), "special file") != NULL);
    unlink(fifo);
    call_err(c, "blobs.add", "{}", -32602);
    call_err(c, "blobs.add", "{\"text\":\"a\",\"data_base64\":\"YQ==\"}", -32602);
    call_err(c, "blobs.add", "{\"data_base64\":\"not base64!\"}", -32602);
    call_err(c, "blobs.add", "{\"text\":\"a\",\"tag\":\"t\",\"no_tag\":true}", -32602);
    call_err(c, "blobs.add", "{\"text\":\"abc\",\"format\":\"hash_seq\"}", -32602);
    call_err(c, "blobs.add", "{\"text\":\"a\",\"format\":\"other\"}", -32602);
    call_err(c, "tags.get", "{\"name\":\"no such tag\"}", 1001);
    call_err(c, "tags.set", "{\"name\":\"\",\"hash\":\"0\"}", -32602);
    /* Too much to return inline. */
    snprintf(params, sizeof params, "{\"hash\":\"%s\"}", big_hash);
    CHECK(strstr(call_err(c, "blobs.read", params, 1006), "fd") != NULL);
    snprintf(params, sizeof params, "{\"hash\":\"%s\",\"path\":\"%s/no/such/dir/x\"}", big_hash,
             irohd_dir);
    call_err(c, "blobs.export", params, 1001);
    CHECK_EQ_INT(count_store_files("tmp"), 0);
    iroh_client_close(c);
}

static bool listed(iroh_client *c, const char *hash, const char **format)
{
    json_object *list = call_ok(c, "blobs.list", NULL);
    bool found = false;
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        json_object *b = json_object_array_get_idx(list, i);
        if (strcmp(get_str(b, "hash"), hash) == 0) {
            found = true;
            if (format)
                *format = strcmp(get_str(b, "format"), "hash_seq") == 0 ? "hash_seq" : "raw";
        }
    }
    json_object_put(list);
    return found;
}

static void test_tags_gc_delete(void)
{
    iroh_client *c = connect_daemon();
    /* A and B untagged; a HashSeq of A tagged "coll" protects A. */
    json_object *a = call_ok(c, "blobs.add", "{\"text\":\"blob a\",\"no_tag\":true}");
    json_object *b = call_ok(c, "blobs.add", "{\"text\":\"blob b, longer\",\"no_tag\":true}");
    CHECK(json_object_is_type(json_object_object_get(a, "tag"), json_type_null));
    char ha[65], hb[65], params[600];
    snprintf(ha, sizeof ha, "%s", get_str(a, "hash"));
    snprintf(hb, sizeof hb, "%s", get_str(b, "hash"));
    uint8_t seq[32];
    for (int i = 0; i < 32; i++)
        sscanf(ha + 2 * i, "%2hhx", &seq[i]);
    char b64[64] = "";
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    for (int i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)seq[i] << 16 | (i + 1 < 32 ? (uint32_t)seq[i + 1] << 8 : 0) |
                     (i + 2 < 32 ? seq[i + 2] : 0);
        if (i >= 32) break;
        b64[n++] = alphabet[v >> 18];
        b64[n++] = alphabet[(v >> 12) & 63];
        b64[n++] = i + 1 < 32 ? alphabet[(v >> 6) & 63] : '=';
        b64[n++] = i + 2 < 32 ? alphabet[v & 63] : '=';
    }
    snprintf(params, sizeof params,
             "{\"data_base64\":\"%s\",\"tag\":\"coll\",\"format\":\"hash_seq\"}", b64);
    json_object *coll = call_ok(c, "blobs.add", params);
    CHECK_EQ_STR(get_str(coll, "format"), "hash_seq");
    CHECK_EQ_INT(get_int(coll, "size"), 32);
    snprintf(coll_hash, sizeof coll_hash, "%s", get_str(coll, "hash"));
    const char *format = "";
    CHECK(listed(c, coll_hash, &format));
    CHECK_EQ_STR(format, "hash_seq");

    json_object *gc = call_ok(c, "blobs.gc", NULL);
    CHECK_EQ_INT(get_int(gc, "deleted"), 1); /* B */
    CHECK_EQ_INT(get_int(gc, "freed_bytes"), strlen("blob b, longer"));
    json_object_put(gc);
    CHECK(listed(c, ha, NULL) && !listed(c, hb, NULL) && listed(c, coll_hash, NULL));

    /* tags.set / get / list. */
    snprintf(params, sizeof params, "{\"name\":\"second\",\"hash\":\"%s\"}", ha);
    json_object *t = call_ok(c, "tags.set", params);
    CHECK_EQ_STR(get_str(t, "format"), "raw");
    json_object_put(t);
    t = call_ok(c, "tags.get", "{\"name\":\"coll\"}");
    CHECK_EQ_STR(get_str(t, "hash"), coll_hash);
    CHECK_EQ_STR(get_str(t, "format"), "hash_seq");
    json_object_put(t);
    json_object *tags = call_ok(c, "tags.list", NULL);
    bool ordered = true;
    for (size_t i = 1; tags && i < json_object_array_length(tags); i++)
        ordered &= strcmp(get_str(json_object_array_get_idx(tags, i - 1), "name"),
                          get_str(json_object_array_get_idx(tags, i), "name")) < 0;
    CHECK(ordered);
    CHECK(find_named(tags, "second") && find_named(tags, "coll") && find_named(tags, "big"));
    json_object_put(tags);

    /* Without its tags, the HashSeq and A go; tags.delete reports what it did. */
    t = call_ok(c, "tags.delete", "{\"name\":\"coll\"}");
    CHECK(get_bool(t, "deleted"));
    json_object_put(t);
    t = call_ok(c, "tags.delete", "{\"name\":\"coll\"}");
    CHECK(!get_bool(t, "deleted"));
    json_object_put(t);
    t = call_ok(c, "tags.delete", "{\"name\":\"second\"}");
    json_object_put(t);
    gc = call_ok(c, "blobs.gc", NULL);
    CHECK_EQ_INT(get_int(gc, "deleted"), 2);
    json_object_put(gc);
    CHECK(!listed(c, ha, NULL) && !listed(c, coll_hash, NULL) && listed(c, big_hash, NULL));

    /* An explicit delete removes a tagged blob; its tag stays (dangling), as in iroh. */
    snprintf(params, sizeof params, "{\"hash\":\"%s\"}", hello_hash);
    json_object *d = call_ok(c, "blobs.delete", params);
    CHECK(get_bool(d, "deleted"));
    json_object_put(d);
    d = call_ok(c, "blobs.delete", params);
    CHECK(!get_bool(d, "deleted"));
    json_object_put(d);
    call_err(c, "blobs.status", params, 1001);
    t = call_ok(c, "tags.get", "{\"name\":\"greeting\"}");
    CHECK_EQ_STR(get_str(t, "hash"), hello_hash);
    json_object_put(t);
    /* Added again, the tag protects it again. */
    json_object_put(call_ok(c, "blobs.add", "{\"text\":\"hello\",\"no_tag\":true}"));
    gc = call_ok(c, "blobs.gc", NULL);
    json_object_put(gc);
    CHECK(listed(c, hello_hash, NULL));
    json_object_put(a);
    json_object_put(b);
    json_object_put(coll);
    iroh_client_close(c);
}

struct add_result {
    int done;
    char hash[65];
    bool existed;
    int code;
};

static void on_added(iroh_client *client, int status, iroh_response *response, void *ud)
{
    (void)client;
    struct add_result *a = ud;
    a->done = 1;
    a->code = status < 0 ? status : iroh_response_error_code(response);
    if (a->code != 0) return;
    json_object *r = json_tokener_parse(iroh_response_result(response));
    snprintf(a->hash, sizeof a->hash, "%s", get_str(r, "hash"));
    a->existed = get_bool(r, "existed");
    json_object_put(r);
}

/* Two clients add the same new file at once: one copy is stored, both get the hash. */
static void test_parallel_same_file(void)
{
    char path[400], params[600];
    snprintf(path, sizeof path, "%s/twice", irohd_dir);
    write_random_file(path, 20 * MIB);
    int before = count_store_files("data");
    iroh_client *c1 = connect_daemon(), *c2 = connect_daemon();
    snprintf(params, sizeof params, "{\"path\":\"%s\",\"tag\":\"twice\"}", path);
    struct add_result r1 = {0}, r2 = {0};
    CHECK_EQ_INT(iroh_client_call_async(c1, "blobs.add", params, on_added, &r1, NULL), 0);
    CHECK_EQ_INT(iroh_client_call_async(c2, "blobs.add", params, on_added, &r2, NULL), 0);
    for (int64_t end = now_ms() + WAIT_MS; (!r1.done || !r2.done) && now_ms() < end;) {
        struct pollfd p[2] = {{iroh_client_fd(c1), POLLIN, 0}, {iroh_client_fd(c2), POLLIN, 0}};
        if (iroh_client_wants_write(c1)) p[0].events |= POLLOUT;
        if (iroh_client_wants_write(c2)) p[1].events |= POLLOUT;
        poll(p, 2, 50);
        iroh_client_process(c1);
        iroh_client_process(c2);
    }
    CHECK_EQ_INT(r1.code, 0);
    CHECK_EQ_INT(r2.code, 0);
    CHECK_EQ_STR(r1.hash, r2.hash);
    CHECK(r1.existed != r2.existed);
    CHECK_EQ_INT(count_store_files("data"), before + 2); /* one data file and its outboard */
    CHECK_EQ_INT(count_store_files("tmp"), 0);
    unlink(path);
    iroh_client_close(c1);
    iroh_client_close(c2);
}

static void on_first_progress(iroh_client *client, const char *method, const char *params, void *ud)
{
    (void)client;
    (void)params;
    if (strcmp(method, "blobs.progress") == 0) (*(int *)ud)++;
}

static void on_ignored(iroh_client *client, int status, iroh_response *response, void *ud)
{
    (void)client;
    (void)status;
    (void)response;
    (void)ud;
}

/* A caller that leaves in the middle of an add cancels it: nothing is left behind. */
static void test_cancel_by_disconnect(void)
{
    char path[400], params[600];
    snprintf(path, sizeof path, "%s/cancelled", irohd_dir);
    /* 1 GiB of zeros, sparse: free to make and to read, but its copy takes seconds, so the
     * import is surely still running when the caller leaves. */
    int sparse = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(sparse >= 0 && ftruncate(sparse, 1024 * (off_t)MIB) == 0);
    close(sparse);
    iroh_client *c = connect_daemon();
    int notes = 0;
    iroh_client_on_notification(c, on_first_progress, &notes);
    snprintf(params, sizeof params, "{\"path\":\"%s\",\"progress\":\"c\"}", path);
    CHECK_EQ_INT(iroh_client_call_async(c, "blobs.add", params, on_ignored, NULL, NULL), 0);
    for (int64_t end = now_ms() + WAIT_MS; notes == 0 && now_ms() < end;) {
        struct pollfd p = {iroh_client_fd(c), POLLIN, 0};
        if (iroh_client_wants_write(c)) p.events |= POLLOUT;
        poll(&p, 1, 20);
        iroh_client_process(c);
    }
    CHECK(notes > 0);
    iroh_client_close(c);
    /* The import notices at its next block; then its temp file is gone. */
    for (int64_t end = now_ms() + WAIT_MS; count_store_files("tmp") > 0 && now_ms() < end;)
        sleep_ms(20);
    sleep_ms(200);
    CHECK_EQ_INT(count_store_files("tmp"), 0);
    c = connect_daemon();
    json_object *list = call_ok(c, "blobs.list", NULL);
    json_object *tags = call_ok(c, "tags.list", NULL);
    /* Only what earlier tests left: hello, big, referenced, twice. */
    CHECK_EQ_INT(json_object_array_length(list), 4);
    CHECK_EQ_INT(json_object_array_length(tags), 4); /* greeting, big, ref, twice */
    json_object_put(list);
    json_object_put(tags);
    iroh_client_close(c);
    unlink(path);
}

/* A clean restart keeps blobs, tags and their placement. */
static void test_restart(void)
{
    int status = stop_daemon();
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(start_daemon(daemon_args));
    iroh_client *c = connect_daemon();
    char params[400];
    snprintf(params, sizeof params, "{\"hash\":\"%s\"}", big_hash);
    json_object *r = call_ok(c, "blobs.status", params);
    CHECK(get_bool(r, "complete"));
    CHECK_EQ_INT(get_int(r, "size"), BIG);
    json_object_put(r);
    json_object *t = call_ok(c, "tags.get", "{\"name\":\"big\"}");
    CHECK_EQ_STR(get_str(t, "hash"), big_hash);
    json_object_put(t);
    snprintf(params, sizeof params, "{\"hash\":\"%s\",\"offset\":1000,\"length\":4}", hello_hash);
    r = call_ok(c, "blobs.read", params);
    CHECK_EQ_INT(get_int(r, "length"), 0);
    json_object_put(r);
    snprintf(params, sizeof params, "{\"hash\":\"%s\",\"fd\":true}", big_hash);
    int fd = read_fd(c, params, &r);
    json_object_put(r);
    char streamed[65];
    uint64_t len;
    drain_pipe(fd, streamed, &len);
    CHECK_EQ_STR(streamed, big_hash);
    CHECK_EQ_INT(len, BIG);
    /* Once untagged and collected, the owned files go too. */
    json_object_put(call_ok(c, "tags.delete", "{\"name\":\"big\"}"));
    json_object_put(call_ok(c, "tags.delete", "{\"name\":\"twice\"}"));
    json_object_put(call_ok(c, "tags.delete", "{\"name\":\"ref\"}"));
    json_object *gc = call_ok(c, "blobs.gc", NULL);
    CHECK_EQ_INT(get_int(gc, "deleted"), 3);
    CHECK(get_int(gc, "freed_bytes") >= BIG + 20 * MIB);
    json_object_put(gc);
    CHECK_EQ_INT(count_store_files("data"), 0);
    iroh_client_close(c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (!harness_init(&test_failed_checks, WAIT_MS)) return 1;
    harness_make_dir("blobs");
    if (!start_daemon(daemon_args)) return 1;
    RUN(test_add_small_and_read);
    RUN(test_big_file);
    RUN(test_reference);
    RUN(test_errors);
    RUN(test_tags_gc_delete);
    RUN(test_parallel_same_file);
    RUN(test_cancel_by_disconnect);
    RUN(test_restart);
    stop_daemon();
    unlink(big_path);
    int failed = TEST_SUMMARY();
    harness_remove_dir(failed);
    harness_free();
    return failed;
}
