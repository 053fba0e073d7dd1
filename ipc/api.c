/* api.c — the parsed API description and its params validator; see api.h. */
#include "ipc/api.h"

#include <iroh/error.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rpc_api {
    json_object *doc;
    json_object *methods; /* borrowed from doc */
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return IROH_EINVAL;
}

/* Replaces every {"$ref": "#/components/schemas/NAME"} under node by the schema it names
 * (shared, not copied), so the rest of the API (validation, rpc.discover, the reference) sees
 * plain schemas. A schema named by a reference may hold references itself; depth bounds a
 * cycle. */
static int resolve_refs(json_object *node, json_object *schemas, int depth, char *err,
                        size_t errlen)
{
    static const char prefix[] = "#/components/schemas/";
    if (depth > 16) return fail(err, errlen, "API description: $ref nested too deep (a cycle?)");
    if (json_object_is_type(node, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(node); i++) {
            int rc = resolve_refs(json_object_array_get_idx(node, i), schemas, depth, err, errlen);
            if (rc < 0) return rc;
        }
        return 0;
    }
    if (!json_object_is_type(node, json_type_object)) return 0;
    json_object_object_foreach(node, key, child)
    {
        json_object *ref, *target = NULL;
        if (json_object_object_get_ex(child, "$ref", &ref)) {
            const char *name = json_object_get_string(ref);
            if (strncmp(name, prefix, sizeof prefix - 1) != 0 ||
                !json_object_object_get_ex(schemas, name + sizeof prefix - 1, &target))
                return fail(err, errlen, "API description: unknown $ref \"%s\"", name);
            int rc = resolve_refs(target, schemas, depth + 1, err, errlen);
            if (rc < 0) return rc;
            json_object_object_add(node, key, json_object_get(target)); /* replaces child */
            continue;
        }
        int rc = resolve_refs(child, schemas, depth, err, errlen);
        if (rc < 0) return rc;
    }
    return 0;
}

int rpc_api_parse(const char *json, size_t len, struct rpc_api **out, char *err, size_t errlen)
{
    json_tokener *tok = json_tokener_new();
    if (!tok) return IROH_ENOMEM;
    json_object *doc = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!doc || jerr != json_tokener_success) {
        json_object_put(doc);
        return fail(err, errlen, "API description is not JSON: %s", json_tokener_error_desc(jerr));
    }
    json_object *methods;
    if (!json_object_object_get_ex(doc, "methods", &methods) ||
        !json_object_is_type(methods, json_type_array)) {
        json_object_put(doc);
        return fail(err, errlen, "API description has no \"methods\" array");
    }
    json_object *components, *schemas = NULL;
    if (json_object_object_get_ex(doc, "components", &components))
        json_object_object_get_ex(components, "schemas", &schemas);
    int rc = resolve_refs(doc, schemas, 0, err, errlen);
    if (rc < 0) {
        json_object_put(doc);
        return rc;
    }
    for (size_t i = 0; i < json_object_array_length(methods); i++) {
        json_object *m = json_object_array_get_idx(methods, i), *name, *params;
        if (!json_object_object_get_ex(m, "name", &name) ||
            !json_object_is_type(name, json_type_string) ||
            !json_object_object_get_ex(m, "params", &params) ||
            !json_object_is_type(params, json_type_array)) {
            json_object_put(doc);
            return fail(err, errlen, "API method %zu lacks a name or a params array", i);
        }
    }
    struct rpc_api *api = calloc(1, sizeof *api);
    if (!api) {
        json_object_put(doc);
        return IROH_ENOMEM;
    }
    api->doc = doc;
    api->methods = methods;
    *out = api;
    return 0;
}

void rpc_api_free(struct rpc_api *api)
{
    if (!api) return;
    json_object_put(api->doc);
    free(api);
}

json_object *rpc_api_document(const struct rpc_api *api)
{
    return api->doc;
}

size_t rpc_api_method_count(const struct rpc_api *api)
{
    return json_object_array_length(api->methods);
}

static json_object *member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(obj, key, &v);
    return v;
}

const char *rpc_api_method_name(const struct rpc_api *api, size_t index)
{
    return json_object_get_string(member(json_object_array_get_idx(api->methods, index), "name"));
}

int rpc_api_find(const struct rpc_api *api, const char *name)
{
    for (size_t i = 0; i < rpc_api_method_count(api); i++)
        if (strcmp(rpc_api_method_name(api, i), name) == 0) return (int)i;
    return -1;
}

static const char *type_name(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return "null";
    case json_type_boolean: return "boolean";
    case json_type_double: return "number";
    case json_type_int: return "integer";
    case json_type_string: return "string";
    case json_type_object: return "object";
    case json_type_array: return "array";
    }
    return "unknown";
}

static bool has_type(json_object *v, const char *want)
{
    const char *got = type_name(v);
    if (strcmp(want, got) == 0) return true;
    if (strcmp(want, "number") == 0 && strcmp(got, "integer") == 0) return true;
    /* 3.0 is an integer in JSON Schema. */
    if (strcmp(want, "integer") == 0 && json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        return isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0;
    }
    return false;
}

int rpc_schema_check(json_object *schema, json_object *value, const char *path, char *err,
                     size_t errlen)
{
    json_object *type = member(schema, "type");
    if (type && !has_type(value, json_object_get_string(type)))
        return fail(err, errlen, "%s must be of type %s, not %s", path,
                    json_object_get_string(type), type_name(value));

    json_object *choices = member(schema, "enum");
    if (choices) {
        bool found = false;
        for (size_t i = 0; i < json_object_array_length(choices) && !found; i++)
            found = json_object_equal(json_object_array_get_idx(choices, i), value);
        if (!found)
            return fail(err, errlen, "%s must be one of %s", path,
                        json_object_to_json_string_ext(choices, JSON_C_TO_STRING_PLAIN));
    }

    json_object *min = member(schema, "minimum"), *max = member(schema, "maximum");
    if (min && json_object_get_double(value) < json_object_get_double(min))
        return fail(err, errlen, "%s must be at least %s", path, json_object_get_string(min));
    if (max && json_object_get_double(value) > json_object_get_double(max))
        return fail(err, errlen, "%s must be at most %s", path, json_object_get_string(max));

    if (json_object_is_type(value, json_type_string)) {
        json_object *minlen = member(schema, "minLength"), *maxlen = member(schema, "maxLength");
        /* Characters (code points) as JSON Schema counts them, not bytes: json-c strings are
         * UTF-8, so count every byte that does not continue a sequence. */
        const char *str = json_object_get_string(value);
        int bytes = json_object_get_string_len(value), len = 0;
        for (int i = 0; i < bytes; i++)
            len += ((unsigned char)str[i] & 0xc0) != 0x80;
        if (minlen && len < json_object_get_int(minlen))
            return fail(err, errlen, "%s must have at least %d characters", path,
                        json_object_get_int(minlen));
        if (maxlen && len > json_object_get_int(maxlen))
            return fail(err, errlen, "%s must have at most %d characters", path,
                        json_object_get_int(maxlen));
    }

    char sub[256];
    if (json_object_is_type(value, json_type_object)) {
        json_object *props = member(schema, "properties"), *required = member(schema, "required");
        for (size_t i = 0; required && i < json_object_array_length(required); i++) {
            const char *key = json_object_get_string(json_object_array_get_idx(required, i));
            if (!json_object_object_get_ex(value, key, NULL))
                return fail(err, errlen, "%s lacks the required member \"%s\"", path, key);
        }
        json_object *extra = member(schema, "additionalProperties");
        json_object_object_foreach(value, key, v)
        {
            json_object *prop = props ? member(props, key) : NULL;
            if (!prop) {
                if (extra && !json_object_get_boolean(extra))
                    return fail(err, errlen, "%s has an unknown member \"%s\"", path, key);
                continue;
            }
            snprintf(sub, sizeof sub, "%s.%s", path, key);
            int rc = rpc_schema_check(prop, v, sub, err, errlen);
            if (rc < 0) return rc;
        }
    }
    json_object *items = member(schema, "items");
    if (items && json_object_is_type(value, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(value); i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            int rc = rpc_schema_check(items, json_object_array_get_idx(value, i), sub, err, errlen);
            if (rc < 0) return rc;
        }
    }
    return 0;
}

int rpc_api_check_params(const struct rpc_api *api, size_t index, json_object *params,
                         json_object **named, char *err, size_t errlen)
{
    json_object *method = json_object_array_get_idx(api->methods, index);
    json_object *declared = member(method, "params");
    size_t ndeclared = json_object_array_length(declared);
    json_object *out = json_object_new_object();
    if (!out) return IROH_ENOMEM;
    int rc = 0;

    if (json_object_is_type(params, json_type_array)) {
        size_t n = json_object_array_length(params);
        if (n > ndeclared) {
            rc = fail(err, errlen, "%s takes at most %zu params, got %zu",
                      rpc_api_method_name(api, index), ndeclared, n);
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            const char *name =
                json_object_get_string(member(json_object_array_get_idx(declared, i), "name"));
            json_object_object_add(out, name,
                                   json_object_get(json_object_array_get_idx(params, i)));
        }
    } else if (json_object_is_type(params, json_type_object)) {
        json_object_object_foreach(params, key, value)
        {
            bool known = false;
            for (size_t i = 0; i < ndeclared && !known; i++)
                known = strcmp(json_object_get_string(
                                   member(json_object_array_get_idx(declared, i), "name")),
                               key) == 0;
            if (!known) {
                rc = fail(err, errlen, "%s has no param \"%s\"", rpc_api_method_name(api, index),
                          key);
                goto done;
            }
            json_object_object_add(out, key, json_object_get(value));
        }
    }

    for (size_t i = 0; i < ndeclared; i++) {
        json_object *param = json_object_array_get_idx(declared, i);
        const char *name = json_object_get_string(member(param, "name"));
        json_object *schema = member(param, "schema"), *value;
        if (!json_object_object_get_ex(out, name, &value)) {
            json_object *def = schema ? member(schema, "default") : NULL;
            if (json_object_get_boolean(member(param, "required"))) {
                rc = fail(err, errlen, "param \"%s\" is required", name);
                goto done;
            }
            if (def) json_object_object_add(out, name, json_object_get(def));
            continue;
        }
        char path[128];
        snprintf(path, sizeof path, "param \"%s\"", name);
        if (schema && (rc = rpc_schema_check(schema, value, path, err, errlen)) < 0) goto done;
    }
done:
    if (rc < 0) {
        json_object_put(out);
        return rc;
    }
    *named = out;
    return 0;
}
