/* test_fde_ranges.c — the FDE ranges read from .eh_frame_hdr against binutils' readelf
 * (--debug-dump=frames), for each file named on the command line. */
#include "../fde_ranges.h"
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

static int cmp(const void *a, const void *b)
{
	const struct fde_span *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void check_file(const char *path)
{
	char cmd[PATH_MAX + 64], line[512];
	struct fde_span *mine = NULL, *ref = NULL;
	size_t n, nref = 0, cap = 0, missing = 0, wrong = 0;
	FILE *p;
	Elf *elf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || !(elf = elf_begin(fd, ELF_C_READ_MMAP, NULL))) {
		fprintf(stderr, "FAIL cannot open %s\n", path);
		failures++;
		return;
	}
	n = fde_ranges_read(elf, &mine);
	snprintf(cmd, sizeof(cmd), "readelf --debug-dump=frames '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		unsigned long long a, b;
		char *q = strstr(line, " FDE ");
		if (!q || !(q = strstr(q, "pc=")) || sscanf(q, "pc=%llx..%llx", &a, &b) != 2 || b <= a)
			continue;
		if (nref == cap) {
			cap = cap ? cap * 2 : 1024;
			ref = realloc(ref, cap * sizeof(*ref));
		}
		ref[nref++] = (struct fde_span){ a, b - a };
	}
	if (p)
		pclose(p);
	qsort(ref, nref, sizeof(*ref), cmp);
	/* every FDE readelf lists is found by its start and has its size; every address inside one
	 * finds it; one byte past its end finds it no more (unless the next one starts there) */
	for (size_t i = 0; i < nref; i++) {
		const struct fde_span *f = fde_ranges_find(mine, n, ref[i].start);
		const struct fde_span *g = fde_ranges_find(mine, n, ref[i].start + ref[i].size - 1);
		if (!f || f->start != ref[i].start) {
			missing++;
			continue;
		}
		if (f->size != ref[i].size || g != f)
			wrong++;
	}
	if (n != nref || missing || wrong) {
		fprintf(stderr, "FAIL %s: read %zu FDE ranges, readelf lists %zu; %zu missing, %zu wrong\n", path, n,
			nref, missing, wrong);
		failures++;
	} else {
		printf("ok %s: %zu FDE ranges as readelf lists them\n", path, n);
	}
	if (n && fde_ranges_find(mine, n, mine[0].start - 1)) {
		fprintf(stderr, "FAIL %s: an address before the first FDE found one\n", path);
		failures++;
	}
	free(mine);
	free(ref);
	elf_end(elf);
	close(fd);
}

int main(int argc, char **argv)
{
	elf_version(EV_CURRENT);
	for (int i = 1; i < argc; i++)
		check_file(argv[i]);
	/* a file without a search table yields nothing rather than a guess */
	{
		static const char not_elf[] = "this is not an ELF file at all";
		Elf *e = elf_memory((char *)not_elf, sizeof(not_elf));
		struct fde_span *r = NULL;
		if (e && fde_ranges_read(e, &r) != 0) {
			fprintf(stderr, "FAIL ranges from a non-ELF buffer\n");
			failures++;
		}
		if (e)
			elf_end(e);
	}
	return failures ? 1 : 0;
}
