/* test_api.c — ipc/api.c: the embedded API description parses and is well formed (every method
 * has a name, described params and a result schema; defaults obey their schemas; error codes
 * are listed with the kinds jsonrpc.c uses); rpc_api_parse refuses malformed descriptions;
 * references to components.schemas are resolved (unknown ones and cycles refused);
 * rpc_api_check_params maps positional params to names, fills defaults and names the bad
 * param for missing, unknown, mistyped, out-of-enum, out-of-range and too many params;
 * rpc_schema_check on nested objects and arrays reports the path of the bad value. */
#include <json-c/json.h>
#include <string.h>

#include "iroh/error.h"
#include "ipc/api.h"
#include "ipc/jsonrpc.h"
#include "tests/test.h"

static json_object *member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(obj, key, &v);
    return v;
}

static void test_embedded_description(void)
{
    struct rpc_api *api = NULL;
    char err[256] = "";
    int rc = rpc_api_parse(rpc_api_json, rpc_api_json_len, &api, err, sizeof err);
    if (rc < 0) fprintf(stderr, "rpc_api_parse: %s\n", err);
    CHECK_EQ_INT(rc, 0);
    if (!api) return;
    size_t n = rpc_api_method_count(api);
    CHECK(n >= 5);
    json_object *doc = rpc_api_document(api);
    CHECK_EQ_STR(json_object_get_string(member(doc, "openrpc")), "1.2.6");
    json_object *methods = member(doc, "methods");
    CHECK_EQ_INT(json_object_array_length(methods), n);
    /* the schemas written once (components.schemas) are in place wherever they are named */
    CHECK(strstr(json_object_to_json_string(methods), "$ref") == NULL);

    /* The error codes: every one has the kind jsonrpc.c gives it. */
    json_object *errors = member(doc, "x-errors");
    CHECK(json_object_is_type(errors, json_type_array));
    for (size_t i = 0; i < json_object_array_length(errors); i++) {
        json_object *e = json_object_array_get_idx(errors, i);
        int code = json_object_get_int(member(e, "code"));
        CHECK_EQ_STR(json_object_get_string(member(e, "kind")), jsonrpc_code_kind(code));
        CHECK(json_object_get_string_len(member(e, "message")) > 0);
    }
    CHECK_EQ_INT(json_object_array_length(errors), 12);

    for (size_t i = 0; i < n; i++) {
        json_object *m = json_object_array_get_idx(methods, i);
        const char *name = rpc_api_method_name(api, i);
        CHECK(name != NULL && *name != '\0');
        if (!name) continue;
        CHECK_EQ_INT(rpc_api_find(api, name), (int)i); /* names are unique */
        CHECK(json_object_get_string_len(member(m, "summary")) > 0);
        json_object *result = member(m, "result");
        CHECK(json_object_get_string_len(member(result, "name")) > 0);
        CHECK(json_object_is_type(member(result, "schema"), json_type_object));
        json_object *params = member(m, "params");
        CHECK(json_object_is_type(params, json_type_array));
        for (size_t k = 0; k < json_object_array_length(params); k++) {
            json_object *p = json_object_array_get_idx(params, k);
            CHECK(json_object_get_string_len(member(p, "name")) > 0);
            CHECK(json_object_is_type(member(p, "required"), json_type_boolean));
            json_object *schema = member(p, "schema");
            CHECK(json_object_is_type(schema, json_type_object));
            CHECK(member(schema, "type") != NULL);
            json_object *def = member(schema, "default");
            if (def) {
                char why[256] = "";
                int drc = rpc_schema_check(schema, def, "default", why, sizeof why);
                if (drc < 0) fprintf(stderr, "%s: %s\n", name, why);
                CHECK_EQ_INT(drc, 0);
            }
        }
        /* Method-specific errors are listed codes. */
        json_object *merrs = member(m, "errors");
        for (size_t k = 0; merrs && k < json_object_array_length(merrs); k++) {
            int code = json_object_get_int(json_object_array_get_idx(merrs, k));
            CHECK(strcmp(jsonrpc_code_kind(code), "error") != 0);
        }
        /* With no params at all, each method either works or names a required param. */
        json_object *named = NULL;
        char why[256] = "";
        int prc = rpc_api_check_params(api, i, NULL, &named, why, sizeof why);
        CHECK(prc == 0 || strstr(why, "required") != NULL);
        json_object_put(named);
    }
    CHECK(rpc_api_find(api, "node.status") >= 0);
    CHECK(rpc_api_find(api, "rpc.discover") >= 0);
    CHECK(rpc_api_find(api, "rpc.unsubscribe") >= 0);
    CHECK_EQ_INT(rpc_api_find(api, "no.such.method"), -1);
    CHECK_EQ_INT(rpc_api_find(api, ""), -1);
    CHECK_EQ_INT(rpc_api_find(api, "node.statu"), -1);
    rpc_api_free(api);
}

static void test_parse_rejects(void)
{
    static const char *bad[] = {
        "",
        "{",
        "not json",
        "[]",
        "{}",
        "{\"methods\":{}}",
        "{\"methods\":[{\"params\":[]}]}",
        "{\"methods\":[{\"name\":1,\"params\":[]}]}",
        "{\"methods\":[{\"name\":\"a\"}]}",
        "{\"methods\":[{\"name\":\"a\",\"params\":{}}]}",
        "{\"methods\":[1]}",
        /* references: to no schema, outside components.schemas, without components, a cycle */
        "{\"methods\":[{\"name\":\"a\",\"params\":[{\"name\":\"x\",\"schema\":"
        "{\"$ref\":\"#/components/schemas/Nope\"}}]}],\"components\":{\"schemas\":{}}}",
        "{\"methods\":[{\"name\":\"a\",\"params\":[{\"name\":\"x\",\"schema\":"
        "{\"$ref\":\"#/methods\"}}]}],\"components\":{\"schemas\":{}}}",
        "{\"methods\":[{\"name\":\"a\",\"params\":[{\"name\":\"x\",\"schema\":"
        "{\"$ref\":\"#/components/schemas/A\"}}]}]}",
        "{\"methods\":[],\"components\":{\"schemas\":{\"A\":{\"items\":"
        "{\"$ref\":\"#/components/schemas/A\"}}}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rpc_api *api = NULL;
        char err[256] = "";
        CHECK_EQ_INT(rpc_api_parse(bad[i], strlen(bad[i]), &api, err, sizeof err), IROH_EINVAL);
        CHECK(api == NULL);
        CHECK(strlen(err) > 0);
    }
    struct rpc_api *api = NULL;
    char err[256] = "";
    CHECK_EQ_INT(rpc_api_parse("{\"methods\":[]}", 14, &api, err, sizeof err), 0);
    CHECK_EQ_INT(rpc_api_method_count(api), 0);
    CHECK_EQ_INT(rpc_api_find(api, "x"), -1);
    rpc_api_free(api);
    rpc_api_free(NULL);
}

/* A schema written once under components.schemas serves every place that names it. */
static void test_schema_refs(void)
{
    static const char doc[] =
        "{\"methods\":["
        "{\"name\":\"a\",\"params\":[{\"name\":\"n\",\"schema\":{\"$ref\":\"#/components/"
        "schemas/Small\"}}]},"
        "{\"name\":\"b\",\"params\":[{\"name\":\"list\",\"schema\":{\"type\":\"array\","
        "\"items\":{\"$ref\":\"#/components/schemas/Small\"}}}]}],"
        "\"components\":{\"schemas\":{\"Small\":{\"type\":\"integer\",\"maximum\":3}}}}";
    struct rpc_api *api = NULL;
    char err[256] = "";
    CHECK_EQ_INT(rpc_api_parse(doc, strlen(doc), &api, err, sizeof err), 0);
    if (!api) return;
    json_object *named = NULL;
    json_object *ok = json_tokener_parse("{\"n\":2}"), *big = json_tokener_parse("{\"n\":4}");
    json_object *list = json_tokener_parse("{\"list\":[1,9]}");
    CHECK_EQ_INT(rpc_api_check_params(api, 0, ok, &named, err, sizeof err), 0);
    json_object_put(named);
    CHECK_EQ_INT(rpc_api_check_params(api, 0, big, &named, err, sizeof err), IROH_EINVAL);
    CHECK(strstr(err, "at most 3") != NULL);
    CHECK_EQ_INT(rpc_api_check_params(api, 1, list, &named, err, sizeof err), IROH_EINVAL);
    CHECK_EQ_STR(err, "param \"list\"[1] must be at most 3");
    json_object_put(ok);
    json_object_put(big);
    json_object_put(list);
    rpc_api_free(api);
}

static const char TEST_API[] =
    "{\"methods\":["
    "{\"name\":\"t.none\",\"params\":[],\"result\":{\"name\":\"r\",\"schema\":{}}},"
    "{\"name\":\"t.many\",\"params\":["
    "{\"name\":\"name\",\"required\":true,\"schema\":{\"type\":\"string\",\"minLength\":1,"
    "\"maxLength\":3}},"
    "{\"name\":\"count\",\"required\":false,\"schema\":{\"type\":\"integer\",\"minimum\":1,"
    "\"maximum\":10,\"default\":5}},"
    "{\"name\":\"mode\",\"required\":false,\"schema\":{\"type\":\"string\","
    "\"enum\":[\"fast\",\"slow\"],\"default\":\"fast\"}},"
    "{\"name\":\"ratio\",\"required\":false,\"schema\":{\"type\":\"number\"}},"
    "{\"name\":\"opts\",\"required\":false,\"schema\":{\"type\":\"object\","
    "\"required\":[\"depth\"],\"additionalProperties\":false,\"properties\":{"
    "\"depth\":{\"type\":\"integer\",\"minimum\":0},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]}}}}}"
    "],\"result\":{\"name\":\"r\",\"schema\":{}}}"
    "]}";

/* Runs check_params on params given as JSON text (NULL for absent) for method t.many.
 * Returns the rc; *named_text gets the named params' text (valid until the next call). */
static int check(struct rpc_api *api, const char *params_text, char *err, size_t errlen,
                 const char **named_text)
{
    static char text[1024];
    json_object *params = params_text ? json_tokener_parse(params_text) : NULL;
    if (params_text && !params) fprintf(stderr, "test input is not JSON: %s\n", params_text);
    json_object *named = (json_object *)1;
    err[0] = '\0';
    int rc =
        rpc_api_check_params(api, (size_t)rpc_api_find(api, "t.many"), params, &named, err, errlen);
    text[0] = '\0';
    if (rc == 0) {
        snprintf(text, sizeof text, "%s",
                 json_object_to_json_string_ext(named, JSON_C_TO_STRING_PLAIN));
        json_object_put(named);
    } else if (named != (json_object *)1) {
        fprintf(stderr, "check_params set *named on failure\n");
        rc = 1;
    }
    if (named_text) *named_text = text;
    json_object_put(params);
    return rc;
}

static void expect_ok(struct rpc_api *api, const char *params, const char *want)
{
    char err[256];
    const char *got = NULL;
    int rc = check(api, params, err, sizeof err, &got);
    if (rc != 0) fprintf(stderr, "params %s: %s\n", params ? params : "(none)", err);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0) CHECK_EQ_STR(got, want);
}

static void expect_bad(struct rpc_api *api, const char *params, const char *want_in_err)
{
    char err[256];
    int rc = check(api, params, err, sizeof err, NULL);
    if (rc != IROH_EINVAL || !strstr(err, want_in_err))
        fprintf(stderr, "params %s: rc %d, err \"%s\", wanted \"%s\"\n", params ? params : "(none)",
                rc, err, want_in_err);
    CHECK_EQ_INT(rc, IROH_EINVAL);
    CHECK(strstr(err, want_in_err) != NULL);
}

static void test_check_params(void)
{
    struct rpc_api *api = NULL;
    char err[256] = "";
    CHECK_EQ_INT(rpc_api_parse(TEST_API, strlen(TEST_API), &api, err, sizeof err), 0);
    if (!api) return;

    /* Named, with defaults filled in (in declaration order after the given ones). */
    expect_ok(api, "{\"name\":\"ab\"}", "{\"name\":\"ab\",\"count\":5,\"mode\":\"fast\"}");
    expect_ok(api, "{\"mode\":\"slow\",\"name\":\"x\",\"count\":10}",
              "{\"mode\":\"slow\",\"name\":\"x\",\"count\":10}");
    expect_ok(api, "{\"name\":\"x\",\"ratio\":2}",
              "{\"name\":\"x\",\"ratio\":2,\"count\":5,\"mode\":\"fast\"}");
    expect_ok(api, "{\"name\":\"x\",\"ratio\":0.5,\"count\":3.0}",
              "{\"name\":\"x\",\"ratio\":0.5,\"count\":3.0,\"mode\":\"fast\"}");
    expect_ok(api, "{\"name\":\"x\",\"opts\":{\"depth\":0,\"tags\":[\"a\",\"b\",\"a\"]}}",
              "{\"name\":\"x\",\"opts\":{\"depth\":0,\"tags\":[\"a\",\"b\",\"a\"]},\"count\":5,"
              "\"mode\":\"fast\"}");
    /* Positional: mapped to names in declared order. */
    expect_ok(api, "[\"abc\"]", "{\"name\":\"abc\",\"count\":5,\"mode\":\"fast\"}");
    expect_ok(api, "[\"abc\",7,\"slow\"]", "{\"name\":\"abc\",\"count\":7,\"mode\":\"slow\"}");
    expect_ok(api, "[\"abc\",7,\"slow\",1.5,{\"depth\":1}]",
              "{\"name\":\"abc\",\"count\":7,\"mode\":\"slow\",\"ratio\":1.5,\"opts\":{\"depth\":"
              "1}}");

    /* Missing required param: absent params, empty object, empty array. */
    expect_bad(api, NULL, "param \"name\" is required");
    expect_bad(api, "{}", "param \"name\" is required");
    expect_bad(api, "[]", "param \"name\" is required");
    expect_bad(api, "{\"count\":2}", "param \"name\" is required");
    /* Unknown param. */
    expect_bad(api, "{\"name\":\"x\",\"colour\":1}", "no param \"colour\"");
    /* Wrong types. */
    expect_bad(api, "{\"name\":5}", "param \"name\" must be of type string, not integer");
    expect_bad(api, "{\"name\":null}", "param \"name\" must be of type string, not null");
    expect_bad(api, "{\"name\":\"x\",\"count\":\"5\"}", "param \"count\" must be of type integer");
    expect_bad(api, "{\"name\":\"x\",\"count\":2.5}", "param \"count\" must be of type integer");
    expect_bad(api, "{\"name\":\"x\",\"count\":true}", "param \"count\" must be of type integer");
    expect_bad(api, "{\"name\":\"x\",\"count\":1e300}", "param \"count\" must be of type integer");
    expect_bad(api, "{\"name\":\"x\",\"ratio\":\"1\"}", "param \"ratio\" must be of type number");
    expect_bad(api, "[1]", "param \"name\" must be of type string");
    expect_bad(api, "{\"name\":\"x\",\"opts\":[]}", "param \"opts\" must be of type object");
    /* Enum. */
    expect_bad(api, "{\"name\":\"x\",\"mode\":\"medium\"}",
               "param \"mode\" must be one of [\"fast\",\"slow\"]");
    expect_bad(api, "{\"name\":\"x\",\"mode\":\"FAST\"}", "param \"mode\" must be one of");
    /* Minimum, maximum, string lengths. */
    expect_bad(api, "{\"name\":\"x\",\"count\":0}", "param \"count\" must be at least 1");
    expect_bad(api, "{\"name\":\"x\",\"count\":-5}", "param \"count\" must be at least 1");
    expect_bad(api, "{\"name\":\"x\",\"count\":11}", "param \"count\" must be at most 10");
    expect_ok(api, "{\"name\":\"x\",\"count\":1}",
              "{\"name\":\"x\",\"count\":1,\"mode\":\"fast\"}");
    expect_bad(api, "{\"name\":\"\"}", "param \"name\" must have at least 1 characters");
    expect_bad(api, "{\"name\":\"abcd\"}", "param \"name\" must have at most 3 characters");
    /* Too many positional params. */
    expect_bad(api, "[\"a\",1,\"fast\",1,{\"depth\":1},6]", "takes at most 5 params, got 6");
    /* Nested errors name their path. */
    expect_bad(api, "{\"name\":\"x\",\"opts\":{}}",
               "param \"opts\" lacks the required member \"depth\"");
    expect_bad(api, "{\"name\":\"x\",\"opts\":{\"depth\":1,\"x\":1}}",
               "param \"opts\" has an unknown member \"x\"");
    expect_bad(api, "{\"name\":\"x\",\"opts\":{\"depth\":-1}}",
               "param \"opts\".depth must be at least 0");
    expect_bad(api, "{\"name\":\"x\",\"opts\":{\"depth\":1,\"tags\":[\"a\",\"c\"]}}",
               "param \"opts\".tags[1] must be one of");
    expect_bad(api, "{\"name\":\"x\",\"opts\":{\"depth\":1,\"tags\":\"a\"}}",
               "param \"opts\".tags must be of type array");

    /* A method without params takes none. */
    json_object *named = NULL;
    int none = rpc_api_find(api, "t.none");
    CHECK_EQ_INT(rpc_api_check_params(api, (size_t)none, NULL, &named, err, sizeof err), 0);
    CHECK_EQ_STR(json_object_to_json_string_ext(named, JSON_C_TO_STRING_PLAIN), "{}");
    json_object_put(named);
    json_object *one = json_tokener_parse("[1]");
    CHECK_EQ_INT(rpc_api_check_params(api, (size_t)none, one, &named, err, sizeof err),
                 IROH_EINVAL);
    CHECK(strstr(err, "takes at most 0 params, got 1") != NULL);
    json_object_put(one);
    json_object *obj = json_tokener_parse("{\"a\":1}");
    CHECK_EQ_INT(rpc_api_check_params(api, (size_t)none, obj, &named, err, sizeof err),
                 IROH_EINVAL);
    CHECK(strstr(err, "t.none has no param \"a\"") != NULL);
    json_object_put(obj);
    rpc_api_free(api);
}

static void test_string_length_in_characters(void)
{
    /* minLength/maxLength count characters (code points), as JSON Schema says, not bytes. */
    json_object *schema =
        json_tokener_parse("{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}");
    char err[256];
    json_object *s3 = json_object_new_string("h\xc3\xa9\xe2\x82\xac"); /* "hé€": 3 characters */
    json_object *s4 = json_object_new_string("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80!");
    json_object *s1 = json_object_new_string("\xe2\x82\xac"); /* "€": 1 character, 3 bytes */
    CHECK_EQ_INT(rpc_schema_check(schema, s3, "s", err, sizeof err), 0);
    CHECK_EQ_INT(rpc_schema_check(schema, s4, "s", err, sizeof err), IROH_EINVAL);
    CHECK(strstr(err, "at most 3 characters") != NULL);
    CHECK_EQ_INT(rpc_schema_check(schema, s1, "s", err, sizeof err), IROH_EINVAL);
    CHECK(strstr(err, "at least 2 characters") != NULL);
    json_object_put(s1);
    json_object_put(s3);
    json_object_put(s4);
    json_object_put(schema);
}

static void test_schema_check_nested(void)
{
    json_object *schema = json_tokener_parse(
        "{\"type\":\"object\",\"required\":[\"list\"],\"properties\":{"
        "\"list\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"id\"],"
        "\"additionalProperties\":false,\"properties\":{"
        "\"id\":{\"type\":\"integer\",\"minimum\":1},"
        "\"kids\":{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":{\"type\":"
        "\"boolean\"}}}}}},"
        "\"maybe\":{\"type\":\"null\"}}}");
    CHECK(schema != NULL);
    static const struct {
        const char *value;
        const char *want; /* NULL: valid */
    } cases[] = {
        {"{\"list\":[]}", NULL},
        {"{\"list\":[{\"id\":1},{\"id\":2,\"kids\":[[true],[],[false,true]]}],\"maybe\":null,"
         "\"other\":\"allowed\"}",
         NULL},
        {"{}", "v lacks the required member \"list\""},
        {"[]", "v must be of type object, not array"},
        {"{\"list\":{}}", "v.list must be of type array, not object"},
        {"{\"list\":[{\"id\":1},{}]}", "v.list[1] lacks the required member \"id\""},
        {"{\"list\":[{\"id\":0}]}", "v.list[0].id must be at least 1"},
        {"{\"list\":[{\"id\":1,\"x\":1}]}", "v.list[0] has an unknown member \"x\""},
        {"{\"list\":[{\"id\":1,\"kids\":[[true],[true,1]]}]}",
         "v.list[0].kids[1][1] must be of type boolean, not integer"},
        {"{\"list\":[],\"maybe\":0}", "v.maybe must be of type null, not integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object *value = json_tokener_parse(cases[i].value);
        char err[256] = "";
        int rc = rpc_schema_check(schema, value, "v", err, sizeof err);
        if (cases[i].want) {
            if (rc != IROH_EINVAL || strcmp(err, cases[i].want) != 0)
                fprintf(stderr, "case %zu: rc %d \"%s\"\n", i, rc, err);
            CHECK_EQ_INT(rc, IROH_EINVAL);
            CHECK_EQ_STR(err, cases[i].want);
        } else {
            if (rc != 0) fprintf(stderr, "case %zu: %s\n", i, err);
            CHECK_EQ_INT(rc, 0);
        }
        json_object_put(value);
    }
    /* An empty schema accepts anything; a small err buffer is truncated, not overrun. */
    json_object *empty = json_object_new_object();
    json_object *v = json_tokener_parse("[1,{\"a\":null}]");
    char tiny[8];
    CHECK_EQ_INT(rpc_schema_check(empty, v, "v", tiny, sizeof tiny), 0);
    json_object *typed = json_tokener_parse("{\"type\":\"string\"}");
    CHECK_EQ_INT(rpc_schema_check(typed, v, "a-long-path", tiny, sizeof tiny), IROH_EINVAL);
    CHECK_EQ_INT(strlen(tiny), sizeof tiny - 1);
    json_object_put(typed);
    json_object_put(v);
    json_object_put(empty);
    json_object_put(schema);
}

int main(void)
{
    RUN(test_embedded_description);
    RUN(test_parse_rejects);
    RUN(test_schema_refs);
    RUN(test_check_params);
    RUN(test_string_length_in_characters);
    RUN(test_schema_check_nested);
    return TEST_SUMMARY();
}
