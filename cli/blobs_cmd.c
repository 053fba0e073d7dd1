/* blobs_cmd.c — the subcommands of `iroh blobs` and `iroh tags` (dispatched by iroh.c). Each
 * parses its arguments, makes the one blobs.* or tags.* call it names (docs/api.md) and prints
 * the answer. The only work done here is what a client must do itself: make paths absolute
 * (irohd does not know our working directory), read stdin for `add -`, draw the progress bar
 * from blobs.progress notifications, and copy the pipe of `cat` to stdout. */
#include "cli/cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/encoding.h"

#define STDIN_MAX (8u << 20) /* bytes `add -` sends inline (the API's 16 MiB message limit) */
#define PROGRESS_TOKEN "iroh"
#define BAR_INTERVAL 0.1 /* seconds between redraws of the progress bar */
#define CAT_BLOCK 65536

/* ---- arguments ------------------------------------------------------------------------ */

struct flag {
    const char *name;   /* "--tag" */
    const char **value; /* an option with a value, or NULL */
    bool *set;          /* a switch, or NULL */
};

static bool is_global_option(const char *arg)
{
    static const char *const globals[] = {"--json", "--socket", "--timeout", "--version"};
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++) {
        size_t n = strlen(globals[i]);
        if (strncmp(arg, globals[i], n) == 0 && (arg[n] == 0 || arg[n] == '=')) return true;
    }
    return false;
}

/* Parses argv into flags and exactly as many positionals as names lists (NULL-terminated);
 * pos[i] gets the i-th. "-" is a positional; "--" ends the options. */
static int parse_args(const char *command, int argc, char **argv, const struct flag *flags,
                      size_t nflags, const char *const *names, const char **pos)
{
    size_t want = 0, got = 0;
    while (names[want])
        want++;
    bool options = true;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (options && strcmp(arg, "--") == 0) {
            options = false;
            continue;
        }
        if (!options || arg[0] != '-' || arg[1] == 0) {
            if (got == want) return cli_usage_error(command, "unexpected argument: ", arg);
            pos[got++] = arg;
            continue;
        }
        const struct flag *f = NULL;
        const char *value = NULL;
        for (size_t k = 0; k < nflags && !f; k++) {
            size_t n = strlen(flags[k].name);
            if (strncmp(arg, flags[k].name, n) != 0) continue;
            if (arg[n] == 0 || (arg[n] == '=' && flags[k].value)) {
                f = &flags[k];
                value = arg[n] == '=' ? arg + n + 1 : NULL;
            }
        }
        if (!f && is_global_option(arg))
            return cli_usage_error(command, "global options go before the command: ", arg);
        if (!f) return cli_usage_error(command, "unknown option: ", arg);
        if (f->set) {
            *f->set = true;
        } else if (value || i + 1 < argc) {
            *f->value = value ? value : argv[++i];
        } else {
            return cli_usage_error(command, "missing value for ", arg);
        }
    }
    if (got < want) return cli_usage_error(command, "missing ", names[got]);
    return EXIT_OK;
}

/* The options of a call that takes as long as its work: no deadline unless --timeout. */
static struct options long_call(const struct options *opts)
{
    struct options o = *opts;
    if (!o.timeout_set) o.timeout_ms = -1;
    return o;
}

/* path made absolute against the working directory (without resolving symlinks); free it. */
static char *absolute(const char *path)
{
    if (path[0] == '/') return strdup(path);
    char *cwd = getcwd(NULL, 0), *out = NULL;
    if (cwd && asprintf(&out, "%s/%s", cwd, path) < 0) out = NULL;
    free(cwd);
    return out;
}

static const char *params_text(json_object *params)
{
    return json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN);
}

/* ---- output ----------------------------------------------------------------------------- */

static void print_size(char *buf, size_t len, double bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;
    while (bytes >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

static int64_t int_field(json_object *obj, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(obj, key, &v) ? json_object_get_int64(v) : 0;
}

static bool bool_field(json_object *obj, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(obj, key, &v) && json_object_get_boolean(v);
}

/* ---- the progress bar ---------------------------------------------------------------------- */

struct bar {
    double start, last;
    bool drawn;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Draws "stage  percent  done / total  rate" over the previous line, at most ten times a
 * second (and always the last state). */
static void draw_progress(iroh_client *client, const char *method, const char *params,
                          void *userdata)
{
    struct bar *bar = userdata;
    (void)client;
    if (strcmp(method, "blobs.progress") != 0) return;
    json_object *p = json_tokener_parse(params);
    double done = (double)int_field(p, "done"), total = (double)int_field(p, "total");
    double now = now_s();
    if (!bar->drawn || now - bar->last >= BAR_INTERVAL || done >= total) {
        char d[32], t[32], r[32], eta[32] = "";
        double rate = done / (now - bar->start > 1e-3 ? now - bar->start : 1e-3);
        print_size(d, sizeof d, done);
        print_size(t, sizeof t, total);
        print_size(r, sizeof r, rate);
        if (done < total && rate > 0) {
            double left = (total - done) / rate;
            snprintf(eta, sizeof eta, "  ETA %d:%02d", (int)(left / 60), (int)left % 60);
        }
        fprintf(stderr, "\r%-11s %5.1f%%  %s / %s  %s/s%s\033[K", cli_field(p, "stage"),
                total > 0 ? 100.0 * done / total : 100.0, d, t, r, eta);
        fflush(stderr);
        bar->drawn = true;
        bar->last = now;
    }
    json_object_put(p);
}

/* Makes a long call with a progress bar on stderr when it is a terminal (the call then asks
 * irohd for blobs.progress notifications); the bar is erased before anything else prints. */
static int call_with_progress(const struct options *opts, const char *method, json_object *params,
                              void (*show)(const struct options *opts, json_object *result))
{
    bool tty = isatty(STDERR_FILENO);
    if (tty) json_object_object_add(params, "progress", json_object_new_string(PROGRESS_TOKEN));
    struct options o = long_call(opts);
    iroh_client *client;
    int rc = cli_open_client(&o, &client);
    if (rc != EXIT_OK) return rc;
    struct bar bar = {now_s(), 0, false};
    if (tty) iroh_client_on_notification(client, draw_progress, &bar);
    iroh_response *response = NULL;
    rc = cli_call(&o, client, method, params_text(params), &response);
    if (bar.drawn) fprintf(stderr, "\r\033[K");
    if (rc == EXIT_OK) cli_show_result(opts, response, show);
    iroh_client_close(client);
    return rc;
}

/* ---- blobs --------------------------------------------------------------------------------- */

static void show_added(const struct options *opts, json_object *added)
{
    if (opts->json)
        cli_print_json(added);
    else
        printf("%s\n", cli_field(added, "hash"));
}

/* Reads all of stdin (at most STDIN_MAX bytes) as base64 into *out. */
static int read_stdin(char **out)
{
    size_t len = 0, cap = 65536;
    uint8_t *buf = malloc(cap);
    for (ssize_t n = 1; buf && n > 0;) {
        if (len == cap) {
            uint8_t *grown = cap > STDIN_MAX ? NULL : realloc(buf, cap * 2);
            if (!grown) break;
            buf = grown;
            cap *= 2;
        }
        n = read(STDIN_FILENO, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            n = 1;
        else if (n < 0) {
            perror("iroh blobs add: reading stdin");
            free(buf);
            return EXIT_RPC;
        } else {
            len += (size_t)n;
        }
        if (len > STDIN_MAX) {
            fprintf(stderr,
                    "iroh blobs add: stdin holds more than %u MiB, the most sent inline; "
                    "write it to a file and add that\n",
                    STDIN_MAX >> 20);
            free(buf);
            return EXIT_USAGE;
        }
    }
    size_t text_cap = IROH_BASE64_ENCODED_LEN(len) + 1;
    *out = buf ? malloc(text_cap) : NULL;
    if (*out) iroh_base64_encode(buf, len, *out, text_cap); /* len <= STDIN_MAX: cannot fail */
    free(buf);
    if (*out) return EXIT_OK;
    fprintf(stderr, "iroh blobs add: out of memory\n");
    return EXIT_RPC;
}

static int cmd_blobs_add(const struct options *opts, int argc, char **argv)
{
    const char *path = NULL, *tag = NULL;
    bool reference = false, no_tag = false;
    const struct flag flags[] = {
        {"--reference", NULL, &reference}, {"--tag", &tag, NULL}, {"--no-tag", NULL, &no_tag}};
    static const char *const names[] = {"PATH", NULL};
    int rc = parse_args("blobs add", argc, argv, flags, 3, names, &path);
    if (rc != EXIT_OK) return rc;
    if (tag && no_tag)
        return cli_usage_error("blobs add", "--tag and --no-tag exclude each other", NULL);
    bool from_stdin = strcmp(path, "-") == 0;
    if (from_stdin && reference)
        return cli_usage_error("blobs add", "--reference needs a file, not stdin", NULL);
    char *source = NULL;
    rc = from_stdin ? read_stdin(&source) : (source = absolute(path)) ? EXIT_OK : EXIT_RPC;
    if (rc != EXIT_OK) return rc;
    json_object *params = json_object_new_object();
    json_object_object_add(params, from_stdin ? "data_base64" : "path",
                           json_object_new_string(source));
    free(source);
    if (reference) json_object_object_add(params, "reference", json_object_new_boolean(true));
    if (tag) json_object_object_add(params, "tag", json_object_new_string(tag));
    if (no_tag) json_object_object_add(params, "no_tag", json_object_new_boolean(true));
    rc = call_with_progress(opts, "blobs.add", params, show_added);
    json_object_put(params);
    return rc;
}

static void show_exported(const struct options *opts, json_object *exported)
{
    if (opts->json) {
        cli_print_json(exported);
        return;
    }
    char size[32];
    print_size(size, sizeof size, (double)int_field(exported, "size"));
    if (bool_field(exported, "collection"))
        printf("exported %lld files (%s) to %s\n", (long long)int_field(exported, "files"), size,
               cli_field(exported, "path"));
    else
        printf("exported %s to %s\n", size, cli_field(exported, "path"));
}

static int cmd_blobs_export(const struct options *opts, int argc, char **argv)
{
    const char *pos[2];
    bool overwrite = false;
    const struct flag flags[] = {{"--overwrite", NULL, &overwrite}};
    static const char *const names[] = {"HASH", "PATH", NULL};
    int rc = parse_args("blobs export", argc, argv, flags, 1, names, pos);
    if (rc != EXIT_OK) return rc;
    char *path = absolute(pos[1]);
    if (!path) return EXIT_RPC;
    json_object *params = json_object_new_object();
    json_object_object_add(params, "hash", json_object_new_string(pos[0]));
    json_object_object_add(params, "path", json_object_new_string(path));
    free(path);
    if (overwrite) json_object_object_add(params, "overwrite", json_object_new_boolean(true));
    rc = call_with_progress(opts, "blobs.export", params, show_exported);
    json_object_put(params);
    return rc;
}

static void show_got(const struct options *opts, json_object *got)
{
    if (opts->json) {
        cli_print_json(got);
        return;
    }
    char total[32], fetched[32];
    print_size(total, sizeof total, (double)int_field(got, "total_size"));
    print_size(fetched, sizeof fetched, (double)int_field(got, "downloaded"));
    printf("%s\n", cli_field(got, "hash"));
    fprintf(stderr, "got %lld blob%s, %s (%s fetched, the rest was here)%s%s\n",
            (long long)int_field(got, "blobs"), int_field(got, "blobs") == 1 ? "" : "s", total,
            fetched,
            bool_field(got, "collection") ? ", written under "
            : int_field(got, "files")     ? ", written to "
                                          : "",
            int_field(got, "files") ? cli_field(got, "path") : "");
}

/* Takes every --provider TICKET (or --provider=TICKET) out of argv into providers. */
static int take_providers(int *argc, char **argv, json_object *providers)
{
    int kept = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[kept++] = argv[i++];
            break;
        }
        if (strncmp(argv[i], "--provider=", 11) == 0) {
            json_object_array_add(providers, json_object_new_string(argv[i] + 11));
        } else if (strcmp(argv[i], "--provider") == 0) {
            if (i + 1 == *argc) return cli_usage_error("blobs get", "missing value for ", argv[i]);
            json_object_array_add(providers, json_object_new_string(argv[++i]));
        } else {
            argv[kept++] = argv[i];
        }
    }
    *argc = kept;
    return EXIT_OK;
}

static int cmd_blobs_get(const struct options *opts, int argc, char **argv)
{
    const char *what = NULL, *out = NULL, *range = NULL, *tag = NULL;
    bool hash_seq = false, overwrite = false, no_tag = false;
    json_object *params = json_object_new_object(), *providers = json_object_new_array();
    json_object_object_add(params, "providers", providers);
    int rc = take_providers(&argc, argv, providers);
    const struct flag flags[] = {{"--out", &out, NULL},           {"--range", &range, NULL},
                                 {"--hash-seq", NULL, &hash_seq}, {"--overwrite", NULL, &overwrite},
                                 {"--tag", &tag, NULL},           {"--no-tag", NULL, &no_tag}};
    static const char *const names[] = {"TICKET", NULL};
    if (rc == EXIT_OK) rc = parse_args("blobs get", argc, argv, flags, 6, names, &what);
    bool is_ticket = rc == EXIT_OK && strncmp(what, "blob", 4) == 0;
    if (rc == EXIT_OK && !is_ticket && json_object_array_length(providers) == 0)
        rc = cli_usage_error("blobs get", "a hash needs --provider TICKET", NULL);
    if (rc == EXIT_OK && tag && no_tag)
        rc = cli_usage_error("blobs get", "--tag and --no-tag exclude each other", NULL);
    char *path = rc == EXIT_OK && out ? absolute(out) : NULL;
    if (rc == EXIT_OK && out && !path) rc = EXIT_RPC;
    if (rc != EXIT_OK) {
        json_object_put(params);
        return rc;
    }
    json_object_object_add(params, is_ticket ? "ticket" : "hash", json_object_new_string(what));
    if (hash_seq) json_object_object_add(params, "format", json_object_new_string("hash_seq"));
    if (path) json_object_object_add(params, "out", json_object_new_string(path));
    free(path);
    if (range) json_object_object_add(params, "range", json_object_new_string(range));
    if (overwrite) json_object_object_add(params, "overwrite", json_object_new_boolean(true));
    if (tag) json_object_object_add(params, "tag", json_object_new_string(tag));
    if (no_tag) json_object_object_add(params, "no_tag", json_object_new_boolean(true));
    rc = call_with_progress(opts, "blobs.get", params, show_got);
    json_object_put(params);
    return rc;
}

/* Copies the pipe to stdout; exactly `length` bytes must come before its end. */
static int copy_pipe(int pipe, uint64_t length)
{
    static char buf[CAT_BLOCK];
    uint64_t got = 0;
    for (;;) {
        ssize_t n = read(pipe, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            perror("iroh blobs cat: reading the pipe");
            return EXIT_RPC;
        }
        if (n == 0) break;
        if (!cli_write_all(STDOUT_FILENO, buf, (size_t)n)) {
            perror("iroh blobs cat: writing stdout");
            return EXIT_RPC;
        }
        got += (uint64_t)n;
    }
    if (got == length) return EXIT_OK;
    fprintf(stderr,
            "iroh blobs cat: the blob's stream ended after %llu of %llu bytes (irohd's log says "
            "why: iroh logs)\n",
            (unsigned long long)got, (unsigned long long)length);
    return EXIT_RPC;
}

static int cmd_blobs_cat(const struct options *opts, int argc, char **argv)
{
    const char *hash;
    static const char *const names[] = {"HASH", NULL};
    int rc = parse_args("blobs cat", argc, argv, NULL, 0, names, &hash);
    if (rc != EXIT_OK) return rc;
    json_object *params = json_object_new_object();
    json_object_object_add(params, "hash", json_object_new_string(hash));
    json_object_object_add(params, "fd", json_object_new_boolean(true));
    struct options o = long_call(opts);
    iroh_client *client;
    rc = cli_open_client(&o, &client);
    if (rc != EXIT_OK) {
        json_object_put(params);
        return rc;
    }
    iroh_response *response = NULL;
    rc = cli_call(&o, client, "blobs.read", params_text(params), &response);
    json_object_put(params);
    if (rc != EXIT_OK) {
        iroh_client_close(client);
        return rc;
    }
    json_object *result = json_tokener_parse(iroh_response_result(response));
    int pipe = iroh_response_take_fd(response, (size_t)int_field(result, "fd"));
    uint64_t length = (uint64_t)int_field(result, "length");
    json_object_put(result);
    iroh_response_free(response);
    if (pipe < 0) {
        fprintf(stderr, "iroh blobs cat: irohd answered blobs.read without a pipe\n");
        rc = EXIT_RPC;
    } else {
        rc = copy_pipe(pipe, length);
        close(pipe);
    }
    iroh_client_close(client);
    return rc;
}

static void show_list(const struct options *opts, json_object *list)
{
    if (opts->json) {
        cli_print_json(list);
        return;
    }
    printf("%-64s %15s %-8s %s\n", "HASH", "SIZE", "COMPLETE", "FORMAT");
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *b = json_object_array_get_idx(list, i);
        printf("%-64s %15lld %-8s %s\n", cli_field(b, "hash"), (long long)int_field(b, "size"),
               bool_field(b, "complete") ? "yes" : "no", cli_field(b, "format"));
    }
}

static void show_status(const struct options *opts, json_object *st)
{
    if (opts->json) {
        cli_print_json(st);
        return;
    }
    printf("hash:     %s\n", cli_field(st, "hash"));
    printf("size:     %lld bytes\n", (long long)int_field(st, "size"));
    printf("complete: %s (%lld of %lld chunk groups)\n", bool_field(st, "complete") ? "yes" : "no",
           (long long)int_field(st, "present_groups"), (long long)int_field(st, "total_groups"));
    printf("location: %s\n", cli_field(st, "location"));
    printf("outboard: %s\n", cli_field(st, "outboard"));
}

static void show_blob_deleted(const struct options *opts, json_object *result)
{
    if (opts->json)
        cli_print_json(result);
    else
        printf("%s\n",
               bool_field(result, "deleted") ? "deleted" : "not in the store (nothing deleted)");
}

static void show_gc(const struct options *opts, json_object *gc)
{
    if (opts->json) {
        cli_print_json(gc);
        return;
    }
    char freed[32];
    print_size(freed, sizeof freed, (double)int_field(gc, "freed_bytes"));
    printf("deleted %lld blobs, freed %s\n", (long long)int_field(gc, "deleted"), freed);
}

/* A command whose positionals become the params `keys` (as strings), with no flags. */
static int simple_call(const struct options *opts, const char *command, int argc, char **argv,
                       const char *const *names, const char *const *keys, const char *method,
                       void (*show)(const struct options *opts, json_object *result))
{
    const char *pos[2];
    int rc = parse_args(command, argc, argv, NULL, 0, names, pos);
    if (rc != EXIT_OK) return rc;
    json_object *params = json_object_new_object();
    for (size_t i = 0; names[i]; i++)
        json_object_object_add(params, keys[i], json_object_new_string(pos[i]));
    rc = cli_call_and_show(opts, method, params_text(params), show);
    json_object_put(params);
    return rc;
}

static const char *const NO_ARGS[] = {NULL};
static const char *const HASH_ARG[] = {"HASH", NULL};
static const char *const HASH_KEY[] = {"hash"};
static const char *const NAME_ARG[] = {"NAME", NULL};
static const char *const NAME_KEY[] = {"name"};

static void show_shared(const struct options *opts, json_object *shared)
{
    if (opts->json)
        cli_print_json(shared);
    else
        printf("%s\n", cli_field(shared, "ticket"));
}

static int cmd_blobs_share(const struct options *opts, int argc, char **argv)
{
    const char *pos[1];
    bool collection = false;
    const struct flag flags[] = {{"--collection", NULL, &collection}};
    int rc = parse_args("blobs share", argc, argv, flags, 1, HASH_ARG, pos);
    if (rc != EXIT_OK) return rc;
    json_object *params = json_object_new_object();
    json_object_object_add(params, "hash", json_object_new_string(pos[0]));
    if (collection) json_object_object_add(params, "collection", json_object_new_boolean(true));
    rc = cli_call_and_show(opts, "blobs.share", params_text(params), show_shared);
    json_object_put(params);
    return rc;
}

static int cmd_blobs_ls(const struct options *opts, int argc, char **argv)
{
    return simple_call(opts, "blobs ls", argc, argv, NO_ARGS, NULL, "blobs.list", show_list);
}

static int cmd_blobs_status(const struct options *opts, int argc, char **argv)
{
    return simple_call(opts, "blobs status", argc, argv, HASH_ARG, HASH_KEY, "blobs.status",
                       show_status);
}

static int cmd_blobs_rm(const struct options *opts, int argc, char **argv)
{
    return simple_call(opts, "blobs rm", argc, argv, HASH_ARG, HASH_KEY, "blobs.delete",
                       show_blob_deleted);
}

static int cmd_blobs_gc(const struct options *opts, int argc, char **argv)
{
    struct options o = long_call(opts);
    return simple_call(&o, "blobs gc", argc, argv, NO_ARGS, NULL, "blobs.gc", show_gc);
}

/* ---- tags ---------------------------------------------------------------------------------- */

static void print_tag(json_object *t)
{
    printf("%-64s %-8s %s\n", cli_field(t, "hash"), cli_field(t, "format"), cli_field(t, "name"));
}

static void show_tags(const struct options *opts, json_object *tags)
{
    if (opts->json) {
        cli_print_json(tags);
        return;
    }
    printf("%-64s %-8s %s\n", "HASH", "FORMAT", "NAME");
    for (size_t i = 0; i < json_object_array_length(tags); i++)
        print_tag(json_object_array_get_idx(tags, i));
}

static void show_tag(const struct options *opts, json_object *tag)
{
    if (opts->json)
        cli_print_json(tag);
    else
        print_tag(tag);
}

static void show_tag_deleted(const struct options *opts, json_object *result)
{
    if (opts->json)
        cli_print_json(result);
    else
        printf("%s\n", bool_field(result, "deleted") ? "deleted" : "no such tag (nothing deleted)");
}

static int cmd_tags_ls(const struct options *opts, int argc, char **argv)
{
    return simple_call(opts, "tags ls", argc, argv, NO_ARGS, NULL, "tags.list", show_tags);
}

static int cmd_tags_get(const struct options *opts, int argc, char **argv)
{
    return simple_call(opts, "tags get", argc, argv, NAME_ARG, NAME_KEY, "tags.get", show_tag);
}

static int cmd_tags_rm(const struct options *opts, int argc, char **argv)
{
    return simple_call(opts, "tags rm", argc, argv, NAME_ARG, NAME_KEY, "tags.delete",
                       show_tag_deleted);
}

static int cmd_tags_set(const struct options *opts, int argc, char **argv)
{
    const char *pos[2];
    bool hash_seq = false;
    const struct flag flags[] = {{"--hash-seq", NULL, &hash_seq}};
    static const char *const names[] = {"NAME", "HASH", NULL};
    int rc = parse_args("tags set", argc, argv, flags, 1, names, pos);
    if (rc != EXIT_OK) return rc;
    json_object *params = json_object_new_object();
    json_object_object_add(params, "name", json_object_new_string(pos[0]));
    json_object_object_add(params, "hash", json_object_new_string(pos[1]));
    json_object_object_add(params, "format", json_object_new_string(hash_seq ? "hash_seq" : "raw"));
    rc = cli_call_and_show(opts, "tags.set", params_text(params), show_tag);
    json_object_put(params);
    return rc;
}

/* ---- the tables ------------------------------------------------------------------------------ */

const struct command cli_blobs_commands[] = {
    {"add", "PATH [--reference] [--tag NAME | --no-tag]",
     "Add a file, a directory (as a collection) or stdin; print its hash.",
     "\nAdds PATH to irohd's blob store (blobs.add) and prints the hash, 64 hex digits. A file is\n"
     "copied into the store, or with --reference hashed where it is and referenced (it must\n"
     "not change afterwards; files of at most 16 KiB are always copied). A directory becomes\n"
     "an iroh collection: every regular file under it, named by its relative path and sorted;\n"
     "symlinks are not followed and, like FIFOs and devices, left out. The hash printed is the\n"
     "collection's (tagged as a hash sequence, so the tag protects every file). PATH - reads\n"
     "stdin, at most 8 MiB (it is sent inside the call; for more, add a file).\n"
     "The result is tagged with NAME, or an automatic auto-<time> tag unless --no-tag is\n"
     "given (an untagged blob goes at the next blobs gc). On a terminal, a progress bar\n"
     "(bytes, percent, rate) is drawn on stderr. With --json, prints the result of blobs.add\n"
     "(hash, size, format, tag, location, existed, and files/total_size/skipped for a\n"
     "directory).\n",
     cmd_blobs_add, NULL},
    {"export", "HASH PATH [--overwrite]", "Write a blob to a file, or a collection to a directory.",
     "\nWrites the blob HASH to the file PATH, or, when HASH is a collection, its files under\n"
     "the directory PATH (created if missing). Existing files are not replaced unless\n"
     "--overwrite is given; nothing is written outside PATH, and names that would leave it\n"
     "('..', absolute paths) are refused. On a terminal, a progress bar is drawn on stderr.\n"
     "With --json, prints the result of blobs.export.\n",
     cmd_blobs_export, NULL},
    {"get", "TICKET|HASH [--provider TICKET]... [--out PATH] [--range BYTES] [options]",
     "Download a blob or a collection from other nodes; print its hash.",
     "\nFetches the blob a blob ticket names from its provider (blobs.get), verifying every\n"
     "16 KiB as it arrives, and prints its hash. Instead of a ticket, give a HASH and at least\n"
     "one --provider (an endpoint ticket, or a blob ticket whose address is used); with a\n"
     "ticket, --provider adds providers. Several providers share the work, and when one fails\n"
     "(does not have it, sends data that does not verify, cannot be reached) the others are\n"
     "asked for what is missing. What irohd already holds is not fetched again: running the\n"
     "same command after an interruption resumes it. A ticket of a collection (or --hash-seq)\n"
     "fetches every blob it lists too.\n"
     "  --out PATH       write the blob to the file PATH, or a collection under the directory\n"
     "                   PATH (existing files are kept unless --overwrite)\n"
     "  --range BYTES    only bytes START..END of a blob (END excluded, either may be left\n"
     "                   out: 0..1024, 1048576..); with --out, those bytes are written\n"
     "  --hash-seq       the HASH is a hash sequence: fetch the blobs it lists too\n"
     "  --tag NAME       tag it NAME (default: an automatic auto-<time> tag); --no-tag: none\n"
     "On a terminal, a progress bar (bytes, percent, rate, ETA) is drawn on stderr. With\n"
     "--json, prints the result of blobs.get. Exits with 1 if no provider had it (not_found)\n"
     "or all failed; the error says which provider did what.\n",
     cmd_blobs_get, NULL},
    {"share", "HASH [--collection]", "Print a blob ticket others can fetch the blob with.",
     "\nPrints a blob ticket (blobs.share) naming the blob HASH and this node, with its home\n"
     "relay and direct addresses: 'iroh blobs get TICKET' on another node (or any iroh-blobs\n"
     "getter, such as iroh's own) fetches it from here while irohd runs. The blob must be\n"
     "complete in the store. With --collection, HASH is a hash sequence (the hash 'iroh blobs\n"
     "add DIR' prints) and the ticket fetches every blob it lists too. With --json, prints\n"
     "ticket, hash and format.\n",
     cmd_blobs_share, NULL},
    {"cat", "HASH", "Write a blob's bytes to stdout.",
     "\nStreams the blob through a pipe irohd passes (blobs.read with fd: true) to stdout, in\n"
     "64 KiB blocks whatever its size. Exits with 1 if the stream ends early (a referenced\n"
     "file changed, a partial blob lacks data: irohd's log says which). --json does not\n"
     "change the output.\n",
     cmd_blobs_cat, NULL},
    {"ls", "", "List the blobs in the store.",
     "\nPrints one line per blob, ordered by hash: hash, size in bytes, whether it is\n"
     "complete, and its format (hash_seq when a tag names it so). With --json, prints the\n"
     "array blobs.list returns.\n",
     cmd_blobs_ls, NULL},
    {"status", "HASH", "Show one blob's size, completeness and placement.",
     "\nPrints the result of blobs.status: size, whether the blob is complete (chunk groups\n"
     "present of all), where its data and its hash tree are kept. With --json, as it is.\n",
     cmd_blobs_status, NULL},
    {"rm", "HASH", "Delete a blob now, even if a tag protects it.",
     "\nDeletes the blob (blobs.delete); tags that name it stay. Prints \"deleted\", or that\n"
     "the store did not have it (still exit status 0).\n",
     cmd_blobs_rm, NULL},
    {"gc", "", "Delete every blob no tag protects.",
     "\nRuns a garbage collection (blobs.gc) and prints how many blobs it deleted and the\n"
     "bytes it freed. Referenced files are never deleted.\n",
     cmd_blobs_gc, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

const struct command cli_tags_commands[] = {
    {"ls", "", "List the named tags.",
     "\nPrints one line per tag, ordered by name: the hash, the format and the name. With\n"
     "--json, prints the array tags.list returns.\n",
     cmd_tags_ls, NULL},
    {"get", "NAME", "Show one tag.",
     "\nPrints the tag's hash, format and name (tags.get); exit status 1 if there is none.\n",
     cmd_tags_get, NULL},
    {"set", "NAME HASH [--hash-seq]", "Create or replace a tag.",
     "\nPoints the tag NAME at HASH (tags.set); the blob need not be in the store yet. With\n"
     "--hash-seq the blob is a hash sequence (a collection's root, for one) and the tag also\n"
     "protects every blob it lists.\n",
     cmd_tags_set, NULL},
    {"rm", "NAME", "Delete a tag.",
     "\nDeletes the tag (tags.delete); its blobs stay until blobs gc. Prints \"deleted\", or that\n"
     "there was no such tag (still exit status 0).\n",
     cmd_tags_rm, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
