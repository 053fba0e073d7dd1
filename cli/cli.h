/* cli.h — what the files of the `iroh` command share: its options and exit codes, the command
 * table, and the helpers that talk to irohd and print (defined in iroh.c). blobs_cmd.c defines
 * the subcommands of `iroh blobs` and `iroh tags` with them, net_cmd.c `iroh ticket`, `connect`
 * and `listen`; iroh.c dispatches to them. */
#ifndef IROH_CLI_H
#define IROH_CLI_H

#include <iroh/client.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

enum exit_code {
    EXIT_OK = 0,
    EXIT_RPC = 1,         /* irohd answered with an error, or the call failed */
    EXIT_USAGE = 2,       /* the command line is wrong */
    EXIT_NOT_RUNNING = 3, /* nothing listens on the socket */
};

struct options {
    const char *socket; /* NULL: the library's default */
    bool json;
    int timeout_ms;
    bool timeout_set; /* --timeout was given (long-running commands otherwise wait forever) */
};

struct command {
    const char *name;
    const char *args;    /* synopsis after the name */
    const char *summary; /* one line for the command list */
    const char *help;    /* the rest of `iroh help NAME` */
    int (*run)(const struct options *opts, int argc, char **argv);
    const struct command *subs; /* a group (run is NULL): its subcommands, ending with {NULL} */
};

/* The subcommands of `iroh blobs` and `iroh tags` (blobs_cmd.c). */
extern const struct command cli_blobs_commands[];
extern const struct command cli_tags_commands[];

/* `iroh ticket`, `iroh connect` and `iroh listen` (net_cmd.c). */
int cli_cmd_ticket(const struct options *opts, int argc, char **argv);
int cli_cmd_connect(const struct options *opts, int argc, char **argv);
int cli_cmd_listen(const struct options *opts, int argc, char **argv);

/* Prints a JSON value, pretty, on stdout. */
void cli_print_json(json_object *value);
/* Connects; on failure prints what to do and returns the exit code. */
int cli_open_client(const struct options *opts, iroh_client **client);
/* Calls method and leaves a successful result in *out. Prints any failure and returns the
 * exit code. */
int cli_call(const struct options *opts, iroh_client *client, const char *method,
             const char *params, iroh_response **out);
/* Hands the result of a successful call to show, which prints it, and frees response. */
void cli_show_result(const struct options *opts, iroh_response *response,
                     void (*show)(const struct options *opts, json_object *result));
/* Connects, makes one call and hands its result to show, which prints it. */
int cli_call_and_show(const struct options *opts, const char *method, const char *params,
                      void (*show)(const struct options *opts, json_object *result));
/* Prints "iroh COMMAND: WHAT ARG" and a hint to the help on stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *command, const char *what, const char *arg);
/* The member key of obj as a string, or "-". */
const char *cli_field(json_object *obj, const char *key);
/* Writes all of buf to fd (retrying short writes and EINTR); false on failure. */
bool cli_write_all(int fd, const char *buf, size_t len);

#endif
