/*
 * pair.c: the cost of one operation against another's, measured call by call in turn.
 *
 *   pair DB CLIENTS SECONDS WARM USERS SIDE_A SIDE_B
 *
 * SIDE is one of
 *   sql:STATEMENT          a statement sent to DB over its own connection (prepared once);
 *                          $1 is a random integer in [1, USERS] and $2 one in [1, 16000000]
 *                          (both bigint; a statement may use either, both or neither)
 *   sodium-hash:M_KIB:T    crypto_pwhash_str_alg (argon2id) of a fresh password, in this process
 *   sodium-verify:M_KIB:T  crypto_pwhash_str_verify of "bench password" against a hash made
 *                          with those parameters, in this process
 *
 * CLIENTS worker processes each call A and B in turn (A B, then B A, ...) for WARM + SECONDS
 * seconds and time every call; the first WARM seconds are left out (a fresh backend faults in
 * the shared-memory pages it touches, the first argon2 call maps its memory).  Printed: the
 * ratio of A's mean time per call to B's, its standard error, the number of pairs, and both
 * means in ms.
 *
 * Why call by call: on these machines two throughput runs of the same thing a few seconds apart
 * differ by up to 20 % (bench/README.md "P1 and L1: paired rounds"), while a 5 % target needs
 * the ratio to about 1 %.  Calls alternating every few tens of milliseconds see the same
 * machine: whatever slows the machine down slows both sides alike.  The standard error comes
 * from blocks of 8 pairs (the ratio estimator's variance over the blocks).
 *
 * Each worker calls setsid(), as PostgreSQL does for every backend (InitPostmasterChild): with
 * the kernel's autogroup scheduling a worker is then its own scheduling group, like a backend.
 * Without it N workers would share one group, and on a machine with other load get one group's
 * share of the CPU while N backends got N shares (measured in 1.6 with the throughput
 * reference this replaced: hash_password 1.24x and 1.93x "faster than libsodium" at 2 and 8
 * clients, load average 5-10; bench/README.md "1.6 passwords and login").  At any moment each
 * worker has exactly one call running: in its backend or in itself.
 */
#include <sodium.h>
#include <libpq-fe.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 8

typedef struct Side
{
	enum
	{
		SIDE_SQL, SIDE_HASH, SIDE_VERIFY
	}			kind;
	const char *sql;
	char		name[8];
	unsigned long long m_bytes;
	unsigned long long t;
	char		stored[crypto_pwhash_STRBYTES];
} Side;

typedef struct Record
{
	double		a;				/* seconds of A's calls in this block */
	double		b;
	int			n;				/* pairs */
} Record;

static const char *db;
static long users;
static int	failed_fd = -1;		/* a worker before the start: where to say it failed */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "pair: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	/* a worker that fails before the start tells the parent, which would wait for it forever */
	if (failed_fd >= 0 && write(failed_fd, "x", 1) != 1)
		fprintf(stderr, "pair: could not report the failure\n");
	_exit(1);
}

static void
parse_side(Side *s, const char *arg, const char *name)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (strncmp(arg, "sql:", 4) == 0)
	{
		s->kind = SIDE_SQL;
		s->sql = arg + 4;
		return;
	}
	if (strncmp(arg, "sodium-hash:", 12) == 0)
		s->kind = SIDE_HASH;
	else if (strncmp(arg, "sodium-verify:", 14) == 0)
		s->kind = SIDE_VERIFY;
	else
		die("unknown side", arg);
	if (sscanf(strchr(arg, ':') + 1, "%llu:%llu", &s->m_bytes, &s->t) != 2)
		die("sodium sides are sodium-hash:M_KIB:T or sodium-verify:M_KIB:T", arg);
	s->m_bytes *= 1024;
	if (s->kind == SIDE_VERIFY &&
		crypto_pwhash_str_alg(s->stored, "bench password", 14, s->t, s->m_bytes,
							  crypto_pwhash_ALG_ARGON2ID13) != 0)
		die("crypto_pwhash_str_alg failed", NULL);
}

/* one call of side s; returns its time in seconds */
static double
call(PGconn *conn, Side *s)
{
	double		t0 = now();

	if (s->kind == SIDE_SQL)
	{
		char		p1[24], p2[24];
		const char *params[2] = {p1, p2};
		PGresult   *res;

		snprintf(p1, sizeof(p1), "%ld", 1 + (long) randombytes_uniform((uint32_t) users));
		snprintf(p2, sizeof(p2), "%ld", 1 + (long) randombytes_uniform(16000000));
		res = PQexecPrepared(conn, s->name, 2, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			die(s->sql, PQerrorMessage(conn));
		PQclear(res);
	}
	else if (s->kind == SIDE_HASH)
	{
		char		pw[40];
		char		out[crypto_pwhash_STRBYTES];
		int			len = snprintf(pw, sizeof(pw), "bench password %u", randombytes_random());

		if (crypto_pwhash_str_alg(out, pw, len, s->t, s->m_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0)
			die("crypto_pwhash_str_alg failed", NULL);
	}
	else if (crypto_pwhash_str_verify(s->stored, "bench password", 14) != 0)
		die("crypto_pwhash_str_verify failed", NULL);
	return now() - t0;
}

static void
worker(int id, Side *sides, double seconds, double warm, int out, int ready, int go)
{
	PGconn	   *conn;
	const Oid	types[2] = {20, 20};	/* int8 */
	Record		r = {0, 0, 0};
	double		start, end;
	char		c;

	(void) setsid();
	failed_fd = ready;
	conn = PQconnectdb("");
	if (PQstatus(conn) != CONNECTION_OK)
		die("connection failed", PQerrorMessage(conn));
	for (int i = 0; i < 2; i++)
	{
		PGresult   *res;

		if (sides[i].kind != SIDE_SQL)
			continue;
		res = PQprepare(conn, sides[i].name, sides[i].sql, 2, types);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			die(sides[i].sql, PQerrorMessage(conn));
		PQclear(res);
	}
	if (write(ready, "r", 1) != 1)
		die("barrier", strerror(errno));
	failed_fd = -1;
	if (read(go, &c, 1) != 0)
		die("barrier", strerror(errno));
	start = now();
	end = start + warm + seconds;
	for (long i = 0; now() < end; i++)
	{
		int			first = (int) ((i + id) % 2);	/* A B, then B A, ...; workers out of step */
		double		t[2];

		t[first] = call(conn, &sides[first]);
		t[1 - first] = call(conn, &sides[1 - first]);
		if (now() - start < warm)
			continue;
		r.a += t[0];
		r.b += t[1];
		if (++r.n == BLOCK)
		{
			if (write(out, &r, sizeof(r)) != sizeof(r))
				die("write", strerror(errno));
			r.a = r.b = 0;
			r.n = 0;
		}
	}
	if (r.n > 0 && write(out, &r, sizeof(r)) != sizeof(r))
		die("write", strerror(errno));
	PQfinish(conn);
	_exit(0);
}

int
main(int argc, char **argv)
{
	Side		sides[2];
	int			clients;
	double		seconds, warm;
	int			fds[2], ready[2], go[2];
	Record		r, *recs = NULL;
	size_t		nrec = 0, cap = 0;
	double		sa = 0, sb = 0, ratio, var = 0, se;
	long		pairs = 0;
	int			status, failed = 0;
	pid_t		pids[256];

	if (argc != 8 || sodium_init() < 0)
	{
		fprintf(stderr, "usage: pair DB CLIENTS SECONDS WARM USERS SIDE_A SIDE_B\n");
		return 2;
	}
	db = argv[1];
	clients = atoi(argv[2]);
	seconds = atof(argv[3]);
	warm = atof(argv[4]);
	users = atol(argv[5]);
	if (clients < 1 || clients > 256 || seconds <= 0 || users < 1 || setenv("PGDATABASE", db, 1) != 0)
		die("bad arguments", NULL);
	parse_side(&sides[0], argv[6], "a");
	parse_side(&sides[1], argv[7], "b");
	/* Workers report through fds; ready/go is a barrier so that all start timing together. */
	if (pipe(fds) != 0 || pipe(ready) != 0 || pipe(go) != 0)
		die("pipe", strerror(errno));
	for (int c = 0; c < clients; c++)
	{
		pids[c] = fork();
		if (pids[c] < 0)
			die("fork", strerror(errno));
		if (pids[c] == 0)
		{
			close(fds[0]);
			close(go[1]);
			close(ready[0]);
			worker(c, sides, seconds, warm, fds[1], ready[1], go[0]);
		}
	}
	close(fds[1]);
	close(go[0]);
	close(ready[1]);
	for (int c = 0; c < clients; c++)
	{
		char		x;

		if (read(ready[0], &x, 1) != 1 || x != 'r')
		{
			for (int k = 0; k < clients; k++)
				kill(pids[k], SIGTERM);
			die("a worker failed before the start", NULL);
		}
	}
	close(go[1]);				/* EOF on go: everybody starts */
	while (read(fds[0], &r, sizeof(r)) == sizeof(r))
	{
		if (nrec == cap)
		{
			cap = cap ? 2 * cap : 1024;
			recs = realloc(recs, cap * sizeof(Record));
			if (recs == NULL)
				die("out of memory", NULL);
		}
		recs[nrec++] = r;
		sa += r.a;
		sb += r.b;
		pairs += r.n;
	}
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	if (failed || pairs == 0 || nrec < 2)
		die("no measurement", failed ? "a worker failed" : "too few calls");
	/* ratio estimator R = sum(a) / sum(b); its variance from the blocks */
	ratio = sa / sb;
	for (size_t k = 0; k < nrec; k++)
		var += (recs[k].a - ratio * recs[k].b) * (recs[k].a - ratio * recs[k].b);
	se = sqrt(var / ((double) nrec * (nrec - 1))) / (sb / nrec);
	printf("%.6f %.6f %ld %.3f %.3f\n", ratio, se, pairs, 1000 * sa / pairs, 1000 * sb / pairs);
	free(recs);
	return 0;
}
