/* iroh/error.h — the one error convention of irohd, its cores, the client library and tools.
 *
 * Every fallible function returns an int: 0 (IROH_OK) or more on success, a negative IROH_E*
 * code on failure. Functions never print; the edge (RPC reply, CLI message, log line) turns a
 * code into words with iroh_strerror(). Where a system call failed, the code is IROH_EIO and
 * errno is left as the call set it.
 *
 * Ownership convention (stated once, followed everywhere): a pointer argument is borrowed for
 * the duration of the call unless the function's comment says "takes ownership"; an out
 * pointer to an allocated object is owned by the caller, who frees it with the matching
 * *_free / *_close function named in the same header. Cores prefer caller-provided buffers. */
#ifndef IROH_ERROR_H
#define IROH_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum iroh_error {
    IROH_OK = 0,
    IROH_ENOMEM = -1,      /* allocation failed */
    IROH_EINVAL = -2,      /* malformed input or argument */
    IROH_EIO = -3,         /* a system call failed; errno says why */
    IROH_ETIMEDOUT = -4,   /* a deadline passed */
    IROH_ECLOSED = -5,     /* the other side closed the connection */
    IROH_EPROTO = -6,      /* the other side broke the protocol */
    IROH_ETOOBIG = -7,     /* a message or value is over its size limit */
    IROH_ERPC = -8,        /* the daemon answered with a JSON-RPC error object */
    IROH_ENOTRUNNING = -9, /* no daemon listens on the socket */
    IROH_EAGAIN = -10,     /* not now: retry when the fd is ready */
    IROH_EPERM = -11,      /* not allowed (file mode, peer credentials) */
    IROH_EEXIST = -12,     /* already exists or already taken */
    IROH_ENOTFOUND = -13,  /* no such thing */
    IROH_EBUFFER = -14,    /* caller-provided buffer too small */
    IROH_ECORRUPT = -15,   /* stored or received data failed verification */
    IROH_EBUSY = -16,      /* a resource limit is reached */
};

/* A static English description of an IROH_E* code; never NULL. */
const char *iroh_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
