/* fail_msg.h — a one-line error message written into the caller's buffer (fail_msg.c). */
#ifndef PKTPATH_FAIL_MSG_H
#define PKTPATH_FAIL_MSG_H
#include <stddef.h>

/* Formats the message into buf (cut to len) and returns -1, so a check can end with
 * `return fail_msg(err, len, ...)`. */
int fail_msg(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif
