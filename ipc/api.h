/* api.h — the one description of the local API (ipc/api.json, an OpenRPC document compiled
 * into the binary): which methods exist, their params and results. The daemon validates every
 * request's params against it before a handler runs and serves it as rpc.discover; the API
 * reference (docs/api.md) is generated from the same file by ipc/gen_api_doc.c.
 *
 * The schema language is a JSON Schema subset: type (string, integer, number, boolean, object,
 * array, null), enum, minimum, maximum, minLength, maxLength, properties, required,
 * additionalProperties (false), items, default. A schema used in several places is written once
 * under components.schemas and named by {"$ref": "#/components/schemas/NAME"}; parsing
 * replaces each reference by that schema, so everything below sees plain schemas. */
#ifndef IROH_IPC_API_H
#define IROH_IPC_API_H

#include <json-c/json.h>
#include <stddef.h>

struct rpc_api;

/* The description compiled into this binary (generated from ipc/api.json). */
extern const char rpc_api_json[];
extern const size_t rpc_api_json_len;

/* Parses a description. Returns 0 and a new api in *out (free with rpc_api_free), or
 * IROH_EINVAL with a message in err. */
int rpc_api_parse(const char *json, size_t len, struct rpc_api **out, char *err, size_t errlen);
void rpc_api_free(struct rpc_api *api);

/* The whole document, borrowed from api (take a reference to keep it). */
json_object *rpc_api_document(const struct rpc_api *api);
size_t rpc_api_method_count(const struct rpc_api *api);
const char *rpc_api_method_name(const struct rpc_api *api, size_t index);
/* The index of a method, or -1 if the API has no such method. */
int rpc_api_find(const struct rpc_api *api, const char *name);

/* Checks params (NULL when absent, an object, or an array in declared order) against method
 * `index`. On success returns 0 and *named, a new object with every param by name and defaults
 * filled in (caller puts it). Returns IROH_EINVAL with a message naming the bad param in err. */
int rpc_api_check_params(const struct rpc_api *api, size_t index, json_object *params,
                         json_object **named, char *err, size_t errlen);

/* Checks a value against a schema of the subset above; used for params and by the tests for
 * results. Returns 0 or IROH_EINVAL with a message in err that starts with `path`. */
int rpc_schema_check(json_object *schema, json_object *value, const char *path, char *err,
                     size_t errlen);

#endif
