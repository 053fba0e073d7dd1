/* test_jsonrpc.c — ipc/jsonrpc.c: classification of every message shape (requests,
 * notifications, responses and the invalid ones: not an object, bad version, bad id types,
 * params of the wrong type, result and error together), the builders' exact text, id null
 * kept as null, ownership of owned arguments, one-line output, and the code ↔ kind ↔ IROH_E*
 * mappings. */
#include <json-c/json.h>
#include <string.h>

#include "iroh/error.h"
#include "ipc/api.h"
#include "ipc/jsonrpc.h"
#include "tests/test.h"

static enum jsonrpc_kind classify_text(const char *text, const char **why)
{
    json_object *msg = json_tokener_parse(text);
    if (!msg && strcmp(text, "null") != 0) {
        fprintf(stderr, "test input is not JSON: %s\n", text);
        return (enum jsonrpc_kind) - 1;
    }
    enum jsonrpc_kind kind = jsonrpc_classify(msg, why);
    json_object_put(msg);
    return kind;
}

static void test_classify_valid(void)
{
    static const struct {
        const char *text;
        enum jsonrpc_kind kind;
    } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.status\"}", JSONRPC_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"m\",\"params\":{}}", JSONRPC_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\",\"params\":[1,2]}", JSONRPC_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775808,\"method\":\"m\"}", JSONRPC_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"\"}", JSONRPC_REQUEST},
        {"{\"method\":\"m\",\"id\":7,\"jsonrpc\":\"2.0\",\"extra\":true}", JSONRPC_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\"}", JSONRPC_NOTIFICATION},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[]}", JSONRPC_NOTIFICATION},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}", JSONRPC_RESPONSE},
        {"{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{\"a\":1}}", JSONRPC_RESPONSE},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"m\"}}",
         JSONRPC_RESPONSE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = "unset";
        enum jsonrpc_kind got = classify_text(cases[i].text, &why);
        if (got != cases[i].kind) fprintf(stderr, "case %zu: %s\n", i, cases[i].text);
        CHECK_EQ_INT(got, cases[i].kind);
    }
    /* why may be NULL. */
    json_object *msg = json_tokener_parse("{\"jsonrpc\":\"2.0\",\"method\":\"m\"}");
    CHECK_EQ_INT(jsonrpc_classify(msg, NULL), JSONRPC_NOTIFICATION);
    json_object_put(msg);
}

static void test_classify_invalid(void)
{
    static const struct {
        const char *text;
        const char *why_has; /* a word the reason must contain */
    } cases[] = {
        {"null", "object"},
        {"[]", "object"},
        {"[{\"jsonrpc\":\"2.0\",\"method\":\"m\"}]", "object"},
        {"42", "object"},
        {"\"text\"", "object"},
        {"{}", "jsonrpc"},
        {"{\"id\":1,\"method\":\"m\"}", "jsonrpc"},
        {"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"m\"}", "jsonrpc"},
        {"{\"jsonrpc\":2.0,\"id\":1,\"method\":\"m\"}", "jsonrpc"},
        {"{\"jsonrpc\":\"2.0 \",\"id\":1,\"method\":\"m\"}", "jsonrpc"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"m\"}", "id"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1.0,\"method\":\"m\"}", "id"},
        {"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"m\"}", "id"},
        {"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"m\"}", "id"},
        {"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"m\"}", "id"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"result\":1}", "id"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", "method"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":null}", "method"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":\"x\"}", "params"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":3}", "params"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":null}", "params"},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":true}", "params"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{\"code\":1}}", "exactly one"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1}", "exactly one"},
        {"{\"jsonrpc\":\"2.0\",\"result\":1}", "id"},
        {"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1}}", "id"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"bad\"}", "error"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":null}", "error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = NULL;
        enum jsonrpc_kind got = classify_text(cases[i].text, &why);
        if (got != JSONRPC_INVALID || !why || !strstr(why, cases[i].why_has))
            fprintf(stderr, "case %zu: %s -> kind %d, why %s\n", i, cases[i].text, (int)got,
                    why ? why : "(null)");
        CHECK_EQ_INT(got, JSONRPC_INVALID);
        CHECK(why != NULL && strstr(why, cases[i].why_has) != NULL);
    }
}

static void check_text(json_object *msg, const char *want)
{
    CHECK(msg != NULL);
    if (!msg) return;
    size_t len = 0;
    const char *text = jsonrpc_text(msg, &len);
    CHECK_EQ_STR(text, want);
    CHECK_EQ_INT(len, strlen(want));
    json_object_put(msg);
}

static void test_builders_exact(void)
{
    check_text(jsonrpc_request_new(1, "node.status", NULL),
               "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.status\"}");
    json_object *params = json_object_new_object();
    json_object_object_add(params, "level", json_object_new_string("debug"));
    json_object_object_add(params, "fd", json_object_new_boolean(1));
    check_text(jsonrpc_request_new(9007199254740993LL, "node.logs", params),
               "{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"method\":\"node.logs\","
               "\"params\":{\"level\":\"debug\",\"fd\":true}}");
    json_object *arr = json_object_new_array();
    json_object_array_add(arr, json_object_new_int(5));
    check_text(jsonrpc_notification_new("rpc.unsubscribe", arr),
               "{\"jsonrpc\":\"2.0\",\"method\":\"rpc.unsubscribe\",\"params\":[5]}");
    check_text(jsonrpc_notification_new("a/b", NULL),
               "{\"jsonrpc\":\"2.0\",\"method\":\"a/b\"}"); /* no escaped slash */

    json_object *id = json_object_new_string("req-1");
    check_text(jsonrpc_result_new(id, json_object_new_boolean(1)),
               "{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"result\":true}");
    check_text(jsonrpc_result_new(id, NULL),
               "{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"result\":null}");
    /* id is borrowed: still ours, with one reference. */
    CHECK_EQ_STR(json_object_get_string(id), "req-1");
    CHECK_EQ_INT(json_object_put(id), 1); /* 1: this put freed it */

    json_object *num = json_object_new_int(42);
    check_text(jsonrpc_error_new(num, JSONRPC_METHOD_NOT_FOUND, "no method \"x\"", NULL),
               "{\"jsonrpc\":\"2.0\",\"id\":42,\"error\":{\"code\":-32601,\"message\":\"no "
               "method \\\"x\\\"\",\"data\":{\"kind\":\"method_not_found\"}}}");
    json_object_put(num);

    /* Caller's data is kept and gets a kind; a kind of its own is not overwritten. */
    json_object *data = json_object_new_object();
    json_object_object_add(data, "detail", json_object_new_string("empty batch"));
    check_text(jsonrpc_error_new(NULL, JSONRPC_INVALID_REQUEST, "invalid request", data),
               "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":"
               "\"invalid request\",\"data\":{\"detail\":\"empty batch\",\"kind\":"
               "\"invalid_request\"}}}");
    data = json_object_new_object();
    json_object_object_add(data, "kind", json_object_new_string("custom"));
    check_text(jsonrpc_error_new(NULL, JSONRPC_BUSY, "busy", data),
               "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1004,\"message\":\"busy\","
               "\"data\":{\"kind\":\"custom\"}}}");
}

static void test_id_null_kept(void)
{
    /* A request with "id": null is a request (answered), and its answer has "id": null. */
    json_object *req = json_tokener_parse("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\"}");
    CHECK_EQ_INT(jsonrpc_classify(req, NULL), JSONRPC_REQUEST);
    json_object *id = (json_object *)1;
    CHECK(json_object_object_get_ex(req, "id", &id));
    CHECK(id == NULL);
    json_object *res = jsonrpc_result_new(id, json_object_new_int(1));
    json_object *got = (json_object *)1;
    CHECK(json_object_object_get_ex(res, "id", &got));
    CHECK(got == NULL);
    CHECK_EQ_INT(jsonrpc_classify(res, NULL), JSONRPC_RESPONSE);
    check_text(res, "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":1}");
    json_object_put(req);
}

static void test_text_one_line(void)
{
    /* Newlines and other control characters in strings are escaped: the text is one line. */
    json_object *params = json_object_new_object();
    json_object_object_add(params, "s", json_object_new_string("a\nb\r\tc\x01"));
    json_object *msg = jsonrpc_notification_new("m", params);
    size_t len;
    const char *text = jsonrpc_text(msg, &len);
    CHECK(memchr(text, '\n', len) == NULL);
    CHECK(memchr(text, '\r', len) == NULL);
    CHECK(strstr(text, "a\\nb\\r\\tc\\u0001") != NULL);
    /* The text parses back to an equal message. */
    json_object *back = json_tokener_parse(text);
    CHECK(json_object_equal(back, msg));
    json_object_put(back);
    json_object_put(msg);
}

/* The C table of codes must say what the API description (ipc/api.json "x-errors", the one
 * source clients read through rpc.discover) says, code for code. */
static void test_code_kinds_match_api_description(void)
{
    json_object *doc = json_tokener_parse(rpc_api_json);
    json_object *errors = NULL;
    CHECK(doc && json_object_object_get_ex(doc, "x-errors", &errors));
    size_t n = errors ? json_object_array_length(errors) : 0;
    CHECK(n >= 12);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(errors, i), *code, *kind;
        json_object_object_get_ex(e, "code", &code);
        json_object_object_get_ex(e, "kind", &kind);
        CHECK_EQ_STR(jsonrpc_code_kind(json_object_get_int(code)), json_object_get_string(kind));
    }
    json_object_put(doc);
    /* Codes the description does not list have the generic kind. */
    CHECK_EQ_STR(jsonrpc_code_kind(0), "error");
    CHECK_EQ_STR(jsonrpc_code_kind(-32000), "error");
    CHECK_EQ_STR(jsonrpc_code_kind(1000), "error");
}

static void test_code_for_errors(void)
{
    CHECK_EQ_INT(jsonrpc_code_for(IROH_EINVAL), JSONRPC_INVALID_PARAMS);
    CHECK_EQ_INT(jsonrpc_code_for(IROH_ENOTFOUND), JSONRPC_NOT_FOUND);
    CHECK_EQ_INT(jsonrpc_code_for(IROH_EEXIST), JSONRPC_ALREADY_EXISTS);
    CHECK_EQ_INT(jsonrpc_code_for(IROH_EPERM), JSONRPC_PERMISSION_DENIED);
    CHECK_EQ_INT(jsonrpc_code_for(IROH_EBUSY), JSONRPC_BUSY);
    CHECK_EQ_INT(jsonrpc_code_for(IROH_EAGAIN), JSONRPC_BUSY);
    CHECK_EQ_INT(jsonrpc_code_for(IROH_EIO), JSONRPC_IO_ERROR);
    CHECK_EQ_INT(jsonrpc_code_for(IROH_ETOOBIG), JSONRPC_TOO_LARGE);
    CHECK_EQ_INT(jsonrpc_code_for(IROH_ENOMEM), JSONRPC_INTERNAL_ERROR);
    CHECK_EQ_INT(jsonrpc_code_for(IROH_ECORRUPT), JSONRPC_INTERNAL_ERROR);
    CHECK_EQ_INT(jsonrpc_code_for(0), JSONRPC_INTERNAL_ERROR);
    /* Every IROH_E* maps to a code that has a kind of its own. */
    for (int e = IROH_ENOMEM; e >= IROH_EBUSY; e--)
        CHECK(strcmp(jsonrpc_code_kind(jsonrpc_code_for(e)), "error") != 0);
}

int main(void)
{
    RUN(test_classify_valid);
    RUN(test_classify_invalid);
    RUN(test_builders_exact);
    RUN(test_id_null_kept);
    RUN(test_text_one_line);
    RUN(test_code_kinds_match_api_description);
    RUN(test_code_for_errors);
    return TEST_SUMMARY();
}
