/* iroh/client.h — libiroh-client: the thin C client of irohd's local JSON-RPC API.
 *
 * An app connects to irohd's Unix socket, calls methods (see docs/api.md or rpc.discover) and
 * receives notifications and passed file descriptors. Params and results cross this API as
 * JSON text, so the ABI stays stable and independent of any JSON library.
 *
 * Two ways to use one connection:
 *  - blocking: iroh_client_call() sends a request and waits up to a timeout for its response;
 *    notifications that arrive meanwhile go to the notification callback.
 *  - event-loop: iroh_client_call_async() queues a request; the app watches iroh_client_fd()
 *    for readability (and writability while iroh_client_wants_write() is true) in its own loop
 *    and calls iroh_client_process() when it is ready; responses go to per-call callbacks.
 * Both may be mixed on one connection.
 *
 * Thread safety: a connection is not thread-safe; use it from one thread at a time (one
 * connection per thread, or a lock of the app's). Distinct connections are independent.
 *
 * Errors follow iroh/error.h: negative IROH_E* codes, iroh_strerror() for words. Ownership:
 * strings passed in are borrowed; an iroh_response is owned by whoever receives it from
 * iroh_client_call (free it with iroh_response_free) and borrowed inside callbacks; passed
 * fds are owned by the app once it takes them with iroh_response_take_fd. */
#ifndef IROH_CLIENT_H
#define IROH_CLIENT_H

#include <iroh/error.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iroh_client iroh_client;
typedef struct iroh_response iroh_response;

/* The socket path clients use when none is given: $IROHD_SOCKET, else
 * $XDG_RUNTIME_DIR/irohd/irohd.sock, else /tmp/irohd-<uid>/irohd.sock. Writes it into buf and
 * returns 0, or IROH_EBUFFER if it does not fit. */
int iroh_client_default_socket(char *buf, size_t len);

/* Connects to irohd at socket_path (NULL: the default above). Returns 0 and a connection in
 * *out, IROH_ENOTRUNNING when nothing listens there, IROH_EPERM when irohd refuses this user,
 * or IROH_EIO. Close it with iroh_client_close. */
int iroh_client_connect(const char *socket_path, iroh_client **out);

/* Closes the connection. Pending async calls get their callback with IROH_ECLOSED first. */
void iroh_client_close(iroh_client *client);

/* Calls method with params_json (a JSON object or array as text, or NULL for none) and waits
 * at most timeout_ms (< 0: forever). Returns 0 with the response in *out — which may be a
 * JSON-RPC error; see iroh_response_error_code — or IROH_ETIMEDOUT, IROH_ECLOSED, IROH_EINVAL
 * (params are not JSON), IROH_EIO. */
int iroh_client_call(iroh_client *client, const char *method, const char *params_json,
                     int timeout_ms, iroh_response **out);

/* Called with the response of an async call (NULL response and a negative status when the
 * connection failed first). The response is borrowed: valid during the callback only, except
 * fds taken from it. */
typedef void iroh_response_cb(iroh_client *client, int status, iroh_response *response,
                              void *userdata);

/* Queues a call. Returns 0 (and the request id in *request_id if not NULL) or an error code.
 * The callback runs from iroh_client_process, iroh_client_call or iroh_client_close. */
int iroh_client_call_async(iroh_client *client, const char *method, const char *params_json,
                           iroh_response_cb *cb, void *userdata, int64_t *request_id);

/* Called for each notification the daemon sends (e.g. subscription events). params_json is
 * borrowed for the duration of the callback. */
typedef void iroh_notification_cb(iroh_client *client, const char *method,
                                  const char *params_json, void *userdata);
void iroh_client_on_notification(iroh_client *client, iroh_notification_cb *cb, void *userdata);

/* The socket to watch in an event loop. */
int iroh_client_fd(const iroh_client *client);
/* Nonzero while queued bytes wait for the socket to become writable. */
int iroh_client_wants_write(const iroh_client *client);
/* Does all the non-blocking work the socket allows: sends queued bytes, reads and dispatches
 * responses and notifications. Returns 0, or IROH_ECLOSED / IROH_EPROTO / IROH_EIO when the
 * connection is finished (every pending callback has then been called). */
int iroh_client_process(iroh_client *client);

/* Response accessors. */
/* 0 for a result; otherwise the JSON-RPC error code. */
int iroh_response_error_code(const iroh_response *response);
/* The error message, or NULL for a result. */
const char *iroh_response_error_message(const iroh_response *response);
/* The error's data as JSON text, or NULL. */
const char *iroh_response_error_data(const iroh_response *response);
/* The result as JSON text, or NULL for an error. */
const char *iroh_response_result(const iroh_response *response);
/* Passed file descriptors: their number, and taking one (the app then owns and closes it;
 * -1 if out of range or already taken). Fds not taken are closed with the response. */
size_t iroh_response_fd_count(const iroh_response *response);
int iroh_response_take_fd(iroh_response *response, size_t index);
void iroh_response_free(iroh_response *response);

/* ---- Endpoint: connections and streams shared through irohd (docs/api.md: endpoint.listen,
 * endpoint.connect, conn.*) ----------------------------------------------------------------------
 * Thin blocking wrappers over iroh_client_call. They return 0 or a negative code: IROH_ENOTFOUND
 * (no such connection or ALPN; no usable address), IROH_EEXIST (the ALPN has an owner),
 * IROH_ETIMEDOUT (the peer did not answer), IROH_EPERM (the node that answered has another
 * id), IROH_EPROTO (the peer does not speak the ALPN), IROH_EBUSY, IROH_ECLOSED (the connection
 * closed), IROH_EIO, IROH_ERPC (another daemon error). iroh_last_error() then has the daemon's
 * words. Connections and ALPNs belong to the iroh_client connection they were made on, and
 * end when it closes. A stream is a socket fd the app owns: write to send, shutdown(SHUT_WR) to
 * finish, read until EOF for the peer's bytes. */

/* The words of the last failure of a function below on this thread ("" if none). */
const char *iroh_last_error(void);

/* This node's endpoint ticket into buf. */
int iroh_endpoint_ticket(iroh_client *client, char *buf, size_t len);

/* Accepts connections for alpn on this iroh_client connection; they arrive as
 * "endpoint.incoming" notifications (see iroh_incoming_parse). *subscription may be NULL. */
int iroh_endpoint_listen(iroh_client *client, const char *alpn, uint64_t *subscription);
int iroh_endpoint_unlisten(iroh_client *client, const char *alpn);

/* An incoming connection, parsed from a notification by iroh_incoming_parse. */
typedef struct iroh_incoming {
    uint64_t conn;
    char remote[65]; /* the peer's endpoint id, hex */
    char alpn[32];
} iroh_incoming;

/* Returns 0 and fills *out when method/params_json (as given to an iroh_notification_cb) is an
 * endpoint.incoming notification, else IROH_EINVAL. */
int iroh_incoming_parse(const char *method, const char *params_json, iroh_incoming *out);

/* Dials the node of an endpoint ticket offering alpn, waiting at most timeout_ms (<= 0: 10 s).
 * Returns 0 and the connection id in *conn (a live connection of this client to the same node
 * and ALPN is reused). */
int iroh_endpoint_connect(iroh_client *client, const char *ticket, const char *alpn,
                          int timeout_ms, uint64_t *conn);
/* The same by endpoint id and direct addresses ("IP:PORT", n of them). */
int iroh_endpoint_connect_addrs(iroh_client *client, const char *id, const char *const *addrs,
                                size_t n, const char *alpn, int timeout_ms, uint64_t *conn);

/* Opens a bidirectional stream; *fd is the app's socket for it. */
int iroh_conn_open_bi(iroh_client *client, uint64_t conn, int *fd);
/* Waits at most timeout_ms (< 0: forever) for the peer to open a bidirectional stream. */
int iroh_conn_accept_bi(iroh_client *client, uint64_t conn, int timeout_ms, int *fd);

/* The same for unidirectional streams: one the app opens is only written (reading it gives
 * EOF), one the peer opened is only read. */
int iroh_conn_open_uni(iroh_client *client, uint64_t conn, int *fd);
int iroh_conn_accept_uni(iroh_client *client, uint64_t conn, int timeout_ms, int *fd);

/* The same with the QUIC stream id in *stream (may be NULL), which names the stream for
 * iroh_conn_reset_stream, iroh_conn_stop_stream and conn.stream_reset notifications; uni
 * nonzero for a unidirectional stream. */
int iroh_conn_open_stream(iroh_client *client, uint64_t conn, int uni, int *fd, uint64_t *stream);
int iroh_conn_accept_stream(iroh_client *client, uint64_t conn, int uni, int timeout_ms, int *fd,
                            uint64_t *stream);

/* Abandons the app's sending direction of a stream with code (RESET_STREAM): unsent bytes are
 * dropped, writes fail. */
int iroh_conn_reset_stream(iroh_client *client, uint64_t conn, uint64_t stream, uint64_t code);
/* Asks the peer to stop sending on a stream with code (STOP_SENDING). */
int iroh_conn_stop_stream(iroh_client *client, uint64_t conn, uint64_t stream, uint64_t code);

/* The peer abandoned a direction of a stream, parsed from a "conn.stream_reset" notification. */
typedef struct iroh_stream_reset {
    uint64_t conn, stream, code;
    int send; /* 1: the peer stopped the app's direction (STOP_SENDING); 0: it reset its own */
} iroh_stream_reset;
/* Returns 0 and fills *out when method/params_json is a conn.stream_reset notification, else
 * IROH_EINVAL. */
int iroh_stream_reset_parse(const char *method, const char *params_json, iroh_stream_reset *out);

/* Called with a stream fd (owned by the app) and status 0, or -1 and a negative status when
 * the connection closed or the call failed. */
typedef void iroh_stream_cb(iroh_client *client, int status, uint64_t conn, int fd,
                            void *userdata);
/* conn.accept_bi as an async call (see iroh_client_call_async). */
int iroh_conn_accept_bi_async(iroh_client *client, uint64_t conn, iroh_stream_cb *cb,
                              void *userdata);

/* The connection's datagrams (RFC 9221, unreliable) as a SOCK_SEQPACKET socket *fd: every
 * message sent on it is one datagram to the peer, every message read one datagram of the peer
 * (0: the connection is gone). Messages over *max_size (the largest datagram the connection
 * can send now; may be NULL) are dropped, as are the peer's when the app does not read. */
int iroh_conn_datagrams(iroh_client *client, uint64_t conn, int *fd, size_t *max_size);
/* Sends data[0..len) as one datagram. IROH_ETOOBIG when it is over the connection's limit. */
int iroh_conn_send_datagram(iroh_client *client, uint64_t conn, const void *data, size_t len);

/* Closes a connection with an application code and reason (may be NULL). */
int iroh_conn_close(iroh_client *client, uint64_t conn, uint64_t code, const char *reason);

/* The library's version string, e.g. "0.1.0". */
const char *iroh_client_version(void);

#ifdef __cplusplus
}
#endif
#endif
