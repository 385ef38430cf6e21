/* Unit test of the JSON string writer against hand-checked expectations. */
#include "../json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void check(const char *in, size_t len, const char *want)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	json_write_str(f, in, len);
	fclose(f);
	if (strcmp(buf, want) != 0) {
		fprintf(stderr, "FAIL: got %s want %s\n", buf, want);
		failures++;
	}
	free(buf);
}

#define CHECK(lit, want) check(lit, sizeof(lit) - 1, want)

int main(void)
{
	CHECK("plain", "\"plain\"");
	CHECK("a\"b\\c", "\"a\\\"b\\\\c\"");
	CHECK("<img src=x onerror=alert(1)>", "\"<img src=x onerror=alert(1)>\"");
	CHECK("\n\r\t\b\f\x01\x1f\x7f", "\"\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f\"");
	CHECK("nul\0x", "\"nul\\u0000x\"");
	CHECK("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	CHECK("\xc0\xaf", "\"\\ufffd\\ufffd\"");             /* overlong '/' */
	CHECK("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* UTF-16 surrogate */
	CHECK("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
	CHECK("\xe2\x82", "\"\\ufffd\\ufffd\"");            /* truncated */
	CHECK("\xff" "a", "\"\\ufffda\"");
	CHECK("\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\"");
	{
		char *buf = NULL;
		size_t sz = 0;
		FILE *f = open_memstream(&buf, &sz);
		json_write_strz(f, NULL);
		fclose(f);
		if (strcmp(buf, "null")) {
			fprintf(stderr, "FAIL: NULL gave %s\n", buf);
			failures++;
		}
		free(buf);
	}
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("json: ok\n");
	return 0;
}
