/* fail_msg.c — see fail_msg.h. */
#include <stdarg.h>
#include <stdio.h>
#include "fail_msg.h"

int fail_msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return -1;
}
