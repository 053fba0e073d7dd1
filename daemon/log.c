/* log.c — stderr lines and the subscriber sink; see log.h.
 * Under systemd (JOURNAL_STREAM set) each line starts with a <N> priority prefix and no time,
 * since journald stamps lines itself; elsewhere lines start with an ISO 8601 UTC time. */
#include "daemon/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level stderr_level = LOG_INFO;
static log_sink_fn *sink;
static void *sink_ctx;
static enum log_level sink_level;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

int log_level_parse(const char *name)
{
    for (int i = 0; i <= LOG_TRACE; i++)
        if (strcmp(name, level_names[i]) == 0) return i;
    return -1;
}

const char *log_level_name(enum log_level level)
{
    return level_names[level];
}

void log_set_stderr_level(enum log_level level)
{
    stderr_level = level;
}

void log_set_sink(log_sink_fn *fn, void *ctx, enum log_level wants)
{
    sink = fn;
    sink_ctx = ctx;
    sink_level = wants;
}

static bool under_journald(void)
{
    static int cached = -1;
    if (cached < 0) cached = getenv("JOURNAL_STREAM") != NULL;
    return cached;
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
    bool to_stderr = level <= stderr_level;
    bool to_sink = sink && level <= sink_level;
    if (!to_stderr && !to_sink) return;

    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* One event is one line, whatever the message holds. */
    for (char *p = message; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (to_stderr) {
        static const int syslog_priority[] = {3, 4, 6, 7, 7};
        if (under_journald()) {
            fprintf(stderr, "<%d>%s %s: %s\n", syslog_priority[level], level_names[level],
                    component, message);
        } else {
            struct tm tm;
            gmtime_r(&now.tv_sec, &tm);
            fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: %s\n", tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                    now.tv_nsec / 1000000, level_names[level], component, message);
        }
    }
    if (to_sink) {
        struct log_event ev = {level, component, message, now.tv_sec + now.tv_nsec / 1e9};
        sink(&ev, sink_ctx);
    }
}
