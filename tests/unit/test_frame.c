/* test_frame.c — ipc/frame.c without sockets: the reader assembling newline-delimited messages
 * fed byte by byte, in random chunk sizes and many per feed; the max_line limit (exactly at
 * it, one over, with and without a newline); blank lines; compaction over long runs (the
 * buffer stays bounded); the received-fd queue (add, take, overflow) with real pipe fds; the
 * writer's append, pending count, output limit and fd limit (refused fds are closed). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iroh/error.h"
#include "ipc/frame.h"
#include "tests/test.h"

/* A small deterministic PRNG so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static int fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* Copies data into r in chunks of at most `chunk` bytes (0: random sizes 1..97) and after
 * each chunk extracts every complete line into out (joined with '|'). Returns the number of
 * lines, or the first negative result of ipc_reader_next. */
static int feed(struct ipc_reader *r, const char *data, size_t len, size_t chunk, char *out,
                size_t outcap)
{
    size_t off = 0, outlen = 0;
    int lines = 0;
    if (outcap) out[0] = '\0';
    while (off < len) {
        char *space;
        size_t avail;
        if (ipc_reader_space(r, &space, &avail) < 0) return IROH_ENOMEM;
        if (avail == 0) return IROH_EBUFFER;
        size_t n = chunk ? chunk : 1 + rng() % 97;
        if (n > len - off) n = len - off;
        if (n > avail) n = avail;
        memcpy(space, data + off, n);
        ipc_reader_commit(r, n);
        off += n;
        for (int guard = 0; guard < 1000000; guard++) {
            char *line;
            size_t llen;
            int rc = ipc_reader_next(r, &line, &llen);
            if (rc < 0) return rc;
            if (rc == 0) break;
            if (strlen(line) != llen) return IROH_EPROTO; /* NUL-terminated at its length */
            if (out && outlen + llen + 2 < outcap) {
                if (lines) out[outlen++] = '|';
                memcpy(out + outlen, line, llen);
                outlen += llen;
                out[outlen] = '\0';
            }
            lines++;
        }
    }
    return lines;
}

static void test_reader_byte_by_byte(void)
{
    static const char input[] = "{\"a\":1}\n{\"b\":[1,2,3]}\nxyz\n";
    struct ipc_reader r;
    ipc_reader_init(&r, 1024);
    char out[256];
    CHECK_EQ_INT(feed(&r, input, strlen(input), 1, out, sizeof out), 3);
    CHECK_EQ_STR(out, "{\"a\":1}|{\"b\":[1,2,3]}|xyz");
    /* A partial message stays buffered until its newline arrives. */
    CHECK_EQ_INT(feed(&r, "par", 3, 1, out, sizeof out), 0);
    CHECK_EQ_INT(feed(&r, "tial", 4, 1, out, sizeof out), 0);
    CHECK_EQ_INT(feed(&r, "\n", 1, 1, out, sizeof out), 1);
    CHECK_EQ_STR(out, "partial");
    ipc_reader_free(&r);
}

static void test_reader_random_chunks(void)
{
    /* 300 messages of varied lengths (0..299 bytes of payload) fed in random chunks must come
     * out identical, in order, whatever the chunk boundaries. */
    enum { COUNT = 300 };
    size_t cap = COUNT * 320;
    char *input = malloc(cap);
    CHECK(input != NULL);
    if (!input) return;
    size_t len = 0;
    for (int i = 0; i < COUNT; i++) {
        len += (size_t)snprintf(input + len, cap - len, "m%d:", i);
        size_t pad = (size_t)(i * 7919) % 300;
        for (size_t k = 0; k < pad; k++)
            input[len++] = (char)('a' + (i + (int)k) % 26);
        input[len++] = '\n';
    }
    for (int round = 0; round < 20; round++) {
        struct ipc_reader r;
        ipc_reader_init(&r, 400);
        size_t off = 0;
        int seen = 0, bad = 0;
        while (off < len) {
            char *space;
            size_t avail;
            CHECK_EQ_INT(ipc_reader_space(&r, &space, &avail), 0);
            size_t n = 1 + rng() % (round < 10 ? 13 : 5000);
            if (n > len - off) n = len - off;
            if (n > avail) n = avail;
            memcpy(space, input + off, n);
            ipc_reader_commit(&r, n);
            off += n;
            char *line;
            size_t llen;
            int rc;
            while ((rc = ipc_reader_next(&r, &line, &llen)) == 1) {
                char prefix[16];
                int plen = snprintf(prefix, sizeof prefix, "m%d:", seen);
                size_t pad = (size_t)(seen * 7919) % 300;
                if (llen != (size_t)plen + pad || memcmp(line, prefix, (size_t)plen) != 0) bad++;
                for (size_t k = 0; k < pad && llen == (size_t)plen + pad; k++)
                    if (line[plen + (int)k] != (char)('a' + (seen + (int)k) % 26)) bad++;
                seen++;
            }
            CHECK_EQ_INT(rc, 0);
        }
        CHECK_EQ_INT(seen, COUNT);
        CHECK_EQ_INT(bad, 0);
        ipc_reader_free(&r);
    }
    free(input);
}

static void test_reader_many_per_feed(void)
{
    /* One commit holding 1000 short messages yields them all from one series of next calls. */
    char input[8000];
    size_t len = 0;
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(input + len, sizeof input - len, "%d\n", i % 10);
    struct ipc_reader r;
    ipc_reader_init(&r, 64);
    char *space;
    size_t avail;
    CHECK_EQ_INT(ipc_reader_space(&r, &space, &avail), 0);
    CHECK(avail >= len);
    memcpy(space, input, len);
    ipc_reader_commit(&r, len);
    int count = 0, bad = 0;
    char *line;
    size_t llen;
    for (int guard = 0; guard < 2000 && ipc_reader_next(&r, &line, &llen) == 1; guard++) {
        if (llen != 1 || line[0] != '0' + count % 10) bad++;
        count++;
    }
    CHECK_EQ_INT(count, 1000);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(ipc_reader_next(&r, &line, &llen), 0);
    ipc_reader_free(&r);
}

static char *repeat(char c, size_t n, int newline)
{
    char *s = malloc(n + 2);
    if (!s) return NULL;
    memset(s, c, n);
    s[n] = '\n';
    s[n + 1] = '\0';
    if (!newline) s[n] = '\0';
    return s;
}

static void test_reader_max_line(void)
{
    const size_t max = 1000;
    char out[4096];
    /* Exactly max_line bytes: accepted, fed whole and byte by byte. */
    for (size_t chunk = 0; chunk < 2; chunk++) {
        struct ipc_reader r;
        ipc_reader_init(&r, max);
        char *s = repeat('x', max, 1);
        CHECK_EQ_INT(feed(&r, s, max + 1, chunk ? 1 : max + 1, out, sizeof out), 1);
        CHECK_EQ_INT(strlen(out), max);
        free(s);
        /* ...and the reader goes on with the next message. */
        CHECK_EQ_INT(feed(&r, "ok\n", 3, 0, out, sizeof out), 1);
        CHECK_EQ_STR(out, "ok");
        ipc_reader_free(&r);
    }
    /* max_line bytes still waiting for their newline are not (yet) too big. */
    {
        struct ipc_reader r;
        ipc_reader_init(&r, max);
        char *s = repeat('y', max, 0);
        CHECK_EQ_INT(feed(&r, s, max, 7, out, sizeof out), 0);
        CHECK_EQ_INT(feed(&r, "\n", 1, 1, out, sizeof out), 1);
        free(s);
        ipc_reader_free(&r);
    }
    /* One over, with its newline in the same feed. */
    {
        struct ipc_reader r;
        ipc_reader_init(&r, max);
        char *s = repeat('z', max + 1, 1);
        CHECK_EQ_INT(feed(&r, s, max + 2, max + 2, out, sizeof out), IROH_ETOOBIG);
        free(s);
        ipc_reader_free(&r);
    }
    /* One over without a newline: detected as soon as the byte arrives, byte by byte too. */
    for (size_t chunk = 1; chunk <= 64; chunk *= 8) {
        struct ipc_reader r;
        ipc_reader_init(&r, max);
        char *s = repeat('w', max + 1, 0);
        CHECK_EQ_INT(feed(&r, s, max, chunk, out, sizeof out), 0);
        CHECK_EQ_INT(feed(&r, s, 1, 1, out, sizeof out), IROH_ETOOBIG);
        free(s);
        ipc_reader_free(&r);
    }
    /* A long stream with no newline at all never grows past the limit undetected. */
    {
        struct ipc_reader r;
        ipc_reader_init(&r, max);
        char *s = repeat('v', 10 * max, 0);
        CHECK_EQ_INT(feed(&r, s, 10 * max, 333, out, sizeof out), IROH_ETOOBIG);
        CHECK(r.len <= max + 333);
        free(s);
        ipc_reader_free(&r);
    }
    /* A short message after complete ones in the same feed, then an oversized one. */
    {
        struct ipc_reader r;
        ipc_reader_init(&r, 4);
        CHECK_EQ_INT(feed(&r, "abcd\n\nab\n", 9, 0, out, sizeof out), 3);
        CHECK_EQ_STR(out, "abcd||ab");
        CHECK_EQ_INT(feed(&r, "abcde\n", 6, 0, out, sizeof out), IROH_ETOOBIG);
        ipc_reader_free(&r);
    }
}

static void test_reader_blank_lines(void)
{
    /* Blank lines are messages of length 0 (the server skips them); whitespace is kept. */
    struct ipc_reader r;
    ipc_reader_init(&r, 100);
    char out[256];
    CHECK_EQ_INT(feed(&r, "\n\n  \na\n\n", 8, 1, out, sizeof out), 5);
    CHECK_EQ_STR(out, "||  |a|");
    CHECK_EQ_INT(feed(&r, "\r\n", 2, 2, out, sizeof out), 1);
    CHECK_EQ_STR(out, "\r");
    ipc_reader_free(&r);
}

static void test_reader_compaction_bounded(void)
{
    /* Thousands of messages, some near max_line, in chunks that leave a partial message
     * buffered most of the time: the buffer must be compacted rather than grow. Its capacity
     * must stay within one maximal message plus its newline plus one read (64 KiB), as
     * ipc_reader_space promises. */
    const size_t max = 200000;
    const size_t bound = max + 1 + 64 * 1024;
    char *msg = malloc(max + 1);
    CHECK(msg != NULL);
    if (!msg) return;
    struct ipc_reader r;
    ipc_reader_init(&r, max);
    size_t biggest = 0;
    int got = 0, sent = 0, bad = 0;
    for (int i = 0; i < 3000; i++) {
        size_t len = (i % 10 == 0) ? max - rng() % 1000 : rng() % 3000;
        memset(msg, 'a' + i % 26, len);
        msg[len] = '\n';
        sent++;
        size_t off = 0;
        while (off < len + 1) {
            char *space;
            size_t avail;
            if (ipc_reader_space(&r, &space, &avail) < 0) {
                bad++;
                break;
            }
            size_t n = 1 + rng() % 70000;
            if (n > avail) n = avail;
            if (n > len + 1 - off) n = len + 1 - off;
            memcpy(space, msg + off, n);
            ipc_reader_commit(&r, n);
            off += n;
            if (r.cap > biggest) biggest = r.cap;
            char *line;
            size_t llen;
            int rc;
            while ((rc = ipc_reader_next(&r, &line, &llen)) == 1) {
                if (line[0] != 0 && line[0] != 'a' + got % 26) bad++;
                got++;
            }
            if (rc < 0) bad++;
        }
    }
    CHECK_EQ_INT(got, sent);
    CHECK_EQ_INT(bad, 0);
    if (biggest > bound)
        fprintf(stderr, "reader capacity reached %zu, bound %zu\n", biggest, bound);
    CHECK(biggest <= bound);
    ipc_reader_free(&r);
    free(msg);
}

/* Feeds data in 4 KiB reads, extracting lines after each; returns the reader's largest cap. */
static size_t feed_4k(struct ipc_reader *r, const char *data, size_t len, int *errors)
{
    size_t biggest = r->cap;
    while (len > 0) {
        char *space;
        size_t avail;
        if (ipc_reader_space(r, &space, &avail) < 0) {
            (*errors)++;
            break;
        }
        size_t n = len < avail ? len : avail;
        if (n > 4096) n = 4096;
        memcpy(space, data, n);
        ipc_reader_commit(r, n);
        data += n;
        len -= n;
        if (r->cap > biggest) biggest = r->cap;
        char *line;
        size_t llen;
        int rc;
        while ((rc = ipc_reader_next(r, &line, &llen)) == 1)
            ;
        if (rc < 0) (*errors)++;
    }
    return biggest;
}

static void test_reader_compaction_worst_case(void)
{
    /* The case that once grew the buffer past its ceiling: the buffer is full-size, a message
     * ending just before its middle is consumed, and the next, nearly maximal message is still
     * arriving. The consumed bytes must be reclaimed instead of the buffer growing. */
    const size_t max = 200000;
    const size_t bound = max + 1 + 64 * 1024;
    char *m = malloc(2 * max + 2);
    CHECK(m != NULL);
    if (!m) return;
    memset(m, 'a', 2 * max + 2);
    struct ipc_reader r;
    ipc_reader_init(&r, max);
    int errors = 0;
    size_t biggest = 0, got;
    /* Grow to full size with maximal messages. */
    for (int i = 0; i < 3; i++) {
        m[max] = '\n';
        got = feed_4k(&r, m, max + 1, &errors);
        if (got > biggest) biggest = got;
        m[max] = 'a';
    }
    size_t first = r.cap / 2 - 2;
    m[first] = '\n';
    got = feed_4k(&r, m, first + 1 + max, &errors);
    if (got > biggest) biggest = got;
    CHECK_EQ_INT(errors, 0);
    if (biggest > bound)
        fprintf(stderr, "reader capacity reached %zu, bound %zu\n", biggest, bound);
    CHECK(biggest <= bound);
    /* The partial message is intact: finishing it yields max bytes of 'a'. */
    char *space;
    size_t avail;
    CHECK_EQ_INT(ipc_reader_space(&r, &space, &avail), 0);
    space[0] = '\n';
    ipc_reader_commit(&r, 1);
    char *line = NULL;
    size_t llen = 0;
    CHECK_EQ_INT(ipc_reader_next(&r, &line, &llen), 1);
    CHECK_EQ_INT(llen, max);
    CHECK(line && line[0] == 'a' && line[max - 1] == 'a');
    ipc_reader_free(&r);
    free(m);
}

static void test_fd_queue(void)
{
    struct ipc_reader r;
    ipc_reader_init(&r, 100);
    int fds[IPC_MAX_QUEUED_FDS + 1];
    int ok = 1;
    for (int i = 0; i < IPC_MAX_QUEUED_FDS; i += 2) {
        int p[2];
        if (pipe(p) < 0) {
            ok = 0;
            break;
        }
        fds[i] = p[0];
        fds[i + 1] = p[1];
    }
    CHECK(ok);
    if (!ok) return;
    for (int i = 0; i < IPC_MAX_QUEUED_FDS; i++)
        CHECK_EQ_INT(ipc_reader_add_fd(&r, fds[i]), 0);
    CHECK_EQ_INT(r.nfds, IPC_MAX_QUEUED_FDS);

    /* Overflow: refused and the extra fd is closed (ownership was taken). */
    int extra = dup(0);
    CHECK(extra >= 0);
    CHECK_EQ_INT(ipc_reader_add_fd(&r, extra), IROH_EBUSY);
    CHECK(!fd_is_open(extra));
    CHECK_EQ_INT(r.nfds, IPC_MAX_QUEUED_FDS);

    /* Take in arrival order. */
    int out[IPC_MAX_QUEUED_FDS];
    CHECK_EQ_INT(ipc_reader_take_fds(&r, out, 0), 0);
    CHECK_EQ_INT(ipc_reader_take_fds(&r, out, 2), 0);
    CHECK_EQ_INT(out[0], fds[0]);
    CHECK_EQ_INT(out[1], fds[1]);
    /* The taken fds are the caller's and still work: a pipe pair. */
    CHECK_EQ_INT(write(out[1], "x", 1), 1);
    char c = 0;
    CHECK_EQ_INT(read(out[0], &c, 1), 1);
    CHECK_EQ_INT(c, 'x');
    close(out[0]);
    close(out[1]);

    CHECK_EQ_INT(ipc_reader_take_fds(&r, out, 3), 0);
    CHECK_EQ_INT(out[0], fds[2]);
    CHECK_EQ_INT(out[2], fds[4]);
    for (int i = 0; i < 3; i++)
        close(out[i]);
    /* More than queued: EPROTO and nothing is taken. */
    size_t left = r.nfds;
    CHECK_EQ_INT(left, IPC_MAX_QUEUED_FDS - 5);
    CHECK_EQ_INT(ipc_reader_take_fds(&r, out, left + 1), IROH_EPROTO);
    CHECK_EQ_INT(r.nfds, left);
    /* Room again after taking. */
    int again = dup(0);
    CHECK_EQ_INT(ipc_reader_add_fd(&r, again), 0);
    /* Free closes every fd still queued. */
    ipc_reader_free(&r);
    for (int i = 5; i < IPC_MAX_QUEUED_FDS; i++)
        CHECK(!fd_is_open(fds[i]));
    CHECK(!fd_is_open(again));
}

static void test_writer_append_pending(void)
{
    struct ipc_writer w;
    ipc_writer_init(&w, 100);
    CHECK_EQ_INT(ipc_writer_pending(&w), 0);
    CHECK_EQ_INT(ipc_writer_append(&w, "hello", 5, NULL, 0), 0);
    CHECK_EQ_INT(ipc_writer_pending(&w), 6);
    CHECK_EQ_MEM(w.buf + w.off, "hello\n", 6);
    CHECK_EQ_INT(ipc_writer_append(&w, "", 0, NULL, 0), 0);
    CHECK_EQ_INT(ipc_writer_pending(&w), 7);
    /* Up to the limit exactly (newline included) is accepted... */
    char big[200];
    memset(big, 'b', sizeof big);
    CHECK_EQ_INT(ipc_writer_append(&w, big, 100 - 7 - 1, NULL, 0), 0);
    CHECK_EQ_INT(ipc_writer_pending(&w), 100);
    /* ...one byte more is not, and its fds are closed. */
    int p[2];
    CHECK_EQ_INT(pipe(p), 0);
    CHECK_EQ_INT(ipc_writer_append(&w, "", 0, p, 2), IROH_EBUSY);
    CHECK(!fd_is_open(p[0]));
    CHECK(!fd_is_open(p[1]));
    CHECK_EQ_INT(ipc_writer_pending(&w), 100);
    CHECK_EQ_INT(w.nfds, 0);

    /* Pretend 90 bytes were sent: the room comes back and the rest is kept in order. */
    w.off += 90;
    CHECK_EQ_INT(ipc_writer_pending(&w), 10);
    CHECK_EQ_INT(ipc_writer_append(&w, "tail", 4, NULL, 0), 0);
    CHECK_EQ_INT(ipc_writer_pending(&w), 15);
    CHECK_EQ_MEM(w.buf + w.off, "bbbbbbbbb\ntail\n", 15);
    ipc_writer_free(&w);
}

static void test_writer_fds(void)
{
    struct ipc_writer w;
    ipc_writer_init(&w, 1 << 20);
    int p[2];
    CHECK_EQ_INT(pipe(p), 0);
    CHECK_EQ_INT(ipc_writer_append(&w, "first", 5, NULL, 0), 0);
    CHECK_EQ_INT(ipc_writer_append(&w, "two fds", 7, p, 2), 0);
    CHECK_EQ_INT(w.nfds, 2);
    CHECK_EQ_INT(w.fds[0].at, 6); /* the offset of the message they belong to */
    CHECK_EQ_INT(w.fds[0].fd, p[0]);
    CHECK_EQ_INT(w.fds[1].fd, p[1]);

    /* Too many fds for one message: IROH_EINVAL and all of them closed. */
    int many[IPC_MAX_FDS_PER_MESSAGE + 1];
    for (int i = 0; i <= IPC_MAX_FDS_PER_MESSAGE; i++)
        many[i] = dup(0);
    CHECK_EQ_INT(ipc_writer_append(&w, "x", 1, many, IPC_MAX_FDS_PER_MESSAGE + 1), IROH_EINVAL);
    for (int i = 0; i <= IPC_MAX_FDS_PER_MESSAGE; i++)
        CHECK(!fd_is_open(many[i]));
    CHECK_EQ_INT(w.nfds, 2);
    /* Exactly the maximum is fine. */
    for (int i = 0; i < IPC_MAX_FDS_PER_MESSAGE; i++)
        many[i] = dup(0);
    CHECK_EQ_INT(ipc_writer_append(&w, "max", 3, many, IPC_MAX_FDS_PER_MESSAGE), 0);
    CHECK_EQ_INT(w.nfds, 2 + IPC_MAX_FDS_PER_MESSAGE);

    /* After the first message is sent, compaction keeps each fd bound to its message. */
    w.off = 6;
    CHECK_EQ_INT(ipc_writer_append(&w, "later", 5, NULL, 0), 0);
    size_t at = w.fds[0].at;
    CHECK(at >= w.off);
    CHECK_EQ_MEM(w.buf + at, "two fds\n", 8);
    CHECK_EQ_MEM(w.buf + w.fds[2].at, "max\n", 4);

    /* Free closes the fds never sent. */
    ipc_writer_free(&w);
    CHECK(!fd_is_open(p[0]));
    CHECK(!fd_is_open(p[1]));
    for (int i = 0; i < IPC_MAX_FDS_PER_MESSAGE; i++)
        CHECK(!fd_is_open(many[i]));
}

static void test_writer_growth(void)
{
    /* Many appends grow the buffer; the content is the concatenation. */
    struct ipc_writer w;
    ipc_writer_init(&w, 10u << 20);
    size_t total = 0;
    int ok = 1;
    for (int i = 0; i < 5000; i++) {
        char msg[64];
        int n = snprintf(msg, sizeof msg, "message %d", i);
        if (ipc_writer_append(&w, msg, (size_t)n, NULL, 0) != 0) ok = 0;
        total += (size_t)n + 1;
    }
    CHECK(ok);
    CHECK_EQ_INT(ipc_writer_pending(&w), total);
    CHECK_EQ_MEM(w.buf, "message 0\nmessage 1\n", 20);
    CHECK_EQ_MEM(w.buf + total - 13, "message 4999\n", 13);
    ipc_writer_free(&w);
}

int main(void)
{
    RUN(test_reader_byte_by_byte);
    RUN(test_reader_random_chunks);
    RUN(test_reader_many_per_feed);
    RUN(test_reader_max_line);
    RUN(test_reader_blank_lines);
    RUN(test_reader_compaction_bounded);
    RUN(test_reader_compaction_worst_case);
    RUN(test_fd_queue);
    RUN(test_writer_append_pending);
    RUN(test_writer_fds);
    RUN(test_writer_growth);
    return TEST_SUMMARY();
}
