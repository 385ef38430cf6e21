/* gen.c — a bounded, rate-limited UDP generator for the demo lab.
 *
 * Sends tagged UDP datagrams at --pps for --count packets or --seconds, whichever is given (both:
 * the first limit reached), with hard caps so it always stops by itself. Packets are paced against
 * an absolute schedule (packet i is due at start + i/pps), so short stalls are caught up instead
 * of lowering the rate. Prints {"sent":N,"errors":E,"elapsed_s":S} on exit.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tag.h"

#define GEN_MAX_PPS 200000UL
#define GEN_MAX_SECONDS 600UL
#define GEN_MAX_COUNT (GEN_MAX_PPS * 60UL)
#define GEN_MAX_PAYLOAD 1400UL

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: gen --dst IP [--port N] --pps N (--count N | --seconds N) [--tag N] [--size BYTES]\n"
			"  caps: pps <= %lu, seconds <= %lu, count <= %lu, size <= %lu\n",
		GEN_MAX_PPS, GEN_MAX_SECONDS, GEN_MAX_COUNT, GEN_MAX_PAYLOAD);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dst", required_argument, NULL, 'd' },   { "port", required_argument, NULL, 'p' },
		{ "pps", required_argument, NULL, 'r' },   { "count", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' }, { "tag", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 'z' },  { NULL, 0, NULL, 0 },
	};
	const char *dst = NULL;
	unsigned long port = 9000, pps = 0, count = 0, seconds = 0, tag = 0, size = sizeof(struct demo_payload);
	int c, idx = 0;
	while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		int bad = 0;
		switch (c) {
		case 'd': dst = optarg; break;
		case 'p': bad = parse_ulong(optarg, 1, 65535, &port); break;
		case 'r': bad = parse_ulong(optarg, 1, GEN_MAX_PPS, &pps); break;
		case 'c': bad = parse_ulong(optarg, 1, GEN_MAX_COUNT, &count); break;
		case 's': bad = parse_ulong(optarg, 1, GEN_MAX_SECONDS, &seconds); break;
		case 't': bad = parse_ulong(optarg, 0, 0xffffffffUL, &tag); break;
		case 'z': bad = parse_ulong(optarg, sizeof(struct demo_payload), GEN_MAX_PAYLOAD, &size); break;
		default: usage(); return 2;
		}
		if (bad) {
			fprintf(stderr, "gen: bad or out-of-range value for --%s: '%s'\n", longopts[idx].name, optarg);
			usage();
			return 2;
		}
	}
	if (!dst || !pps || (!count && !seconds) || optind < argc) {
		usage();
		return 2;
	}
	unsigned long limit = count ? count : GEN_MAX_COUNT;
	if (seconds && pps * seconds < limit)
		limit = pps * seconds;

	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, dst, &to.sin_addr) != 1) {
		fprintf(stderr, "gen: --dst wants an IPv4 address, got '%s'\n", dst);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("gen: socket/connect");
		return 1;
	}
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	unsigned char buf[GEN_MAX_PAYLOAD];
	memset(buf, 0, sizeof(buf));
	struct demo_payload *pl = (struct demo_payload *)buf;
	memcpy(pl->magic, DEMO_MAGIC, sizeof(pl->magic));
	pl->tag = htonl((uint32_t)tag);

	unsigned long sent = 0, errors = 0, i = 0;
	const uint64_t t0 = now_ns(), deadline = t0 + (seconds ? seconds : GEN_MAX_SECONDS) * 1000000000ULL + 1000000000ULL;
	while (i < limit && !quit) {
		uint64_t t = now_ns();
		if (t > deadline)
			break; /* the hard time cap, even if sends stall */
		unsigned long due = (unsigned long)((t - t0) * pps / 1000000000ULL) + 1;
		if (due > limit)
			due = limit;
		for (; i < due && !quit; i++) {
			pl->seq = i;
			if (send(fd, buf, size, 0) == (ssize_t)size)
				sent++;
			else
				errors++;
		}
		if (i >= limit)
			break;
		uint64_t next = t0 + (uint64_t)i * 1000000000ULL / pps;
		uint64_t after = now_ns();
		if (next > after) {
			struct timespec ts = { (time_t)((next - after) / 1000000000ULL), (long)((next - after) % 1000000000ULL) };
			nanosleep(&ts, NULL);
		}
	}
	double elapsed = (double)(now_ns() - t0) / 1e9;
	printf("{\"sent\":%lu,\"errors\":%lu,\"elapsed_s\":%.3f}\n", sent, errors, elapsed);
	close(fd);
	return 0;
}
