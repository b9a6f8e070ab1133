/*
 * fault_cost.c: what fresh memory costs on this machine, and what it leaves behind.
 *
 * libsodium's argon2id maps fresh memory for every hash (mmap with MAP_POPULATE, 19 MiB at
 * aeauth's default) and unmaps it afterwards.  This times, per step, the same amount of memory
 * handled in several ways -- a resident buffer written through the caches; fresh 4 kB pages
 * mapped the way libsodium maps them, first not written, then written; fresh pages advised for
 * transparent huge pages; libsodium's argon2id verification itself; the same verification run
 * by a child process while this one waits on a pipe -- and after each step the time to touch
 * PAGES random 4 kB pages of a resident 64 MiB buffer, as the statements that run after a
 * login's hash touch memory that was not part of it.
 *   fault_cost MEMORY_KIB PAGES ROUNDS
 * Prints one markdown row per way.  bench/README.md "L1: where the time goes".
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static char *
map_fresh(size_t size, int flags, int advice)
{
	char	   *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE | flags, -1, 0);

	if (m == MAP_FAILED)
	{
		perror("mmap");
		exit(1);
	}
	if (advice && madvise(m, size, advice) != 0)
		perror("madvise");		/* still measured, as 4 kB pages */
	return m;
}

int
main(int argc, char **argv)
{
	static const char *const ways[] = {"nothing", "resident buffer written",
		"fresh 4 kB pages mapped (MAP_POPULATE) and unmapped, not written",
		"fresh 4 kB pages mapped, written, unmapped (libsodium's way)",
	"fresh pages, MADV_HUGEPAGE, written", "argon2id verification (libsodium)",
	"argon2id verification in a child process"};
	size_t		size,
				other = (size_t) 64 << 20;
	int			pages,
				rounds;
	char	   *resident,
			   *buf;
	size_t	   *at;
	char		hash[crypto_pwhash_STRBYTES];
	volatile unsigned long sink = 0;
	int			to_child[2],
				from_child[2];

	if (argc != 4 || sodium_init() < 0)
	{
		fprintf(stderr, "usage: fault_cost MEMORY_KIB PAGES ROUNDS\n");
		return 2;
	}
	size = (size_t) atol(argv[1]) * 1024;
	pages = atoi(argv[2]);
	rounds = atoi(argv[3]);
	resident = map_fresh(size, MAP_POPULATE, 0);
	buf = map_fresh(other, MAP_POPULATE, 0);
	memset(resident, 1, size);
	memset(buf, 1, other);
	at = malloc(pages * sizeof(size_t));
	srandom(1);
	for (int i = 0; i < pages; i++)
		at[i] = (size_t) (random() % (other / 4096)) * 4096 + (size_t) (i % 64) * 64;
	if (crypto_pwhash_str(hash, "bench password", 14, 2, size) != 0)
		return 1;
	/* the child: one verification per byte read, its answer written back */
	if (pipe(to_child) != 0 || pipe(from_child) != 0)
		return 1;
	if (fork() == 0)
	{
		char		c;

		close(to_child[1]);		/* or the child never sees EOF */
		close(from_child[0]);
		while (read(to_child[0], &c, 1) == 1)
		{
			c = crypto_pwhash_str_verify(hash, "bench password", 14) == 0;
			if (write(from_child[1], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	close(to_child[0]);
	close(from_child[1]);

	for (int i = 0; i < pages; i++)	/* first touches out of the way */
		sink += (unsigned char) buf[at[i]];
	printf("| after | ms per step | touching %d other pages: us per page |\n| --- | ---: | ---: |\n", pages);
	for (int w = 0; w < 7; w++)
	{
		double		step = 0,
					touch = 0;

		for (int r = 0; r < rounds; r++)
		{
			double		t0 = now_ms(),
						t1;
			char	   *m;

			switch (w)
			{
				case 1:
					/* through the caches, as argon2 writes (memset would stream past them) */
					for (size_t i = 0; i < size; i += 64)
						resident[i] += (char) r;
					break;
				case 2:
					m = map_fresh(size, MAP_POPULATE, 0);
					munmap(m, size);
					break;
				case 3:
					m = map_fresh(size, MAP_POPULATE, 0);
					memset(m, r, size);
					munmap(m, size);
					break;
				case 4:
					m = map_fresh(size, 0, MADV_HUGEPAGE);
					memset(m, r, size);
					munmap(m, size);
					break;
				case 5:
					if (crypto_pwhash_str_verify(hash, "bench password", 14) != 0)
						return 1;
					break;
				case 6:
					{
						char		c = 1;

						if (write(to_child[1], &c, 1) != 1 || read(from_child[0], &c, 1) != 1 || c != 1)
							return 1;
					}
					break;
			}
			t1 = now_ms();
			for (int i = 0; i < pages; i++)
				sink += (unsigned char) buf[at[i]];
			step += t1 - t0;
			touch += now_ms() - t1;
		}
		printf("| %s | %.2f | %.2f |\n", ways[w], step / rounds, 1000.0 * touch / rounds / pages);
	}
	close(to_child[1]);			/* the child sees EOF and exits */
	return sink == 42;			/* keeps the reads */
}
