/* identity.h — the node's secret key file, <data-dir>/secret.key: the 32-byte Ed25519 seed as
 * 64 lowercase hex characters and a newline, mode 0600. Called once by main.c at start-up. */
#ifndef IROHD_IDENTITY_H
#define IROHD_IDENTITY_H

#include <stddef.h>

#include "core/keys.h"

/* Loads the key at path, or creates it (fresh random seed, written to a temp file, fsynced
 * and linked into place) when the file does not exist. Returns 1 if created, 0 if loaded;
 * IROH_EPERM if the file is readable or writable by group or others or owned by another user,
 * IROH_EINVAL if malformed, IROH_EIO otherwise — with err saying what to do. */
int identity_load_or_create(const char *path, struct iroh_secret_key *key, char *err,
                            size_t errlen);

#endif
