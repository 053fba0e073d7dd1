/* iroh.c — the `iroh` command: a thin client of irohd built only on the public client API
 * (include/iroh/client.h). It parses the command line, makes the calls a command names and
 * prints what irohd answered; everything it shows comes from the RPC. Run by users and scripts.
 * The `blobs` and `tags` command groups live in blobs_cmd.c (cli.h says what is shared). */
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmd_help(const struct options *opts, int argc, char **argv);
static const struct command *find_command(const struct command *table, const char *name);
static void print_usage(FILE *out);

/* ---- output -------------------------------------------------------------------------- */

void cli_print_json(json_object *value)
{
    printf("%s\n",
           json_object_to_json_string_ext(value, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void print_rpc_error(const struct options *opts, const iroh_response *response)
{
    int code = iroh_response_error_code(response);
    const char *message = iroh_response_error_message(response);
    const char *data = iroh_response_error_data(response);
    if (!opts->json) {
        json_object *parsed = data ? json_tokener_parse(data) : NULL, *detail;
        if (json_object_object_get_ex(parsed, "detail", &detail))
            fprintf(stderr, "error %d: %s: %s\n", code, message, json_object_get_string(detail));
        else
            fprintf(stderr, "error %d: %s\n", code, message);
        json_object_put(parsed);
        if (data) fprintf(stderr, "data: %s\n", data);
        return;
    }
    json_object *error = json_object_new_object();
    json_object_object_add(error, "code", json_object_new_int(code));
    json_object_object_add(error, "message", json_object_new_string(message));
    if (data) json_object_object_add(error, "data", json_tokener_parse(data));
    cli_print_json(error);
    json_object_put(error);
}

/* ---- talking to irohd ---------------------------------------------------------------- */

static const char *socket_path(const struct options *opts, char *buf, size_t len)
{
    if (opts->socket) return opts->socket;
    return iroh_client_default_socket(buf, len) == 0 ? buf : "(no default socket path)";
}

int cli_open_client(const struct options *opts, iroh_client **client)
{
    int rc = iroh_client_connect(opts->socket, client);
    if (rc == 0) return EXIT_OK;
    char buf[256];
    const char *path = socket_path(opts, buf, sizeof buf);
    if (rc == IROH_ENOTRUNNING) {
        fprintf(stderr,
                "iroh: irohd is not running (nothing listens on %s). Start it with: irohd\n"
                "      If it runs with another socket, pass --socket PATH or set IROHD_SOCKET.\n",
                path);
        return EXIT_NOT_RUNNING;
    }
    fprintf(stderr, "iroh: cannot connect to irohd at %s: %s\n", path, iroh_strerror(rc));
    return EXIT_RPC;
}

/* An RPC error is printed as print_rpc_error says. */
int cli_call(const struct options *opts, iroh_client *client, const char *method,
             const char *params, iroh_response **out)
{
    int rc = iroh_client_call(client, method, params, opts->timeout_ms, out);
    if (rc == IROH_EINVAL) {
        fprintf(stderr, "iroh: params must be a JSON object or array: %s\n", params);
        return EXIT_USAGE;
    }
    if (rc == IROH_ETIMEDOUT) {
        fprintf(stderr, "iroh: irohd did not answer %s within %d ms (see --timeout)\n", method,
                opts->timeout_ms);
        return EXIT_RPC;
    }
    if (rc < 0) {
        fprintf(stderr, "iroh: %s failed: %s\n", method, iroh_strerror(rc));
        return EXIT_RPC;
    }
    if (iroh_response_error_code(*out) != 0) {
        print_rpc_error(opts, *out);
        iroh_response_free(*out);
        *out = NULL;
        return EXIT_RPC;
    }
    return EXIT_OK;
}

void cli_show_result(const struct options *opts, iroh_response *response,
                     void (*show)(const struct options *opts, json_object *result))
{
    json_object *result = json_tokener_parse(iroh_response_result(response));
    show(opts, result);
    json_object_put(result);
    iroh_response_free(response);
}

int cli_call_and_show(const struct options *opts, const char *method, const char *params,
                      void (*show)(const struct options *opts, json_object *result))
{
    iroh_client *client;
    int rc = cli_open_client(opts, &client);
    if (rc != EXIT_OK) return rc;
    iroh_response *response;
    rc = cli_call(opts, client, method, params, &response);
    if (rc == EXIT_OK) cli_show_result(opts, response, show);
    iroh_client_close(client);
    return rc;
}

/* ---- commands ------------------------------------------------------------------------ */

const char *cli_field(json_object *obj, const char *key)
{
    json_object *value;
    if (!json_object_object_get_ex(obj, key, &value)) return "-";
    return json_object_get_string(value);
}

static void format_uptime(double seconds, char *buf, size_t len)
{
    long long s = seconds > 0 ? (long long)seconds : 0;
    long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
    if (d > 0)
        snprintf(buf, len, "%lldd %lldh %lldm %llds", d, h, m, s % 60);
    else if (h > 0)
        snprintf(buf, len, "%lldh %lldm %llds", h, m, s % 60);
    else if (m > 0)
        snprintf(buf, len, "%lldm %llds", m, s % 60);
    else
        snprintf(buf, len, "%llds", s);
}

static void show_status(const struct options *opts, json_object *status)
{
    if (opts->json) {
        cli_print_json(status);
        return;
    }
    json_object *uptime;
    char up[64] = "-";
    if (json_object_object_get_ex(status, "uptime_s", &uptime))
        format_uptime(json_object_get_double(uptime), up, sizeof up);
    printf("id:       %s\n", cli_field(status, "id"));
    printf("version:  %s\n", cli_field(status, "version"));
    printf("uptime:   %s\n", up);
    printf("data dir: %s\n", cli_field(status, "data_dir"));
    printf("socket:   %s\n", cli_field(status, "socket"));
    printf("clients:  %s\n", cli_field(status, "clients"));
    printf("ticket:   %s\n", cli_field(status, "ticket"));
    json_object *relays, *v;
    if (!json_object_object_get_ex(status, "relays", &relays)) return;
    for (size_t i = 0; i < json_object_array_length(relays); i++) {
        json_object *r = json_object_array_get_idx(relays, i);
        char latency[32] = "";
        if (json_object_object_get_ex(r, "latency_ms", &v))
            snprintf(latency, sizeof latency, ", %.1f ms", json_object_get_double(v));
        bool home = json_object_object_get_ex(r, "home", &v) && json_object_get_boolean(v);
        bool connected =
            json_object_object_get_ex(r, "connected", &v) && json_object_get_boolean(v);
        printf("relay:    %s (%s%s%s)\n", cli_field(r, "url"), home ? "home, " : "",
               connected ? "connected" : "not connected", connected ? latency : "");
    }
}

static void show_id(const struct options *opts, json_object *status)
{
    if (!opts->json) {
        printf("%s\n", cli_field(status, "id"));
        return;
    }
    json_object *id = json_object_new_object();
    json_object_object_add(id, "id", json_object_new_string(cli_field(status, "id")));
    cli_print_json(id);
    json_object_put(id);
}

static void show_result(const struct options *opts, json_object *result)
{
    (void)opts;
    cli_print_json(result);
}

static void show_shutdown(const struct options *opts, json_object *result)
{
    if (opts->json)
        cli_print_json(result);
    else
        printf("irohd is shutting down\n");
}

int cli_usage_error(const char *command, const char *what, const char *arg)
{
    fprintf(stderr, "iroh %s: %s%s\nTry 'iroh help %s'.\n", command, what, arg ? arg : "", command);
    return EXIT_USAGE;
}

/* For commands without arguments. */
static int no_args(const char *command, int argc, char **argv)
{
    if (argc == 0) return EXIT_OK;
    if (argv[0][0] == '-')
        return cli_usage_error(command, "global options go before the command: ", argv[0]);
    return cli_usage_error(command, "unexpected argument: ", argv[0]);
}

static int cmd_status(const struct options *opts, int argc, char **argv)
{
    int rc = no_args("status", argc, argv);
    return rc != EXIT_OK ? rc : cli_call_and_show(opts, "node.status", NULL, show_status);
}

static int cmd_id(const struct options *opts, int argc, char **argv)
{
    int rc = no_args("id", argc, argv);
    return rc != EXIT_OK ? rc : cli_call_and_show(opts, "node.status", NULL, show_id);
}

static int cmd_shutdown(const struct options *opts, int argc, char **argv)
{
    int rc = no_args("shutdown", argc, argv);
    return rc != EXIT_OK ? rc : cli_call_and_show(opts, "node.shutdown", NULL, show_shutdown);
}

static int cmd_rpc(const struct options *opts, int argc, char **argv)
{
    if (argc < 1) return cli_usage_error("rpc", "missing METHOD", NULL);
    if (argc > 2) return cli_usage_error("rpc", "unexpected argument: ", argv[2]);
    return cli_call_and_show(opts, argv[0], argc == 2 ? argv[1] : NULL, show_result);
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void print_log_event(iroh_client *client, const char *method, const char *params,
                            void *userdata)
{
    (void)client;
    (void)userdata;
    if (strcmp(method, "node.log") != 0) return;
    printf("%s\n", params);
    fflush(stdout);
}

bool cli_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Copies log lines to stdout until interrupted or irohd ends the stream: the pipe (pipe >= 0)
 * reaches its end, or without a pipe the connection finishes. */
static int follow_logs(iroh_client *client, int pipe)
{
    struct sigaction sa = {.sa_handler = on_interrupt}; /* no SA_RESTART: poll returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct pollfd fds[2] = {{pipe, POLLIN, 0}, {iroh_client_fd(client), POLLIN, 0}};
    while (!interrupted) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            perror("iroh: poll");
            return EXIT_RPC;
        }
        if (fds[1].revents && iroh_client_process(client) < 0) {
            if (pipe < 0) return EXIT_OK;
            fds[1].fd = -1; /* irohd is gone: drain the pipe to its end */
        }
        if (pipe >= 0 && fds[0].revents) {
            char buf[4096];
            ssize_t n = read(pipe, buf, sizeof buf);
            if (n == 0) return EXIT_OK;
            if (n < 0 && errno != EINTR && errno != EAGAIN) {
                perror("iroh: reading the log pipe");
                return EXIT_RPC;
            }
            if (n > 0 && !cli_write_all(STDOUT_FILENO, buf, (size_t)n)) return EXIT_RPC;
        }
    }
    return EXIT_OK;
}

static int cmd_logs(const struct options *opts, int argc, char **argv)
{
    json_object *params = json_object_new_object();
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-f") == 0 || strcmp(arg, "--follow") == 0) continue;
        if (strncmp(arg, "--level=", 8) == 0) {
            json_object_object_add(params, "level", json_object_new_string(arg + 8));
        } else if (strcmp(arg, "--level") == 0 && i + 1 < argc) {
            json_object_object_add(params, "level", json_object_new_string(argv[++i]));
        } else {
            json_object_put(params);
            return cli_usage_error("logs", "unexpected argument: ", arg);
        }
    }
    /* Plain lines come through a passed pipe; --json takes each event as a notification. */
    json_object_object_add(params, "fd", json_object_new_boolean(!opts->json));

    iroh_client *client = NULL;
    int rc = cli_open_client(opts, &client);
    iroh_response *response = NULL;
    if (rc == EXIT_OK) {
        iroh_client_on_notification(client, print_log_event, NULL);
        rc = cli_call(opts, client, "node.logs",
                      json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN), &response);
    }
    json_object_put(params);
    if (rc != EXIT_OK) {
        if (client) iroh_client_close(client);
        return rc;
    }
    int pipe = -1;
    if (!opts->json) {
        json_object *result = json_tokener_parse(iroh_response_result(response)), *index;
        if (json_object_object_get_ex(result, "fd", &index))
            pipe = iroh_response_take_fd(response, (size_t)json_object_get_int(index));
        json_object_put(result);
    }
    iroh_response_free(response);
    if (!opts->json && pipe < 0) {
        fprintf(stderr, "iroh: irohd answered node.logs without a log pipe\n");
        rc = EXIT_RPC;
    } else {
        rc = follow_logs(client, pipe);
    }
    if (pipe >= 0) close(pipe);
    iroh_client_close(client);
    return rc;
}

static const struct command commands[] = {
    {"status", "", "Show this node's identity and state.",
     "\nPrints the node's endpoint id, irohd's version, uptime, data directory, socket, the\n"
     "number of connected clients and the node's ticket. With --json, prints the result of\n"
     "node.status as it is.\n",
     cmd_status, NULL},
    {"id", "", "Print this node's endpoint id.",
     "\nPrints the 64 hex characters of the endpoint id (from node.status). With --json, prints\n"
     "{\"id\": ID}.\n",
     cmd_id, NULL},
    {"rpc", "METHOD [PARAMS]", "Call any API method.",
     "\nCalls METHOD with PARAMS, a JSON object (by name) or array (by position), and prints\n"
     "the result as JSON. On a JSON-RPC error, prints \"error CODE: MESSAGE\" and its data on\n"
     "stderr (with --json: the error object on stdout) and exits with 1. `iroh rpc rpc.discover`\n"
     "describes every method. Example:\n"
     "  iroh rpc node.logs '{\"level\": \"debug\"}'\n",
     cmd_rpc, NULL},
    {"logs", "[--level LEVEL] [--follow|-f]", "Stream irohd's log lines.",
     "\nSubscribes to irohd's log events from now on (node.logs) and prints them until\n"
     "interrupted (Ctrl-C) or until irohd stops; it always follows, and -f/--follow is accepted\n"
     "for habit's sake. LEVEL is the least severe level shown: error, warn, info (the default),\n"
     "debug or trace. The lines come through a pipe that irohd passes over the socket; with\n"
     "--json, each event is instead printed as one JSON object per line.\n",
     cmd_logs, NULL},
    {"ticket", "", "Print this node's endpoint ticket.",
     "\nPrints the endpoint ticket (endpoint.ticket): this node's id and direct addresses, what\n"
     "`iroh connect` and iroh's own tools dial. With --json, prints {\"ticket\": TICKET}.\n",
     cli_cmd_ticket, NULL},
    {"connect", "TICKET|ID [--addr IP:PORT]... --alpn ALPN",
     "Pipe stdin and stdout through a stream.",
     "\nDials a node by ticket, or by endpoint id and its direct addresses, offering ALPN\n"
     "(endpoint.connect), opens one bidirectional stream and copies stdin into it and the\n"
     "stream to stdout, netcat-style: the end of stdin finishes our side, and iroh exits when\n"
     "the peer finishes its side (0), or the stream or connection fails (1). --timeout MS\n"
     "bounds the dial (default 10 s). Example, against `iroh-example-echo accept`:\n"
     "  echo hello | iroh connect TICKET --alpn iroh-example/echo/0\n",
     cli_cmd_connect, NULL},
    {"listen", "--alpn ALPN [--once]", "Accept streams for an ALPN and pipe them.",
     "\nAccepts connections offering ALPN on behalf of this command (endpoint.listen; one\n"
     "owner per ALPN) and pipes every bidirectional stream the peers open, one after the\n"
     "other: the stream to stdout, stdin into the first stream (later ones are finished at\n"
     "once). Prints the ticket to dial on stderr. Runs until interrupted, or with --once until\n"
     "the first stream ends. Leaving closes the connections and releases the ALPN.\n",
     cli_cmd_listen, NULL},
    {"shutdown", "", "Stop irohd.",
     "\nAsks irohd to stop cleanly (node.shutdown). With --json, prints the result.\n",
     cmd_shutdown, NULL},
    {"blobs", "SUBCOMMAND [ARGS]", "Add, export, read, list and delete blobs.",
     "\nBlobs are content addressed by their BLAKE3 hash, printed as 64 hex digits (52 base32\n"
     "characters are accepted too). With --json (before the command), each subcommand prints\n"
     "the result of its API call. Long calls (add, export, cat, gc) wait as long as the work\n"
     "takes unless --timeout is given; Ctrl-C cancels them.\n",
     NULL, cli_blobs_commands},
    {"tags", "SUBCOMMAND [ARGS]", "List, read, set and delete named tags.",
     "\nA tag names a blob (or a hash sequence and its blobs) and protects it from blobs gc.\n"
     "With --json (before the command), each subcommand prints the result of its API call.\n",
     NULL, cli_tags_commands},
    {"help", "[COMMAND [SUBCOMMAND]]", "Show help for iroh or one command.", "", cmd_help, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

static const struct command *find_command(const struct command *table, const char *name)
{
    for (const struct command *cmd = table; cmd->name; cmd++)
        if (strcmp(cmd->name, name) == 0) return cmd;
    return NULL;
}

/* The help of cmd, a command or (with group) a subcommand. */
static void print_command_help(FILE *out, const struct command *group, const struct command *cmd)
{
    fprintf(out, "Usage: iroh [OPTIONS] %s%s%s%s%s\n\n%s\n", group ? group->name : "",
            group ? " " : "", cmd->name, *cmd->args ? " " : "", cmd->args, cmd->summary);
    if (cmd->subs) {
        fprintf(out, "\nSubcommands:\n");
        for (const struct command *sub = cmd->subs; sub->name; sub++)
            fprintf(out, "  %-8s %s\n", sub->name, sub->summary);
    }
    fputs(cmd->help, out);
    if (cmd->subs) fprintf(out, "See 'iroh help %s SUBCOMMAND'.\n", cmd->name);
}

static int cmd_help(const struct options *opts, int argc, char **argv)
{
    (void)opts;
    if (argc == 0) {
        print_usage(stdout);
        return EXIT_OK;
    }
    const struct command *cmd = find_command(commands, argv[0]), *sub = NULL;
    if (!cmd) return cli_usage_error("help", "unknown command: ", argv[0]);
    if (argc > (cmd->subs ? 2 : 1))
        return cli_usage_error("help", "unexpected argument: ", argv[cmd->subs ? 2 : 1]);
    if (argc == 2 && !(sub = find_command(cmd->subs, argv[1])))
        return cli_usage_error("help", "unknown subcommand: ", argv[1]);
    print_command_help(stdout, sub ? cmd : NULL, sub ? sub : cmd);
    return EXIT_OK;
}

static bool is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (is_help(argv[i])) return true;
    return false;
}

/* `iroh GROUP SUBCOMMAND ARGS`: runs the subcommand, or prints the help asked for. */
static int run_group(const struct options *opts, const struct command *group, int argc, char **argv)
{
    if (argc > 0 && is_help(argv[0])) {
        print_command_help(stdout, NULL, group);
        return EXIT_OK;
    }
    const struct command *sub = argc > 0 ? find_command(group->subs, argv[0]) : NULL;
    if (!sub) {
        if (argc == 0)
            fprintf(stderr, "iroh %s: missing subcommand\n\n", group->name);
        else
            fprintf(stderr, "iroh %s: unknown subcommand: %s\n\n", group->name, argv[0]);
        print_command_help(stderr, NULL, group);
        return EXIT_USAGE;
    }
    if (wants_help(argc - 1, argv + 1)) {
        print_command_help(stdout, group, sub);
        return EXIT_OK;
    }
    return sub->run(opts, argc - 1, argv + 1);
}

static void print_usage(FILE *out)
{
    char def[256];
    fprintf(out, "Usage: iroh [OPTIONS] COMMAND [ARGS]\n\n"
                 "Talks to irohd, the local iroh daemon, through its socket.\n\nCommands:\n");
    for (const struct command *cmd = commands; cmd->name; cmd++)
        fprintf(out, "  %-10s %s\n", cmd->name, cmd->summary);
    fprintf(out,
            "\nOptions (before the command):\n"
            "  --socket PATH  irohd's socket (default: %s,\n"
            "                 from $IROHD_SOCKET or $XDG_RUNTIME_DIR)\n"
            "  --json         print JSON instead of text\n"
            "  --timeout MS   how long to wait for each answer (default 10000, but forever for\n"
            "                 blobs add, export, cat and gc; < 0: forever)\n"
            "  -h, --help     show this help\n"
            "  --version      show the version\n\n"
            "Exit status: 0 success, 1 irohd answered with an error or the call failed,\n"
            "2 usage error, 3 irohd is not running.\n"
            "See 'iroh help COMMAND' and iroh(1).\n",
            iroh_client_default_socket(def, sizeof def) == 0 ? def : "none");
}

/* ---- main ---------------------------------------------------------------------------- */

/* The value of option `name` at argv[*i] ("--name VALUE" or "--name=VALUE"), or NULL if
 * argv[*i] is not that option. Sets *missing when the value is absent. */
static const char *option_value(const char *name, int argc, char **argv, int *i, bool *missing)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, n) != 0) return NULL;
    if (arg[n] == '=') return arg + n + 1;
    if (arg[n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static bool parse_timeout(const char *text, int *out)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || end == text || *end || value < INT_MIN || value > INT_MAX) return false;
    *out = (int)value;
    return true;
}

/* A wrong option gets a hint; a missing or unknown command the whole usage. */
static int global_usage_error(const char *what, const char *arg, bool usage)
{
    fprintf(stderr, "iroh: %s%s\n", what, arg);
    if (usage) {
        fputc('\n', stderr);
        print_usage(stderr);
    } else {
        fprintf(stderr, "Try 'iroh --help'.\n");
    }
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    struct options opts = {NULL, false, 10000, false};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *arg = argv[i], *value;
        bool missing = false;
        if (strcmp(arg, "--json") == 0) {
            opts.json = true;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_usage(stdout);
            return EXIT_OK;
        } else if (strcmp(arg, "--version") == 0) {
            printf("iroh %s (libiroh-client %s)\n", IROHD_VERSION, iroh_client_version());
            return EXIT_OK;
        } else if ((value = option_value("--socket", argc, argv, &i, &missing))) {
            opts.socket = value;
        } else if ((value = option_value("--timeout", argc, argv, &i, &missing))) {
            if (!parse_timeout(value, &opts.timeout_ms))
                return global_usage_error("--timeout needs a number of milliseconds, not ", value,
                                          false);
            opts.timeout_set = true;
        } else {
            return global_usage_error(missing ? "missing value for " : "unknown option ", arg,
                                      false);
        }
    }
    if (i == argc) return global_usage_error("missing command", "", true);
    const struct command *cmd = find_command(commands, argv[i]);
    if (!cmd) return global_usage_error("unknown command: ", argv[i], true);
    if (cmd->subs) return run_group(&opts, cmd, argc - i - 1, argv + i + 1);
    if (wants_help(argc - i - 1, argv + i + 1)) return cmd_help(&opts, 1, argv + i);
    return cmd->run(&opts, argc - i - 1, argv + i + 1);
}
