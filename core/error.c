/* error.c — iroh_strerror(); see include/iroh/error.h for the convention. */
#include <iroh/error.h>

const char *iroh_strerror(int err)
{
    switch (err) {
    case IROH_OK: return "success";
    case IROH_ENOMEM: return "out of memory";
    case IROH_EINVAL: return "invalid argument or malformed input";
    case IROH_EIO: return "input/output error";
    case IROH_ETIMEDOUT: return "timed out";
    case IROH_ECLOSED: return "connection closed";
    case IROH_EPROTO: return "protocol error";
    case IROH_ETOOBIG: return "message too large";
    case IROH_ERPC: return "the daemon returned an error";
    case IROH_ENOTRUNNING: return "irohd is not running";
    case IROH_EAGAIN: return "resource temporarily unavailable";
    case IROH_EPERM: return "permission denied";
    case IROH_EEXIST: return "already exists";
    case IROH_ENOTFOUND: return "not found";
    case IROH_EBUFFER: return "buffer too small";
    case IROH_ECORRUPT: return "data failed verification";
    case IROH_EBUSY: return "resource limit reached";
    }
    return err >= 0 ? "success" : "unknown error";
}
