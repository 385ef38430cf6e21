/* sink.c — the demo lab's counting sink.
 *
 * Binds a UDP port in its namespace and counts datagrams that carry the generator's magic and tag.
 * Prints {"listening":PORT} once bound, and {"received":N,...} when it exits: --idle-ms after the
 * last counted packet, --first-wait-ms if none ever comes, on SIGINT/SIGTERM, or at --max-seconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tag.h"

#define SINK_MAX_SECONDS 3600UL
#define SINK_VLEN 64

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000ULL + (uint64_t)ts.tv_nsec / 1000000ULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },      { "tag", required_argument, NULL, 't' },
		{ "idle-ms", required_argument, NULL, 'i' },   { "first-wait-ms", required_argument, NULL, 'f' },
		{ "max-seconds", required_argument, NULL, 'm' }, { "bind", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long port = 9000, tag = 0, idle_ms = 1000, first_wait_ms = 15000, max_seconds = 600;
	const char *bind_ip = "0.0.0.0";
	int c, idx = 0;
	while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		int bad = 0;
		switch (c) {
		case 'p': bad = parse_ulong(optarg, 1, 65535, &port); break;
		case 't': bad = parse_ulong(optarg, 0, 0xffffffffUL, &tag); break;
		case 'i': bad = parse_ulong(optarg, 1, 600000, &idle_ms); break;
		case 'f': bad = parse_ulong(optarg, 1, 600000, &first_wait_ms); break;
		case 'm': bad = parse_ulong(optarg, 1, SINK_MAX_SECONDS, &max_seconds); break;
		case 'b': bind_ip = optarg; break;
		default:
			fprintf(stderr, "usage: sink [--port N] [--tag N] [--idle-ms N] [--first-wait-ms N] [--max-seconds N] [--bind IP]\n");
			return 2;
		}
		if (bad) {
			fprintf(stderr, "sink: bad or out-of-range value for --%s: '%s'\n", longopts[idx].name, optarg);
			return 2;
		}
	}
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, bind_ip, &me.sin_addr) != 1) {
		fprintf(stderr, "sink: --bind wants an IPv4 address, got '%s'\n", bind_ip);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int rcvbuf = 8 << 20; /* bursts from the forwarder must not overflow the socket */
	if (fd < 0 || (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0 &&
		       setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) ||
	    bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("sink: socket/bind");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("{\"listening\":%lu}\n", port);
	fflush(stdout);

	static unsigned char bufs[SINK_VLEN][2048];
	struct mmsghdr msgs[SINK_VLEN];
	struct iovec iov[SINK_VLEN];
	for (int i = 0; i < SINK_VLEN; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	unsigned long received = 0, other = 0;
	uint64_t max_seq = 0;
	const uint64_t start = now_ms(), hard_end = start + max_seconds * 1000ULL;
	uint64_t last = 0; /* time of the last counted packet; 0 = none yet */
	const char *why = "signal";
	while (!quit) {
		uint64_t t = now_ms();
		uint64_t end = last ? last + idle_ms : start + first_wait_ms;
		if (end > hard_end)
			end = hard_end;
		if (t >= end) {
			why = t >= hard_end ? "max-seconds" : last ? "idle" : "no-packets";
			break;
		}
		struct pollfd p = { fd, POLLIN, 0 };
		int wait = (int)(end - t);
		if (poll(&p, 1, wait > 100 ? 100 : wait) <= 0)
			continue;
		int n;
		while ((n = recvmmsg(fd, msgs, SINK_VLEN, 0, NULL)) > 0) {
			for (int i = 0; i < n; i++) {
				const struct demo_payload *pl = (const struct demo_payload *)bufs[i];
				if (msgs[i].msg_len >= sizeof(*pl) && memcmp(pl->magic, DEMO_MAGIC, sizeof(pl->magic)) == 0 &&
				    ntohl(pl->tag) == (uint32_t)tag) {
					received++;
					if (pl->seq > max_seq)
						max_seq = pl->seq;
				} else {
					other++;
				}
			}
			last = now_ms();
		}
	}
	printf("{\"received\":%lu,\"other\":%lu,\"max_seq\":%llu,\"exit\":\"%s\"}\n", received, other,
	       (unsigned long long)max_seq, why);
	close(fd);
	return 0;
}
