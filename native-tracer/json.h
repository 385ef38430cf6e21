/* json.h — the one JSON string writer for the tracer stream. Every name that reaches the stream
 * (symbols, paths, messages) is untrusted bytes, so it goes through here and nowhere else. */
#ifndef PKTPATH_JSON_H
#define PKTPATH_JSON_H
#include <stdio.h>
#include <stddef.h>

/* Writes s[0..len) as a quoted JSON string: '"' and '\\' escaped, control characters and DEL as
 * \n/\t/... or \u00XX, U+2028/U+2029 as \u escapes (JavaScript-safe), and every byte sequence
 * that is not well-formed UTF-8 (overlong, surrogate, > U+10FFFF, truncated) as one \uFFFD per
 * offending byte. The output is always valid JSON and valid UTF-8. */
void json_write_str(FILE *out, const char *s, size_t len);

/* Same for a NUL-terminated string; NULL writes the JSON literal null. */
void json_write_strz(FILE *out, const char *s);

#endif
