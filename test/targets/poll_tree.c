/* poll_tree.c: a busy-polling loop for the stage tree (test/integration/stage-tree.test.ts).
 * rx_poll() is called forever; one call in ten finds 4 packets and hands them to process()
 * (~20 us of work), the other nine find none and spin ~5 us each: most of rx_poll's time is idle
 * polling, and process() runs inside it. Built with -fno-omit-frame-pointer so both start with push. */
#include <time.h>

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void spin_ns(unsigned long long ns)
{
	unsigned long long end = now_ns() + ns;

	while (now_ns() < end)
		;
}

__attribute__((noinline, noclone)) int process(int n)
{
	spin_ns(20000);
	return n;
}

__attribute__((noinline, noclone)) int rx_poll(unsigned i)
{
	if (i % 10) {
		spin_ns(5000);
		return 0;
	}
	return process(4);
}

int main(void)
{
	volatile int sink = 0;

	for (unsigned i = 0;; i++)
		sink += rx_poll(i);
	return sink;
}
