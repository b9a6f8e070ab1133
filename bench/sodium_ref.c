/*
 * sodium_ref.c: the reference for bench/password.sh -- libsodium called directly, with the same
 * argon2id parameters aeauth uses, by N processes for S seconds.  Prints operations per second.
 *   sodium_ref hash|verify CLIENTS SECONDS MEMORY_KIB ITERATIONS
 *
 * Each worker is scheduled as a backend is: PostgreSQL starts every backend in a session of its
 * own (setsid() in InitPostmasterChild), so with the kernel's autogroup scheduling each backend
 * is its own scheduling group.  The workers call setsid() too; without it the N workers shared
 * ONE group, and on a machine with other load they got one group's share of the CPU while N
 * backends got N shares (measured: hash_password 1.24x and 1.93x "faster than libsodium" at 2
 * and 8 clients with a load average of 5-10, bench/README.md).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	int			verify, clients, seconds, t;
	size_t		m_bytes;
	int			fds[2];
	int			ready[2];
	int			go[2];
	double		total = 0;

	if (argc != 6 || sodium_init() < 0)
	{
		fprintf(stderr, "usage: sodium_ref hash|verify CLIENTS SECONDS MEMORY_KIB ITERATIONS\n");
		return 2;
	}
	verify = strcmp(argv[1], "verify") == 0;
	clients = atoi(argv[2]);
	seconds = atoi(argv[3]);
	m_bytes = (size_t) atol(argv[4]) * 1024;
	t = atoi(argv[5]);
	/* Children report through fds; ready/go is a barrier so that all start timing together. */
	if (pipe(fds) != 0 || pipe(ready) != 0 || pipe(go) != 0)
		return 2;
	for (int c = 0; c < clients; c++)
	{
		if (fork() == 0)
		{
			char		stored[crypto_pwhash_STRBYTES];
			char		pw[64];
			long		n = 0;
			double		begin;
			double		end;
			double		rate;

			(void) setsid();	/* its own session, hence its own autogroup, like a backend */
			if (crypto_pwhash_str_alg(stored, "bench password", 14, t, m_bytes,
									  crypto_pwhash_ALG_ARGON2ID13) != 0)
				_exit(1);
			close(go[1]);
			if (write(ready[1], "r", 1) != 1 || read(go[0], pw, 1) != 0)
				_exit(1);
			begin = now();
			end = begin + seconds;
			while (now() < end)
			{
				if (verify)
				{
					if (crypto_pwhash_str_verify(stored, "bench password", 14) != 0)
						_exit(1);
				}
				else
				{
					int			len = snprintf(pw, sizeof(pw), "bench password %ld", n);
					char		out[crypto_pwhash_STRBYTES];

					if (crypto_pwhash_str_alg(out, pw, len, t, m_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0)
						_exit(1);
				}
				n++;
			}
			rate = n / (now() - begin);
			if (write(fds[1], &rate, sizeof(rate)) != sizeof(rate))
				_exit(1);
			_exit(0);
		}
	}
	close(go[0]);
	for (int c = 0; c < clients; c++)
	{
		char		r;

		if (read(ready[0], &r, 1) != 1)
			return 1;
	}
	close(go[1]);				/* EOF on go: everybody starts */
	for (int c = 0; c < clients; c++)
	{
		double		rate;

		if (read(fds[0], &rate, sizeof(rate)) != sizeof(rate))
			return 1;
		total += rate;
	}
	while (wait(NULL) > 0)
		;
	printf("%.2f\n", total);
	return 0;
}
