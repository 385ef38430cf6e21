/* fde_ranges.c — FDE bounds from .eh_frame_hdr's search table and each FDE's pc_range (see
 * fde_ranges.h). Every read is bounds-checked against the file image: the file is untrusted. */
#include "fde_ranges.h"
#include <gelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* DW_EH_PE_* pointer encodings (LSB "Exception Frames") */
#define PE_OMIT 0xff
#define PE_FMT 0x0f
#define PE_APP 0x70
#define PE_ABS 0x00
#define PE_PCREL 0x10
#define PE_DATAREL 0x30

struct image {
	const unsigned char *p;
	size_t n;
	GElf_Phdr load[16];
	int nload;
};

static bool to_off(const struct image *im, unsigned long long va, size_t *off)
{
	for (int i = 0; i < im->nload; i++) {
		const GElf_Phdr *ph = &im->load[i];
		if (va >= ph->p_vaddr && va < ph->p_vaddr + ph->p_filesz) {
			unsigned long long o = va - ph->p_vaddr + ph->p_offset;
			if (o >= im->n)
				return false;
			*off = (size_t)o;
			return true;
		}
	}
	return false;
}

static bool uleb(const struct image *im, size_t *pos, unsigned long long *v)
{
	unsigned shift = 0;
	*v = 0;
	while (*pos < im->n && shift < 64) {
		unsigned char b = im->p[(*pos)++];
		*v |= (unsigned long long)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
		shift += 7;
	}
	return false;
}

static bool sleb(const struct image *im, size_t *pos, long long *v)
{
	unsigned long long u = 0;
	unsigned shift = 0;
	unsigned char b = 0x80;
	while ((b & 0x80) && *pos < im->n && shift < 64) {
		b = im->p[(*pos)++];
		u |= (unsigned long long)(b & 0x7f) << shift;
		shift += 7;
	}
	if (b & 0x80)
		return false;
	if (shift < 64 && (b & 0x40))
		u |= ~0ull << shift;
	*v = (long long)u;
	return true;
}

/* Reads an encoded pointer at file offset *pos; `va` is the field's own address (pcrel), `data`
 * the datarel base. Indirect and other applications are refused (none occur in these tables). */
static bool read_enc(const struct image *im, size_t *pos, unsigned char enc, unsigned long long va,
		     unsigned long long data, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t sz = 0;
	bool sign = false;

	if (enc == PE_OMIT || (enc & 0x80))
		return false;
	switch (enc & PE_FMT) {
	case 0x00: sz = 8; break;              /* absptr (64-bit ELF) */
	case 0x02: sz = 2; break;              /* udata2 */
	case 0x03: sz = 4; break;              /* udata4 */
	case 0x04: case 0x0c: sz = 8; break;   /* udata8, sdata8 */
	case 0x0a: sz = 2; sign = true; break; /* sdata2 */
	case 0x0b: sz = 4; sign = true; break; /* sdata4 */
	case 0x01: if (!uleb(im, pos, &v)) return false; break;
	case 0x09: { long long s; if (!sleb(im, pos, &s)) return false; v = (unsigned long long)s; break; }
	default: return false;
	}
	if (sz) {
		if (*pos + sz > im->n)
			return false;
		if (sz == 2) {
			uint16_t x;
			memcpy(&x, im->p + *pos, 2);
			v = sign ? (unsigned long long)(long long)(int16_t)x : x;
		} else if (sz == 4) {
			uint32_t x;
			memcpy(&x, im->p + *pos, 4);
			v = sign ? (unsigned long long)(long long)(int32_t)x : x;
		} else {
			memcpy(&v, im->p + *pos, 8);
		}
		*pos += sz;
	}
	switch (enc & PE_APP) {
	case PE_ABS: break;
	case PE_PCREL: v += va; break;
	case PE_DATAREL: v += data; break;
	default: return false;
	}
	*out = v;
	return true;
}

/* The FDE pointer encoding ('R' augmentation) of the CIE at file offset `off`; absptr without one. */
static bool cie_fde_encoding(const struct image *im, size_t off, unsigned char *enc)
{
	size_t pos = off, end;
	uint32_t len32, id;
	unsigned long long tmp;
	long long stmp;
	const char *aug;
	size_t auglen;
	unsigned char ver;

	if (pos + 8 > im->n)
		return false;
	memcpy(&len32, im->p + pos, 4);
	if (len32 == 0xffffffffu || len32 == 0)
		return false; /* 64-bit DWARF in .eh_frame does not occur in practice */
	end = pos + 4 + len32;
	if (end > im->n)
		return false;
	memcpy(&id, im->p + pos + 4, 4);
	if (id != 0)
		return false;
	pos += 8;
	ver = im->p[pos++];
	aug = (const char *)im->p + pos;
	auglen = strnlen(aug, end - pos);
	if (pos + auglen >= end)
		return false;
	pos += auglen + 1;
	if (strstr(aug, "eh"))
		pos += 8;
	if (!uleb(im, &pos, &tmp) || !sleb(im, &pos, &stmp))
		return false;
	if (ver == 1)
		pos++;
	else if (!uleb(im, &pos, &tmp))
		return false;
	*enc = PE_ABS;
	if (aug[0] != 'z')
		return true;
	if (!uleb(im, &pos, &tmp))
		return false;
	for (const char *a = aug + 1; *a && pos < end; a++) {
		unsigned char e;
		switch (*a) {
		case 'R':
			*enc = im->p[pos];
			return true;
		case 'L':
			pos++;
			break;
		case 'P':
			e = im->p[pos++];
			if (!read_enc(im, &pos, e & 0x7f, 0, 0, &tmp))
				return false;
			break;
		case 'S': case 'B':
			break;
		default:
			return true; /* unknown augmentation: the 'z' length would skip it, R not seen */
		}
	}
	return true;
}

/* The range of the FDE at address fde_va; its pc_begin must equal `start` (the table's entry). */
struct cie_memo {
	size_t off;
	unsigned char enc;
	bool ok;
};

static bool fde_size(const struct image *im, unsigned long long fde_va, unsigned long long start,
		     struct cie_memo *memo, unsigned long long *size)
{
	size_t off, pos, cie;
	uint32_t len32, cptr;
	unsigned long long begin, range;
	unsigned char enc;

	if (!to_off(im, fde_va, &off) || off + 8 > im->n)
		return false;
	memcpy(&len32, im->p + off, 4);
	memcpy(&cptr, im->p + off + 4, 4);
	if (len32 == 0 || len32 == 0xffffffffu || cptr == 0 || cptr > off + 4 || off + 4 + len32 > im->n)
		return false;
	cie = off + 4 - cptr;
	/* FDEs share a handful of CIEs, mostly in runs: remember the last one */
	if (!memo->ok || memo->off != cie) {
		memo->off = cie;
		memo->ok = cie_fde_encoding(im, cie, &memo->enc);
	}
	if (!memo->ok)
		return false;
	enc = memo->enc;
	pos = off + 8;
	if (!read_enc(im, &pos, enc, fde_va + 8, 0, &begin) || begin != start)
		return false;
	if (!read_enc(im, &pos, enc & PE_FMT, 0, 0, &range))
		return false;
	*size = range;
	return true;
}

size_t fde_ranges_read(Elf *elf, struct fde_span **out)
{
	struct image im = {0};
	GElf_Phdr hdr = {0};
	size_t phnum, pos, n = 0;
	unsigned long long ehp, count, hva;
	unsigned char fenc, cenc, tenc;
	struct fde_span *r;
	struct cie_memo memo = {0};
	bool have_hdr = false;

	*out = NULL;
	im.p = (const unsigned char *)elf_rawfile(elf, &im.n);
	if (!im.p || elf_getphdrnum(elf, &phnum))
		return 0;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, i, &ph))
			continue;
		if (ph.p_type == PT_LOAD && im.nload < 16)
			im.load[im.nload++] = ph;
		else if (ph.p_type == PT_GNU_EH_FRAME) {
			hdr = ph;
			have_hdr = true;
		}
	}
	if (!have_hdr || hdr.p_offset + 4 > im.n || hdr.p_offset + hdr.p_filesz > im.n)
		return 0;
	pos = hdr.p_offset;
	hva = hdr.p_vaddr;
	if (im.p[pos] != 1)
		return 0;
	fenc = im.p[pos + 1];
	cenc = im.p[pos + 2];
	tenc = im.p[pos + 3];
	pos += 4;
	if (!read_enc(&im, &pos, fenc, hva + 4, hva, &ehp) ||
	    !read_enc(&im, &pos, cenc, hva + (pos - hdr.p_offset), hva, &count))
		return 0;
	/* a table the header cannot hold is corrupt: nothing from it */
	if (tenc == PE_OMIT || count == 0 || count > (hdr.p_filesz - (pos - hdr.p_offset)) / 8)
		return 0;
	r = malloc(count * sizeof(*r));
	if (!r)
		return 0;
	for (unsigned long long i = 0; i < count; i++) {
		unsigned long long start, fde, size;
		if (!read_enc(&im, &pos, tenc, hva + (pos - hdr.p_offset), hva, &start) ||
		    !read_enc(&im, &pos, tenc, hva + (pos - hdr.p_offset), hva, &fde))
			break;
		if (!fde_size(&im, fde, start, &memo, &size) || !size)
			continue;
		/* the table is sorted; a file that says otherwise is not trusted further */
		if (n && start < r[n - 1].start)
			break;
		r[n++] = (struct fde_span){ start, size };
	}
	if (!n) {
		free(r);
		return 0;
	}
	*out = r;
	return n;
}

const struct fde_span *fde_ranges_find(const struct fde_span *r, size_t n, unsigned long long a)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r[mid].start <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || a >= r[lo - 1].start + r[lo - 1].size)
		return NULL;
	return &r[lo - 1];
}
