/* hostcaps.c — host capability checks done by trying or by reading what the kernel exposes. */
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "hostcaps.h"

void feature_missing(struct features *f, const char *fmt, ...)
{
	va_list ap;
	char buf[256];

	if (f->nmissing == FEAT_MAX_MISSING)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	f->missing[f->nmissing++] = strdup(buf);
}

static bool has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "re");

	if (!fp)
		return -1;
	if (!fgets(buf, (int)len, fp)) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

void features_detect(struct features *f)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[2] = {};
	struct perf_event_attr pa = { .type = PERF_TYPE_SOFTWARE, .size = sizeof(pa),
				      .config = PERF_COUNT_SW_CPU_CLOCK, .sample_freq = 99, .freq = 1,
				      .disabled = 1 };
	struct utsname u;
	char buf[256];
	int fd;

	memset(f, 0, sizeof(*f));
	f->paranoid = 2;
	if (!uname(&u))
		snprintf(f->kernel, sizeof(f->kernel), "%s", u.release);

	f->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	if (!f->btf)
		feature_missing(f, "BTF: /sys/kernel/btf/vmlinux is missing (kernel built without CONFIG_DEBUG_INFO_BTF)");

	if (syscall(SYS_capget, &hdr, caps) == 0)
		f->bpf_allowed = has_cap(caps, 21 /* CAP_SYS_ADMIN */) ||
				 (has_cap(caps, 39 /* CAP_BPF */) && has_cap(caps, 38 /* CAP_PERFMON */));
	if (!f->bpf_allowed)
		feature_missing(f, "CAP_BPF: run as root, or grant CAP_BPF and CAP_PERFMON (setcap cap_bpf,cap_perfmon+ep)");

	if (!read_line("/proc/sys/kernel/perf_event_paranoid", buf, sizeof(buf)))
		f->paranoid = atoi(buf);
	if (f->paranoid > 1 && !f->bpf_allowed)
		feature_missing(f, "perf_event_paranoid: kernel.perf_event_paranoid=%d: without CAP_PERFMON, probing and "
				   "sampling other processes needs 1 or less (or -1 for kernel stacks)", f->paranoid);

	if (!read_line("/sys/kernel/security/lockdown", buf, sizeof(buf))) {
		char *a = strchr(buf, '['), *b = a ? strchr(a, ']') : NULL;
		if (a && b)
			snprintf(f->lockdown, sizeof(f->lockdown), "%.*s", (int)(b - a - 1), a + 1);
		if (!strcmp(f->lockdown, "confidentiality"))
			feature_missing(f, "lockdown: kernel lockdown=confidentiality forbids BPF reading kernel memory");
	}

	f->uprobes = access("/sys/bus/event_source/devices/uprobe/type", R_OK) == 0;
	if (!f->uprobes)
		feature_missing(f, "uprobes: no uprobe perf PMU (/sys/bus/event_source/devices/uprobe; CONFIG_UPROBE_EVENTS off)");
	f->usdt = f->uprobes;
	f->tracepoints = f->btf; /* raw_tp by name */
	f->kprobes = access("/sys/bus/event_source/devices/kprobe/type", R_OK) == 0;
	if (!f->kprobes)
		feature_missing(f, "kprobes: this kernel has no kprobes (no /sys/bus/event_source/devices/kprobe, no "
				   "kprobe_events; CONFIG_KPROBES off): use tracepoint: stages for the kernel path");

	fd = (int)syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0);
	f->perf_cpu_clock = fd >= 0;
	if (fd >= 0)
		close(fd);
	else
		feature_missing(f, "perf_cpu_clock: perf_event_open(cpu-clock) failed: stack sampling unavailable");
}

void features_free(struct features *f)
{
	for (int i = 0; i < f->nmissing; i++)
		free(f->missing[i]);
	f->nmissing = 0;
}
