/* log.h — irohd's log: one line per event on stderr (journald-friendly), plus live subscribers
 * (node.logs). Called from the loop thread only; every module may log. */
#ifndef IROHD_LOG_H
#define IROHD_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

/* Parses "error", "warn", "info", "debug" or "trace". Returns the level or -1. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);
/* Events less severe than level are not written to stderr (subscribers choose their own). */
void log_set_stderr_level(enum log_level level);

/* A live consumer of events (see node_service.c). `wants` is the least severe level it
 * takes. Called synchronously for each event; must not log. */
struct log_event {
    enum log_level level;
    const char *component;
    const char *message;
    double time; /* seconds since the Unix epoch */
};
typedef void log_sink_fn(const struct log_event *event, void *ctx);
/* Sets the one sink (NULL to clear) and the least severe level it wants. */
void log_set_sink(log_sink_fn *sink, void *ctx, enum log_level wants);

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(comp, ...) log_msg(LOG_ERROR, comp, __VA_ARGS__)
#define log_warn(comp, ...) log_msg(LOG_WARN, comp, __VA_ARGS__)
#define log_info(comp, ...) log_msg(LOG_INFO, comp, __VA_ARGS__)
#define log_debug(comp, ...) log_msg(LOG_DEBUG, comp, __VA_ARGS__)

#endif
