/* x86_call.c — see x86_call.h. Only the encodings compilers emit for calls and prologues. */
#include "x86_call.h"
#include <string.h>

/* Length of an `ff /2` (call near, indirect) whose ModRM byte is m[0], or 0 when it is not one. */
static unsigned indirect_call_len(const unsigned char *m)
{
	unsigned mod = m[0] >> 6, reg = (m[0] >> 3) & 7, rm = m[0] & 7, len = 2;
	if (reg != 2)
		return 0;
	if (mod == 3)
		return len;
	if (rm == 4) { /* SIB */
		len++;
		if (mod == 0 && (m[1] & 7) == 5)
			len += 4;
	} else if (mod == 0 && rm == 5) {
		len += 4; /* rip-relative */
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return len;
}

bool x86_direct_call(const unsigned char b[5], int *rel)
{
	if (b[0] != 0xe8)
		return false;
	memcpy(rel, b + 1, 4);
	return true;
}

bool x86_ends_in_indirect_call(const unsigned char b[8])
{
	static const unsigned lens[] = {2, 3, 4, 6, 7};
	unsigned char p[9] = {0}; /* the ModRM reader may look one byte past a 2-byte form's end */

	memcpy(p, b, 8);
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		const unsigned char *op = p + 8 - lens[i];
		if (op[0] == 0xff && indirect_call_len(op + 1) == lens[i])
			return true;
	}
	return false;
}

unsigned x86_fp_prologue_len(const unsigned char b[8])
{
	static const unsigned char pro[] = {0x55, 0x48, 0x89, 0xe5};
	static const unsigned char endbr[] = {0xf3, 0x0f, 0x1e, 0xfa};

	if (!memcmp(b, pro, 4))
		return 4;
	if (!memcmp(b, endbr, 4) && !memcmp(b + 4, pro, 4))
		return 8;
	return 0;
}
