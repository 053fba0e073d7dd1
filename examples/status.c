/* status.c — the smallest app on libiroh-client: connects to the running irohd, prints the
 * node's endpoint id and ticket, then follows irohd's log for a few events. Build it against
 * an installed library with:
 *   cc status.c $(pkg-config --cflags --libs iroh-client) -o iroh-example-status */
#include <iroh/client.h>
#include <stdio.h>
#include <string.h>

static int events_left;

static void on_notification(iroh_client *client, const char *method, const char *params_json,
                            void *userdata)
{
    (void)client, (void)userdata;
    if (strcmp(method, "node.log") == 0 && events_left > 0) {
        printf("log event: %s\n", params_json);
        events_left--;
    }
}

int main(int argc, char **argv)
{
    iroh_client *client;
    int rc = iroh_client_connect(argc > 1 ? argv[1] : NULL, &client);
    if (rc < 0) {
        fprintf(stderr, "cannot reach irohd: %s\n", iroh_strerror(rc));
        return 1;
    }
    iroh_response *status;
    rc = iroh_client_call(client, "node.status", NULL, 5000, &status);
    if (rc < 0 || iroh_response_error_code(status) != 0) {
        fprintf(stderr, "node.status failed: %s\n",
                rc < 0 ? iroh_strerror(rc) : iroh_response_error_message(status));
        iroh_client_close(client);
        return 1;
    }
    printf("node.status: %s\n", iroh_response_result(status));
    iroh_response_free(status);

    /* Subscribe to debug-level log events, then make one happen: a second connection. */
    iroh_response *sub;
    iroh_client_on_notification(client, on_notification, NULL);
    events_left = 1;
    rc = iroh_client_call(client, "node.logs", "{\"level\":\"debug\"}", 5000, &sub);
    if (rc == 0) {
        printf("subscribed: %s\n", iroh_response_result(sub));
        iroh_response_free(sub);
        iroh_client *other;
        if (iroh_client_connect(argc > 1 ? argv[1] : NULL, &other) == 0)
            iroh_client_close(other);
        /* Any call pumps the connection; notifications arrive through the callback. */
        for (int i = 0; i < 50 && events_left > 0; i++) {
            iroh_response *r;
            if (iroh_client_call(client, "node.status", NULL, 5000, &r) == 0)
                iroh_response_free(r);
        }
    }
    iroh_client_close(client);
    return events_left == 0 ? 0 : 1;
}
