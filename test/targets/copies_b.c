/* copies_b.c: the second file of copies.c, with its own static tick(). */
static __attribute__((noinline)) int tick(int v)
{
	__asm__ volatile("" ::: "memory");
	return v * 5 + 2;
}

int tick_b(int v)
{
	return tick(v) + 1;
}
