/* client.c — libiroh-client: one connection to irohd's local JSON-RPC API (request ids, the
 * calls waiting for a response, dispatch of responses, notifications and passed fds).
 * Implements include/iroh/client.h; apps reach it through that header only. */
#include <iroh/client.h>

#include "ipc/frame.h"
#include "ipc/jsonrpc.h"
#include "ipc/paths.h"
#include "ipc/wire.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Queued request bytes beyond this make a call fail with IROH_EBUSY (the daemon stopped
 * reading). */
#define WRITE_LIMIT (4 * (size_t)IPC_MAX_LINE)
/* Reads per iroh_client_process, so a chatty daemon cannot starve the app's loop. */
#define READS_PER_PUMP 16
#define JSON_MAX_DEPTH 64
#define TEXT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct iroh_response {
    json_object *msg;   /* the whole message; the texts below point into it */
    const char *result; /* NULL for an error */
    int code;
    const char *message, *data;
    int fds[IPC_MAX_FDS_PER_MESSAGE]; /* -1 once taken */
    size_t nfds;
};

/* Where a blocking call's response goes. */
struct waiter {
    bool done;
    int status;
    iroh_response *response; /* owned by the waiting call */
};

/* A request sent or queued whose response has not arrived. With neither cb nor waiter its
 * response is dropped (a blocking call that timed out, or an async call without callback). */
struct call {
    int64_t id;
    iroh_response_cb *cb;
    void *userdata;
    struct waiter *waiter;
    struct call *prev, *next;
};

struct iroh_client {
    int fd;
    int status;           /* 0 while usable, else why the connection finished */
    unsigned depth;       /* API functions on the stack that may run callbacks */
    bool close_requested; /* iroh_client_close ran inside a callback: free when depth is 0 */
    int64_t next_id;
    struct ipc_reader in;
    struct ipc_writer out;
    struct call calls; /* sentinel of the pending calls, oldest first */
    iroh_notification_cb *on_notification;
    void *notification_userdata;
};

/* ---- JSON ---------------------------------------------------------------------------- */

/* Parses exactly one JSON value, with nothing but whitespace around it, in text[0..len).
 * Returns 0, IROH_EINVAL or IROH_ENOMEM. */
static int parse_json(const char *text, size_t len, json_object **out)
{
    if (len > (size_t)INT32_MAX) return IROH_EINVAL;
    json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    if (!tok) return IROH_ENOMEM;
    json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    size_t end = json_tokener_get_parse_end(tok);
    while (end < len && strchr(" \t\r\n", text[end]) && text[end] != '\0')
        end++;
    bool whole = json_tokener_get_error(tok) == json_tokener_success && end == len;
    json_tokener_free(tok);
    if (!whole) {
        json_object_put(obj);
        return IROH_EINVAL;
    }
    *out = obj;
    return 0;
}

/* The compact text of a value ("null" for JSON null); valid while the value lives. */
static const char *text_of(json_object *value)
{
    return json_object_to_json_string_ext(value, TEXT_FLAGS);
}

/* ---- responses ----------------------------------------------------------------------- */

static void close_fds(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0) close(fds[i]);
}

/* Makes a response of a message classified as JSONRPC_RESPONSE; takes ownership of msg and
 * fds in every case. Returns 0, IROH_EPROTO (a malformed error object) or IROH_ENOMEM. */
static int response_new(json_object *msg, const int *fds, size_t nfds, iroh_response **out)
{
    iroh_response *r = calloc(1, sizeof *r);
    if (!r) {
        json_object_put(msg);
        close_fds(fds, nfds);
        return IROH_ENOMEM;
    }
    r->msg = msg;
    memcpy(r->fds, fds, nfds * sizeof *fds);
    r->nfds = nfds;

    json_object *result, *error, *code, *message, *data;
    if (json_object_object_get_ex(msg, "result", &result)) {
        r->result = text_of(result);
        *out = r;
        return 0;
    }
    json_object_object_get_ex(msg, "error", &error);
    if (!json_object_object_get_ex(error, "code", &code) ||
        !json_object_is_type(code, json_type_int) ||
        !json_object_object_get_ex(error, "message", &message) ||
        !json_object_is_type(message, json_type_string)) {
        iroh_response_free(r);
        return IROH_EPROTO;
    }
    int64_t value = json_object_get_int64(code);
    if (value == 0 || value < INT32_MIN || value > INT32_MAX) {
        iroh_response_free(r);
        return IROH_EPROTO;
    }
    r->code = (int)value;
    r->message = json_object_get_string(message);
    if (json_object_object_get_ex(error, "data", &data)) r->data = text_of(data);
    *out = r;
    return 0;
}

int iroh_response_error_code(const iroh_response *response)
{
    return response && !response->result ? response->code : 0;
}

const char *iroh_response_error_message(const iroh_response *response)
{
    return response && !response->result ? response->message : NULL;
}

const char *iroh_response_error_data(const iroh_response *response)
{
    return response && !response->result ? response->data : NULL;
}

const char *iroh_response_result(const iroh_response *response)
{
    return response ? response->result : NULL;
}

size_t iroh_response_fd_count(const iroh_response *response)
{
    return response ? response->nfds : 0;
}

int iroh_response_take_fd(iroh_response *response, size_t index)
{
    if (!response || index >= response->nfds) return -1;
    int fd = response->fds[index];
    response->fds[index] = -1;
    return fd;
}

void iroh_response_free(iroh_response *response)
{
    if (!response) return;
    close_fds(response->fds, response->nfds);
    json_object_put(response->msg);
    free(response);
}

/* ---- pending calls ------------------------------------------------------------------- */

static struct call *find_call(iroh_client *c, int64_t id)
{
    for (struct call *call = c->calls.next; call != &c->calls; call = call->next)
        if (call->id == id) return call;
    return NULL;
}

static void unlink_call(struct call *call)
{
    call->prev->next = call->next;
    call->next->prev = call->prev;
}

/* Hands a finished call its outcome and frees it; takes ownership of response. */
static void complete(iroh_client *c, struct call *call, int status, iroh_response *response)
{
    if (call->waiter) {
        call->waiter->done = true;
        call->waiter->status = status;
        call->waiter->response = response;
        response = NULL;
    } else if (call->cb) {
        call->cb(c, status, response, call->userdata);
    }
    iroh_response_free(response);
    free(call);
}

/* Finishes the connection with status (the first reason sticks) and completes every pending
 * call with it. Returns the connection's status. */
static int fail(iroh_client *c, int status)
{
    if (c->status == 0) c->status = status;
    while (c->calls.next != &c->calls) {
        struct call *call = c->calls.next;
        unlink_call(call);
        complete(c, call, c->status, NULL);
    }
    return c->status;
}

/* Queues a request. Exactly one of cb and waiter may be set (or neither). */
static int queue_call(iroh_client *c, const char *method, const char *params_json,
                      iroh_response_cb *cb, void *userdata, struct waiter *waiter, int64_t *id)
{
    if (!c || !method) return IROH_EINVAL;
    if (c->status < 0) return c->status;
    json_object *params = NULL;
    if (params_json) {
        int rc = parse_json(params_json, strlen(params_json), &params);
        if (rc < 0) return rc;
        if (!json_object_is_type(params, json_type_object) &&
            !json_object_is_type(params, json_type_array)) {
            json_object_put(params);
            return IROH_EINVAL;
        }
    }
    struct call *call = calloc(1, sizeof *call);
    json_object *request = jsonrpc_request_new(c->next_id, method, params);
    int rc = call && request ? 0 : IROH_ENOMEM;
    if (rc == 0) {
        size_t len;
        const char *text = jsonrpc_text(request, &len);
        rc = len > IPC_MAX_LINE ? IROH_ETOOBIG : ipc_writer_append(&c->out, text, len, NULL, 0);
    }
    json_object_put(request);
    if (rc < 0) {
        free(call);
        return rc;
    }
    *call = (struct call){c->next_id++, cb, userdata, waiter, c->calls.prev, &c->calls};
    call->prev->next = call;
    c->calls.prev = call;
    if (id) *id = call->id;
    return 0;
}

/* ---- incoming messages --------------------------------------------------------------- */

/* Moves the fds a message claims with its "fds" member from the reader into fds. */
static int claim_fds(iroh_client *c, json_object *msg, int *fds, size_t *nfds)
{
    json_object *count;
    *nfds = 0;
    if (!json_object_object_get_ex(msg, "fds", &count)) return 0;
    if (!json_object_is_type(count, json_type_int)) return IROH_EPROTO;
    int64_t n = json_object_get_int64(count);
    if (n < 0 || n > IPC_MAX_FDS_PER_MESSAGE) return IROH_EPROTO;
    int rc = ipc_reader_take_fds(&c->in, fds, (size_t)n);
    if (rc == 0) *nfds = (size_t)n;
    return rc;
}

/* What an error with id null means: the daemon's one-line refusal before it hangs up. */
static int refusal_status(json_object *msg)
{
    json_object *error, *code;
    if (!json_object_object_get_ex(msg, "error", &error) ||
        !json_object_object_get_ex(error, "code", &code) ||
        !json_object_is_type(code, json_type_int))
        return IROH_EPROTO;
    switch (json_object_get_int(code)) {
    case JSONRPC_PERMISSION_DENIED: return IROH_EPERM; /* not the daemon's user nor root */
    case JSONRPC_BUSY: return IROH_EBUSY;              /* too many clients */
    default: return IROH_EPROTO;
    }
}

/* Takes ownership of msg and fds. */
static int handle_response(iroh_client *c, json_object *msg, const int *fds, size_t nfds)
{
    json_object *id;
    json_object_object_get_ex(msg, "id", &id);
    struct call *call =
        json_object_is_type(id, json_type_int) ? find_call(c, json_object_get_int64(id)) : NULL;
    if (!call) {
        int rc = json_object_is_type(id, json_type_null) ? refusal_status(msg) : IROH_EPROTO;
        json_object_put(msg);
        close_fds(fds, nfds);
        return rc;
    }
    unlink_call(call);
    iroh_response *response = NULL;
    int rc = response_new(msg, fds, nfds, &response);
    complete(c, call, rc, response);
    return rc;
}

static void handle_notification(iroh_client *c, json_object *msg)
{
    json_object *method, *params = NULL;
    json_object_object_get_ex(msg, "method", &method);
    json_object_object_get_ex(msg, "params", &params);
    if (c->on_notification)
        c->on_notification(c, json_object_get_string(method), text_of(params),
                           c->notification_userdata);
}

static int handle_message(iroh_client *c, const char *line, size_t len)
{
    json_object *msg;
    if (parse_json(line, len, &msg) < 0) return IROH_EPROTO;
    int fds[IPC_MAX_FDS_PER_MESSAGE];
    size_t nfds;
    int rc = claim_fds(c, msg, fds, &nfds);
    if (rc < 0) {
        json_object_put(msg);
        return rc;
    }
    switch (jsonrpc_classify(msg, NULL)) {
    case JSONRPC_RESPONSE: return handle_response(c, msg, fds, nfds);
    case JSONRPC_NOTIFICATION:
        close_fds(fds, nfds); /* the notification API has no place for fds */
        handle_notification(c, msg);
        break;
    default: /* the daemon sends no requests, and nothing invalid */
        close_fds(fds, nfds);
        rc = IROH_EPROTO;
        break;
    }
    json_object_put(msg);
    return rc;
}

static bool finished(const iroh_client *c)
{
    return c->status < 0 || c->close_requested;
}

/* Dispatches every complete message buffered. */
static int dispatch_buffered(iroh_client *c)
{
    while (!finished(c)) {
        char *line;
        size_t len;
        int rc = ipc_reader_next(&c->in, &line, &len);
        if (rc == 0) break;
        if (rc < 0) return rc == IROH_ETOOBIG ? IROH_EPROTO : rc;
        rc = handle_message(c, line, len);
        if (rc < 0) return rc;
    }
    return 0;
}

/* Reads what has arrived and dispatches it. Returns the connection's status. */
static int receive(iroh_client *c)
{
    for (int i = 0; i < READS_PER_PUMP && !finished(c); i++) {
        int rc = ipc_wire_recv(c->fd, &c->in);
        if (rc == IROH_EAGAIN) break;
        if (rc >= 0) rc = dispatch_buffered(c);
        if (rc < 0) return fail(c, rc);
    }
    return c->status;
}

/* All the non-blocking work the socket allows now. Returns the connection's status. */
static int pump(iroh_client *c)
{
    if (finished(c)) return c->status;
    receive(c);
    if (finished(c)) return c->status;
    int rc = ipc_wire_flush(c->fd, &c->out);
    if (rc == 0 || rc == IROH_EAGAIN) return c->status;
    receive(c); /* a peer that hung up may have said why first */
    return fail(c, rc);
}

/* ---- the connection ------------------------------------------------------------------ */

static void destroy(iroh_client *c)
{
    ipc_reader_free(&c->in);
    ipc_writer_free(&c->out);
    close(c->fd);
    free(c);
}

/* Every API function that may run callbacks brackets its work with enter/leave, so a callback
 * may close the connection: it is freed when the outermost function returns. */
static void enter(iroh_client *c)
{
    c->depth++;
}

static void leave(iroh_client *c)
{
    if (--c->depth == 0 && c->close_requested) destroy(c);
}

static int connect_error(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ECONNREFUSED: return IROH_ENOTRUNNING;
    case EACCES:
    case EPERM: return IROH_EPERM;
    case EAGAIN: return IROH_EBUSY; /* the daemon's listen backlog is full */
    default: return IROH_EIO;
    }
}

int iroh_client_default_socket(char *buf, size_t len)
{
    if (!buf) return IROH_EINVAL;
    return ipc_default_socket_path(buf, len);
}

int iroh_client_connect(const char *socket_path, iroh_client **out)
{
    if (!out) return IROH_EINVAL;
    *out = NULL;
    char fallback[IPC_SOCKET_PATH_MAX + 1];
    if (!socket_path) {
        int rc = ipc_default_socket_path(fallback, sizeof fallback);
        if (rc < 0) return rc;
        socket_path = fallback;
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(socket_path);
    if (len == 0 || len >= sizeof addr.sun_path) return IROH_EINVAL;
    memcpy(addr.sun_path, socket_path, len + 1);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return IROH_EIO;
    int rc = 0;
    unsigned uid;
    int pid;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        rc = connect_error(errno);
    else if (ipc_wire_peer(fd, &uid, &pid) < 0)
        rc = IROH_EIO;
    else if (uid != geteuid() && geteuid() != 0)
        rc = IROH_EPERM; /* the API serves only the daemon's own user and root */
    iroh_client *c = rc == 0 ? calloc(1, sizeof *c) : NULL;
    if (rc == 0 && !c) rc = IROH_ENOMEM;
    if (rc < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return rc;
    }
    c->fd = fd;
    c->next_id = 1;
    ipc_reader_init(&c->in, IPC_MAX_LINE);
    ipc_writer_init(&c->out, WRITE_LIMIT);
    c->calls.prev = c->calls.next = &c->calls;
    *out = c;
    return 0;
}

void iroh_client_close(iroh_client *client)
{
    if (!client) return;
    enter(client);
    client->close_requested = true;
    fail(client, IROH_ECLOSED);
    leave(client);
}

void iroh_client_on_notification(iroh_client *client, iroh_notification_cb *cb, void *userdata)
{
    if (!client) return;
    client->on_notification = cb;
    client->notification_userdata = userdata;
}

int iroh_client_fd(const iroh_client *client)
{
    return client ? client->fd : -1;
}

int iroh_client_wants_write(const iroh_client *client)
{
    return client && client->status == 0 && ipc_writer_pending(&client->out) > 0;
}

int iroh_client_process(iroh_client *client)
{
    if (!client) return IROH_EINVAL;
    enter(client);
    int rc = pump(client);
    leave(client);
    return rc;
}

int iroh_client_call_async(iroh_client *client, const char *method, const char *params_json,
                           iroh_response_cb *cb, void *userdata, int64_t *request_id)
{
    return queue_call(client, method, params_json, cb, userdata, NULL, request_id);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ms(void)
{
    return now_ns() / 1000000;
}

/* Waits until the socket is ready or wait_ms pass (< 0: forever). Returns the connection's
 * status. irohd usually answers within microseconds, and waking a sleeping CPU costs more
 * than that on small VMs, so it first spins (yielding the CPU to anything runnable) for up to
 * SPIN_NS before sleeping in poll(). */
#define SPIN_NS 50000
static int wait_ready(iroh_client *c, int wait_ms)
{
    struct pollfd p = {c->fd, POLLIN, 0};
    if (ipc_writer_pending(&c->out) > 0) p.events |= POLLOUT;
    int64_t spin_end = now_ns() + SPIN_NS;
    int n;
    while ((n = poll(&p, 1, 0)) == 0 && now_ns() < spin_end)
        sched_yield();
    if (n == 0) n = poll(&p, 1, wait_ms);
    if (n < 0 && errno != EINTR) return fail(c, IROH_EIO);
    return c->status;
}

int iroh_client_call(iroh_client *client, const char *method, const char *params_json,
                     int timeout_ms, iroh_response **out)
{
    if (!out) return IROH_EINVAL;
    *out = NULL;
    struct waiter waiter = {0};
    int64_t id;
    int rc = queue_call(client, method, params_json, NULL, NULL, &waiter, &id);
    if (rc < 0) return rc;

    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    enter(client);
    for (;;) {
        pump(client);
        if (waiter.done) break;
        int64_t left = deadline < 0 ? -1 : deadline - now_ms();
        if (deadline >= 0 && left <= 0) {
            struct call *call = find_call(client, id);
            call->waiter = NULL; /* its response, if it ever comes, is dropped */
            leave(client);
            return IROH_ETIMEDOUT;
        }
        wait_ready(client, left > INT32_MAX ? INT32_MAX : (int)left);
    }
    leave(client);
    *out = waiter.response;
    return waiter.status;
}

const char *iroh_client_version(void)
{
    return IROHD_VERSION;
}
