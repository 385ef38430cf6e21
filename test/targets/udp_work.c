/* udp_work.c: a tiny packet target for sampled-mode tests. `udp_work sink PORT` receives UDP
 * datagrams on 127.0.0.1:PORT and runs each through parse() and crunch(); `udp_work send PORT`
 * sends datagrams there as fast as the socket takes them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile unsigned sink;

__attribute__((noinline)) unsigned parse(const unsigned char *b, int n)
{
	unsigned h = 2166136261u;

	for (int i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

__attribute__((noinline)) unsigned crunch(unsigned h)
{
	for (int i = 0; i < 3000; i++)
		h = h * 1103515245u + 12345u + (h >> 7);
	return h;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	unsigned char buf[256];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (argc < 3 || fd < 0)
		return 2;
	a.sin_port = htons((unsigned short)atoi(argv[2]));
	if (!strcmp(argv[1], "sink")) {
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			return 1;
		printf("ready\n");
		fflush(stdout);
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);

			if (n > 0)
				sink += crunch(parse(buf, (int)n));
		}
	}
	memset(buf, 0x5a, sizeof(buf));
	for (;;) {
		if (sendto(fd, buf, 64, 0, (struct sockaddr *)&a, sizeof(a)) < 0)
			usleep(100);
		usleep(20);
	}
}
