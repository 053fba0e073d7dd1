/* rpc_server.c — the local API server; see rpc_server.h.
 *
 * Each client is a non-blocking Unix socket watched with uv_poll, so the server can use
 * recvmsg/sendmsg for fd passing (libuv's stream API hides ancillary data). Requests read in
 * one wake-up are all dispatched before their answers are flushed with as few sendmsg calls
 * as possible; answers given later are flushed at once. */
#include "daemon/rpc_server.h"

#include <ctype.h>
#include <errno.h>
#include <iroh/error.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/log.h"
#include "ipc/jsonrpc.h"
#include "ipc/paths.h"
#include "ipc/wire.h"

#define COMPONENT "rpc"
#define READS_PER_WAKEUP 16 /* then other clients get their turn */
#define ACCEPTS_PER_WAKEUP 64

struct handler {
    rpc_handler_fn *fn;
    void *ctx;
};

struct rpc_server {
    uv_loop_t *loop;
    const struct rpc_api *api;
    struct handler *handlers; /* indexed like the API's methods */
    int listen_fd;
    uv_poll_t listen_poll;
    char socket_path[IPC_SOCKET_PATH_MAX + 1];
    size_t max_clients;
    size_t output_limit;
    struct rpc_client *clients;
    size_t nclients;
    uint64_t next_client_id;
    uint64_t next_subscription_id;
    json_tokener *tokener;
    size_t open_handles; /* the listener and every client poll not yet closed */
    void (*stopped)(void *arg);
    void *stopped_arg;
};

struct rpc_client {
    struct rpc_server *server;
    struct rpc_client *prev, *next;
    uv_poll_t poll;
    int fd;
    int poll_events;
    uint64_t id;
    int pid;
    char name[64];
    struct ipc_reader in;
    struct ipc_writer out;
    struct rpc_subscription *subscriptions;
    unsigned refs;    /* one for the connection, one per unanswered call */
    unsigned calls;   /* unanswered calls (refs also counts any holder on the stack) */
    bool dispatching; /* flush once after the whole read is dispatched */
    bool eof;         /* the client half-closed (shutdown(SHUT_WR)): close once all is answered */
    bool closed;
};

struct rpc_batch {
    json_object *responses;
    size_t pending;
    int fds[IPC_MAX_FDS_PER_MESSAGE];
    size_t nfds;
};

struct rpc_call {
    struct rpc_client *client;
    json_object *id; /* NULL is JSON null */
    bool answer;     /* false for a notification: its answer is dropped */
    struct rpc_batch *batch;
};

struct rpc_subscription {
    struct rpc_client *client;
    struct rpc_subscription *next;
    uint64_t id;
    rpc_subscription_end_fn *on_end;
    void *ctx;
};

static void client_close(struct rpc_client *c, const char *why);
static void server_handle_closed(struct rpc_server *s);

/* ---- output ---------------------------------------------------------------------------- */

static void client_set_events(struct rpc_client *c)
{
    /* After a half-close the socket stays readable (EOF); UV_PRIORITIZED never fires on a Unix
     * socket, but watching it still wakes us on a hang-up (epoll always reports EPOLLHUP). */
    int events =
        (c->eof ? UV_PRIORITIZED : UV_READABLE) | (ipc_writer_pending(&c->out) ? UV_WRITABLE : 0);
    if (events == c->poll_events || c->closed) return;
    c->poll_events = events;
    if (events)
        uv_poll_start(&c->poll, events, c->poll.poll_cb);
    else
        uv_poll_stop(&c->poll);
}

static bool client_finished(const struct rpc_client *c)
{
    return c->eof && c->calls == 0 && ipc_writer_pending(&c->out) == 0;
}

static void client_flush(struct rpc_client *c)
{
    if (c->closed) return;
    int rc = ipc_wire_flush(c->fd, &c->out);
    if (rc < 0 && rc != IROH_EAGAIN) {
        client_close(c, rc == IROH_ECLOSED ? "disconnected" : strerror(errno));
        return;
    }
    if (client_finished(c)) {
        client_close(c, "finished");
        return;
    }
    client_set_events(c);
}

/* Queues one message (ownership of msg and fds taken) and flushes unless a read is being
 * dispatched. */
static void client_send(struct rpc_client *c, json_object *msg, const int *fds, size_t nfds)
{
    if (nfds) json_object_object_add(msg, "fds", json_object_new_int((int)nfds));
    size_t len;
    const char *text = jsonrpc_text(msg, &len);
    int rc = ipc_writer_append(&c->out, text, len, fds, nfds);
    json_object_put(msg);
    if (rc == IROH_EBUSY) {
        log_warn(COMPONENT, "%s does not read its answers (over %zu bytes queued); disconnecting",
                 c->name, c->out.limit);
        client_close(c, "output limit");
        return;
    }
    if (rc < 0) {
        client_close(c, iroh_strerror(rc));
        return;
    }
    if (!c->dispatching) client_flush(c);
}

/* ---- calls ----------------------------------------------------------------------------- */

static void client_unref(struct rpc_client *c)
{
    if (--c->refs > 0) return;
    ipc_reader_free(&c->in);
    ipc_writer_free(&c->out);
    free(c);
}

static void close_fds(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

static void batch_add(struct rpc_batch *b, json_object *response, const int *fds, size_t nfds)
{
    if (b->nfds + nfds > IPC_MAX_FDS_PER_MESSAGE) {
        /* One batch answer is one message, and a message carries at most so many fds. */
        close_fds(fds, nfds);
        json_object *id = NULL;
        json_object_object_get_ex(response, "id", &id);
        json_object *error = jsonrpc_error_new(
            id, JSONRPC_BUSY, "a batch answer carries at most 16 file descriptors", NULL);
        json_object_put(response);
        if (error) json_object_array_add(b->responses, error);
        return;
    }
    if (nfds) {
        memcpy(b->fds + b->nfds, fds, nfds * sizeof *fds);
        b->nfds += nfds;
        /* In a batch each element counts its own fds; the receiver takes them in order. */
        json_object_object_add(response, "fds", json_object_new_int((int)nfds));
    }
    json_object_array_add(b->responses, response);
}

static void batch_done(struct rpc_client *c, struct rpc_batch *b)
{
    if (!c->closed && json_object_array_length(b->responses) > 0) {
        size_t len;
        const char *text = jsonrpc_text(b->responses, &len);
        int rc = ipc_writer_append(&c->out, text, len, b->fds, b->nfds);
        if (rc < 0)
            client_close(c, "output limit");
        else if (!c->dispatching)
            client_flush(c);
    } else {
        close_fds(b->fds, b->nfds);
    }
    json_object_put(b->responses);
    free(b);
}

/* Ends a call with response (owned, may be NULL) and its fds (owned). */
static void call_finish(struct rpc_call *call, json_object *response, const int *fds, size_t nfds)
{
    struct rpc_client *c = call->client;
    c->calls--;
    if (!call->answer || c->closed) {
        json_object_put(response);
        close_fds(fds, nfds);
        response = NULL;
    }
    if (call->batch) {
        if (response) batch_add(call->batch, response, fds, nfds);
        if (--call->batch->pending == 0) batch_done(c, call->batch);
    } else if (response) {
        client_send(c, response, fds, nfds);
    }
    json_object_put(call->id);
    free(call);
    if (client_finished(c)) client_close(c, "finished");
    client_unref(c);
}

void rpc_call_reply(struct rpc_call *call, json_object *result, const int *fds, size_t nfds)
{
    json_object *response = call->answer ? jsonrpc_result_new(call->id, result) : NULL;
    if (!call->answer) json_object_put(result);
    call_finish(call, response, fds, nfds);
}

void rpc_call_fail(struct rpc_call *call, int code, const char *message, json_object *data)
{
    json_object *response = call->answer ? jsonrpc_error_new(call->id, code, message, data) : NULL;
    if (!call->answer) json_object_put(data);
    call_finish(call, response, NULL, 0);
}

const char *rpc_param_string(json_object *params, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(params, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

bool rpc_param_bool(json_object *params, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(params, key, &v) && json_object_get_boolean(v);
}

void rpc_add_u64(json_object *o, const char *key, uint64_t v)
{
    json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

struct rpc_client *rpc_call_client(const struct rpc_call *call)
{
    return call->client;
}

const char *rpc_client_name(const struct rpc_client *client)
{
    return client->name;
}

mode_t rpc_client_umask(const struct rpc_client *client)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/status", client->pid);
    FILE *f = fopen(path, "re");
    unsigned mask = RPC_DEFAULT_UMASK;
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = sscanf(line, "Umask: %o", &mask) == 1;
    if (f) fclose(f);
    return found ? (mode_t)(mask & 0777) : RPC_DEFAULT_UMASK;
}

/* ---- dispatch -------------------------------------------------------------------------- */

static void dispatch_one(struct rpc_client *c, json_object *msg, struct rpc_batch *batch)
{
    struct rpc_server *s = c->server;
    struct rpc_call *call = calloc(1, sizeof *call);
    if (!call) {
        client_close(c, "out of memory");
        if (batch) batch->pending--;
        return;
    }
    call->client = c;
    call->batch = batch;
    c->refs++;
    c->calls++;

    const char *why;
    enum jsonrpc_kind kind = jsonrpc_classify(msg, &why);
    json_object *id = NULL; /* json-c's JSON null */
    call->answer = kind != JSONRPC_NOTIFICATION;
    if (kind == JSONRPC_REQUEST) {
        json_object_object_get_ex(msg, "id", &id);
        call->id = json_object_get(id);
    } else if (kind != JSONRPC_NOTIFICATION) {
        /* Invalid: answered with its id when one can be read, else with id null. */
        if (json_object_is_type(msg, json_type_object) &&
            json_object_object_get_ex(msg, "id", &id) &&
            (json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int)))
            call->id = json_object_get(id);
        json_object *data = json_object_new_object();
        json_object_object_add(data, "detail",
                               json_object_new_string(kind == JSONRPC_RESPONSE
                                                          ? "irohd sends no requests to answer"
                                                          : why));
        rpc_call_fail(call, JSONRPC_INVALID_REQUEST, "invalid request", data);
        return;
    }

    json_object *method_obj, *params = NULL;
    json_object_object_get_ex(msg, "method", &method_obj);
    json_object_object_get_ex(msg, "params", &params);
    const char *method = json_object_get_string(method_obj);
    int index = rpc_api_find(s->api, method);
    if (index < 0 || !s->handlers[index].fn) {
        json_object *data = json_object_new_object();
        json_object_object_add(data, "method", json_object_new_string(method));
        char message[160];
        snprintf(message, sizeof message, "no method \"%.100s\" (rpc.discover lists them)", method);
        rpc_call_fail(call, JSONRPC_METHOD_NOT_FOUND, message, data);
        return;
    }
    json_object *named;
    char err[256];
    int rc = rpc_api_check_params(s->api, (size_t)index, params, &named, err, sizeof err);
    if (rc < 0) {
        if (rc == IROH_ENOMEM)
            rpc_call_fail(call, JSONRPC_INTERNAL_ERROR, "out of memory", NULL);
        else
            rpc_call_fail(call, JSONRPC_INVALID_PARAMS, err, NULL);
        return;
    }
    log_msg(LOG_TRACE, COMPONENT, "%s calls %s", c->name, method);
    s->handlers[index].fn(call, named, s->handlers[index].ctx);
    json_object_put(named);
}

/* Fds a message claims: its "fds" member, or for a batch the sum of its elements'. */
static int claimed_fds(json_object *msg)
{
    if (json_object_is_type(msg, json_type_array)) {
        int sum = 0;
        for (size_t i = 0; i < json_object_array_length(msg); i++) {
            int n = claimed_fds(json_object_array_get_idx(msg, i));
            if (n < 0) return n;
            sum += n;
        }
        return sum;
    }
    json_object *count;
    if (!json_object_is_type(msg, json_type_object) ||
        !json_object_object_get_ex(msg, "fds", &count))
        return 0;
    int n = json_object_get_int(count);
    return json_object_is_type(count, json_type_int) && n >= 0 && n <= IPC_MAX_FDS_PER_MESSAGE ? n
                                                                                               : -1;
}

static void send_error(struct rpc_client *c, int code, const char *message, const char *detail)
{
    json_object *data = json_object_new_object();
    json_object_object_add(data, "detail", json_object_new_string(detail));
    json_object *response = jsonrpc_error_new(NULL, code, message, data);
    if (response) client_send(c, response, NULL, 0);
}

static void handle_line(struct rpc_client *c, const char *line, size_t len)
{
    size_t skip = 0;
    while (skip < len && isspace((unsigned char)line[skip]))
        skip++;
    if (skip == len) return; /* blank lines are ignored, for people typing at the socket */

    json_tokener *tok = c->server->tokener;
    json_tokener_reset(tok);
    /* Include the NUL that replaced the newline so a top-level number ends there. */
    json_object *msg = json_tokener_parse_ex(tok, line, (int)len + 1);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = jerr == json_tokener_success ? json_tokener_get_parse_end(tok) : len;
    while (end < len && isspace((unsigned char)line[end]))
        end++;
    if (jerr != json_tokener_success || end < len) {
        json_object_put(msg);
        send_error(c, JSONRPC_PARSE_ERROR, "parse error",
                   jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                                : "more than one JSON value on the line");
        return;
    }

    int nfds = claimed_fds(msg);
    int fds[IPC_MAX_QUEUED_FDS];
    if (nfds < 0 || nfds > IPC_MAX_QUEUED_FDS ||
        ipc_reader_take_fds(&c->in, fds, (size_t)nfds) < 0) {
        json_object_put(msg);
        send_error(c, JSONRPC_INVALID_REQUEST, "invalid request",
                   "\"fds\" claims file descriptors that were not passed");
        client_flush(c);
        client_close(c, "fd mismatch");
        return;
    }
    /* No method takes fds from clients yet: close them so later messages stay aligned. */
    close_fds(fds, (size_t)nfds);

    if (json_object_is_type(msg, json_type_array)) {
        size_t n = json_object_array_length(msg);
        if (n == 0) {
            send_error(c, JSONRPC_INVALID_REQUEST, "invalid request", "empty batch");
        } else {
            struct rpc_batch *batch = calloc(1, sizeof *batch);
            json_object *responses = json_object_new_array();
            if (!batch || !responses) {
                free(batch);
                json_object_put(responses);
                client_close(c, "out of memory");
            } else {
                batch->responses = responses;
                batch->pending = n + 1; /* held until every element is dispatched */
                for (size_t i = 0; i < n && !c->closed; i++)
                    dispatch_one(c, json_object_array_get_idx(msg, i), batch);
                if (--batch->pending == 0) batch_done(c, batch);
            }
        }
    } else {
        dispatch_one(c, msg, NULL);
    }
    json_object_put(msg);
}

/* Whether the peer of fd closed its socket entirely (or died), not only its sending side: on a
 * Unix stream socket only that makes poll() report POLLHUP. */
static bool peer_hung_up(int fd)
{
    struct pollfd p = {.fd = fd};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void client_read(struct rpc_client *c)
{
    for (int i = 0; i < READS_PER_WAKEUP && !c->closed && !c->eof; i++) {
        int rc = ipc_wire_recv(c->fd, &c->in);
        if (rc == IROH_EAGAIN) break;
        if (rc == IROH_ECLOSED) {
            /* A half-close still reads its answers; a client that hung up cannot, and its
             * pending calls must not keep what it holds (ALPNs, connections, imports). */
            if (peer_hung_up(c->fd)) {
                client_close(c, "hung up");
                return;
            }
            c->eof = true; /* answer what was asked, then close */
        } else if (rc < 0) {
            client_close(c, rc == IROH_EPROTO ? "too many fds" : strerror(errno));
            return;
        }
        for (;;) {
            char *line;
            size_t len;
            int got = ipc_reader_next(&c->in, &line, &len);
            if (got == 0) break;
            if (got == IROH_ETOOBIG) {
                char detail[96];
                snprintf(detail, sizeof detail, "a message may have at most %zu bytes",
                         c->in.max_line);
                send_error(c, JSONRPC_TOO_LARGE, "message too large", detail);
                client_flush(c);
                log_warn(COMPONENT, "%s sent a message over %zu bytes; disconnecting", c->name,
                         c->in.max_line);
                client_close(c, "message too large");
                return;
            }
            handle_line(c, line, len);
            if (c->closed) return;
        }
    }
}

static void on_client_event(uv_poll_t *handle, int status, int events)
{
    struct rpc_client *c = handle->data;
    if (status < 0) {
        client_close(c, uv_strerror(status));
        return;
    }
    if (c->eof && peer_hung_up(c->fd)) { /* half-closed, then gone before its answers */
        client_close(c, "hung up");
        return;
    }
    c->refs++; /* c stays valid through this function whatever the handlers do */
    c->dispatching = true;
    if (events & UV_READABLE) client_read(c);
    c->dispatching = false;
    if (!c->closed) client_flush(c);
    client_unref(c);
}

/* ---- connections ----------------------------------------------------------------------- */

static void on_client_poll_closed(uv_handle_t *handle)
{
    struct rpc_client *c = handle->data;
    struct rpc_server *s = c->server;
    close(c->fd);
    client_unref(c);
    server_handle_closed(s);
}

static void client_close(struct rpc_client *c, const char *why)
{
    if (c->closed) return;
    struct rpc_server *s = c->server;
    c->closed = true;
    log_debug(COMPONENT, "%s closed: %s", c->name, why);
    while (c->subscriptions) {
        struct rpc_subscription *sub = c->subscriptions;
        c->subscriptions = sub->next;
        sub->on_end(sub, sub->ctx);
        free(sub);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nclients--;
    uv_close((uv_handle_t *)&c->poll, on_client_poll_closed);
}

/* Answers a connection the server will not serve with one error line, then closes it. */
static void refuse(int fd, int code, const char *message)
{
    json_object *response = jsonrpc_error_new(NULL, code, message, NULL);
    if (response) {
        size_t len;
        const char *text = jsonrpc_text(response, &len);
        char line[512];
        int n = snprintf(line, sizeof line, "%s\n", text);
        if (n > 0 && (size_t)n < sizeof line) /* best effort: the peer may be gone already */
            send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        json_object_put(response);
    }
    close(fd);
}

static void accept_client(struct rpc_server *s, int fd)
{
    unsigned uid;
    int pid;
    if (ipc_wire_peer(fd, &uid, &pid) < 0) {
        close(fd);
        return;
    }
    if (uid != (unsigned)getuid() && uid != 0) {
        char message[128];
        snprintf(message, sizeof message, "permission denied: irohd serves only uid %u and root",
                 (unsigned)getuid());
        log_warn(COMPONENT, "refused a client of uid %u (pid %d)", uid, pid);
        refuse(fd, JSONRPC_PERMISSION_DENIED, message);
        return;
    }
    if (s->nclients >= s->max_clients) {
        log_warn(COMPONENT, "refused pid %d: %zu clients already connected", pid, s->nclients);
        refuse(fd, JSONRPC_BUSY, "too many clients connected to irohd");
        return;
    }
    struct rpc_client *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->server = s;
    c->fd = fd;
    c->id = ++s->next_client_id;
    c->pid = pid;
    c->refs = 1;
    snprintf(c->name, sizeof c->name, "client %llu (pid %d)", (unsigned long long)c->id, pid);
    ipc_reader_init(&c->in, IPC_MAX_LINE);
    ipc_writer_init(&c->out, s->output_limit);
    if (uv_poll_init(s->loop, &c->poll, fd) < 0) {
        close(fd);
        client_unref(c);
        return;
    }
    c->poll.data = c;
    c->poll.poll_cb = on_client_event;
    c->next = s->clients;
    if (s->clients) s->clients->prev = c;
    s->clients = c;
    s->nclients++;
    s->open_handles++;
    client_set_events(c);
    log_debug(COMPONENT, "%s connected", c->name);
}

static void on_listen_event(uv_poll_t *handle, int status, int events)
{
    struct rpc_server *s = handle->data;
    (void)events;
    if (status < 0) {
        log_error(COMPONENT, "listening socket failed: %s", uv_strerror(status));
        return;
    }
    for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                log_warn(COMPONENT, "cannot accept a client: %s", strerror(errno));
            return;
        }
        accept_client(s, fd);
    }
}

/* ---- built-in methods -------------------------------------------------------------------- */

static void handle_discover(struct rpc_call *call, json_object *params, void *ctx)
{
    struct rpc_server *s = ctx;
    (void)params;
    rpc_call_reply(call, json_object_get(rpc_api_document(s->api)), NULL, 0);
}

static void handle_unsubscribe(struct rpc_call *call, json_object *params, void *ctx)
{
    (void)ctx;
    json_object *idobj;
    json_object_object_get_ex(params, "subscription", &idobj);
    uint64_t id = (uint64_t)json_object_get_int64(idobj);
    struct rpc_client *c = call->client;
    for (struct rpc_subscription **p = &c->subscriptions; *p; p = &(*p)->next) {
        if ((*p)->id != id) continue;
        struct rpc_subscription *sub = *p;
        *p = sub->next;
        sub->on_end(sub, sub->ctx);
        free(sub);
        rpc_call_reply(call, json_object_new_boolean(1), NULL, 0);
        return;
    }
    rpc_call_fail(call, JSONRPC_NOT_FOUND, "no such subscription on this connection", NULL);
}

/* ---- subscriptions ------------------------------------------------------------------------ */

struct rpc_subscription *rpc_subscription_new(struct rpc_client *client,
                                              rpc_subscription_end_fn *on_end, void *ctx)
{
    if (client->closed) return NULL; /* the call was answered after its client left */
    struct rpc_subscription *sub = calloc(1, sizeof *sub);
    if (!sub) return NULL;
    sub->client = client;
    sub->id = ++client->server->next_subscription_id;
    sub->on_end = on_end;
    sub->ctx = ctx;
    sub->next = client->subscriptions;
    client->subscriptions = sub;
    return sub;
}

uint64_t rpc_subscription_id(const struct rpc_subscription *sub)
{
    return sub->id;
}

int rpc_subscription_notify(struct rpc_subscription *sub, const char *method, json_object *params)
{
    struct rpc_client *c = sub->client;
    if (ipc_writer_pending(&c->out) > c->out.limit / 2) {
        json_object_put(params);
        return IROH_EBUSY;
    }
    rpc_add_u64(params, "subscription", sub->id);
    json_object *msg = jsonrpc_notification_new(method, params);
    if (!msg) return IROH_ENOMEM;
    client_send(c, msg, NULL, 0);
    return 0;
}

void rpc_subscription_end(struct rpc_subscription *sub)
{
    for (struct rpc_subscription **p = &sub->client->subscriptions; *p; p = &(*p)->next) {
        if (*p == sub) {
            *p = sub->next;
            break;
        }
    }
    free(sub);
}

/* ---- the server ---------------------------------------------------------------------------- */

/* A socket file at path that nobody accepts on is left over from a crash: remove it. */
static int claim_socket_path(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : IROH_EIO;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket; remove it or choose --socket", path);
        return IROH_EEXIST;
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    int live = probe >= 0 && connect(probe, (struct sockaddr *)&addr, sizeof addr) == 0;
    if (probe >= 0) close(probe);
    if (live) {
        snprintf(err, errlen,
                 "another irohd already listens on %s (stop it with 'iroh shutdown' or choose "
                 "another --socket)",
                 path);
        return IROH_EEXIST;
    }
    return unlink(path) < 0 && errno != ENOENT ? IROH_EIO : 0;
}

int rpc_server_start(uv_loop_t *loop, const struct rpc_server_options *options,
                     const struct rpc_api *api, struct rpc_server **out, char *err, size_t errlen)
{
    if (strlen(options->socket_path) > IPC_SOCKET_PATH_MAX) {
        snprintf(err, errlen, "socket path is longer than %d bytes: %s", IPC_SOCKET_PATH_MAX,
                 options->socket_path);
        return IROH_EINVAL;
    }
    int rc = claim_socket_path(options->socket_path, err, errlen);
    if (rc < 0) {
        if (rc == IROH_EIO)
            snprintf(err, errlen, "cannot use %s: %s", options->socket_path, strerror(errno));
        return rc;
    }
    struct rpc_server *s = calloc(1, sizeof *s);
    if (!s) return IROH_ENOMEM;
    s->listen_fd = -1;
    s->handlers = calloc(rpc_api_method_count(api), sizeof *s->handlers);
    s->tokener = json_tokener_new_ex(64);
    if (!s->handlers || !s->tokener) {
        rc = IROH_ENOMEM;
        goto fail;
    }
    s->loop = loop;
    s->api = api;
    s->max_clients = options->max_clients;
    s->output_limit = options->client_output_limit;
    snprintf(s->socket_path, sizeof s->socket_path, "%s", options->socket_path);

    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", s->socket_path);
    mode_t old_umask = umask(0177); /* the socket is created 0600 */
    int bound = s->listen_fd >= 0 && bind(s->listen_fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    umask(old_umask);
    if (!bound || listen(s->listen_fd, 512) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", s->socket_path, strerror(errno));
        rc = IROH_EIO;
        goto fail;
    }
    uv_poll_init(loop, &s->listen_poll, s->listen_fd);
    s->listen_poll.data = s;
    uv_poll_start(&s->listen_poll, UV_READABLE, on_listen_event);
    s->open_handles = 1;

    rpc_server_register(s, "rpc.discover", handle_discover, s);
    rpc_server_register(s, "rpc.unsubscribe", handle_unsubscribe, s);
    *out = s;
    return 0;
fail:
    if (s->listen_fd >= 0) close(s->listen_fd);
    if (s->tokener) json_tokener_free(s->tokener);
    free(s->handlers);
    free(s);
    return rc;
}

int rpc_server_register(struct rpc_server *s, const char *name, rpc_handler_fn *fn, void *ctx)
{
    int index = rpc_api_find(s->api, name);
    if (index < 0) return IROH_ENOTFOUND;
    s->handlers[index] = (struct handler){fn, ctx};
    return 0;
}

int rpc_server_check_complete(const struct rpc_server *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < rpc_api_method_count(s->api); i++) {
        if (!s->handlers[i].fn) {
            snprintf(err, errlen, "method %s is described but has no handler",
                     rpc_api_method_name(s->api, i));
            return IROH_ENOTFOUND;
        }
    }
    return 0;
}

size_t rpc_server_client_count(const struct rpc_server *s)
{
    return s->nclients;
}

static void server_handle_closed(struct rpc_server *s)
{
    if (--s->open_handles > 0 || !s->stopped) return;
    void (*stopped)(void *) = s->stopped;
    void *arg = s->stopped_arg;
    json_tokener_free(s->tokener);
    free(s->handlers);
    free(s);
    stopped(arg);
}

static void on_listen_closed(uv_handle_t *handle)
{
    struct rpc_server *s = handle->data;
    close(s->listen_fd);
    server_handle_closed(s);
}

void rpc_server_stop(struct rpc_server *s, void (*done)(void *arg), void *arg)
{
    s->stopped = done;
    s->stopped_arg = arg;
    unlink(s->socket_path);
    while (s->clients) {
        struct rpc_client *c = s->clients;
        ipc_wire_flush(c->fd, &c->out); /* what the socket does not take now is lost */
        client_close(c, "irohd is stopping");
    }
    uv_close((uv_handle_t *)&s->listen_poll, on_listen_closed);
}
