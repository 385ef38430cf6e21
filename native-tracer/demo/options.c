/* options.c — the forwarder's own command line (what follows EAL's arguments). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd.h"

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || s[0] == '-' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_prefix(const char *s, uint32_t *net, uint8_t *len)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	unsigned long l;
	if (!slash || (size_t)(slash - s) >= sizeof(buf) || parse_uint(slash + 1, 1, 32, &l))
		return -1;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = 0;
	struct in_addr a;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*len = (uint8_t)l;
	*net = ntohl(a.s_addr) & (l == 32 ? 0xffffffffu : ~(0xffffffffu >> l));
	return 0;
}

int fwd_parse_options(int argc, char **argv, struct fwd_options *opt, char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{ "burst", required_argument, NULL, 'b' },     { "routes", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },      { "sink-net", required_argument, NULL, 'n' },
		{ "next-hop-mac", required_argument, NULL, 'm' }, { "poll-sleep-us", required_argument, NULL, 'p' },
		{ "busy-poll", no_argument, NULL, 'B' },       { NULL, 0, NULL, 0 },
	};
	*opt = (struct fwd_options){ .burst = 32, .routes = 1024, .seed = 1, .poll_sleep_us = 100 };
	parse_prefix("10.201.2.0/24", &opt->sink_net, &opt->sink_len);
	int have_mac = 0, c;
	unsigned long v;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (parse_uint(optarg, 1, 32, &v))
				return snprintf(err, errlen, "--burst wants 1..32, got '%s'", optarg), -1;
			opt->burst = (unsigned)v;
			break;
		case 'r':
			if (parse_uint(optarg, 0, 1000000, &v))
				return snprintf(err, errlen, "--routes wants 0..1000000, got '%s'", optarg), -1;
			opt->routes = (unsigned)v;
			break;
		case 's':
			if (parse_uint(optarg, 0, ~0UL, &v))
				return snprintf(err, errlen, "--seed wants a number, got '%s'", optarg), -1;
			opt->seed = v;
			break;
		case 'n':
			if (parse_prefix(optarg, &opt->sink_net, &opt->sink_len))
				return snprintf(err, errlen, "--sink-net wants A.B.C.D/LEN, got '%s'", optarg), -1;
			break;
		case 'm':
			if (rte_ether_unformat_addr(optarg, &opt->next_hop_mac) != 0)
				return snprintf(err, errlen, "--next-hop-mac wants xx:xx:xx:xx:xx:xx, got '%s'", optarg), -1;
			have_mac = 1;
			break;
		case 'p':
			if (parse_uint(optarg, 0, 1000000, &v))
				return snprintf(err, errlen, "--poll-sleep-us wants 0..1000000, got '%s'", optarg), -1;
			opt->poll_sleep_us = (unsigned)v;
			break;
		case 'B':
			opt->poll_sleep_us = 0;
			break;
		default:
			return snprintf(err, errlen, "unknown option"), -1;
		}
	}
	if (optind < argc)
		return snprintf(err, errlen, "unexpected argument '%s'", argv[optind]), -1;
	if (!have_mac)
		return snprintf(err, errlen, "--next-hop-mac is required (the sink's MAC)"), -1;
	return 0;
}
