/*
 * aeauth_hasher: argon2id hashes and verifications for one backend, in a process of their own.
 *
 * A backend that hashes or verifies a password starts one of these (src/hasher.c) and keeps
 * it until it exits.  Why a process: libsodium maps argon2's memory (19 MiB by default) fresh
 * for every call and unmaps it afterwards; on virtual machines where first touches of fresh
 * pages are dear, that churn of the backend's own address space makes everything the backend
 * does next slower (bench/README.md "L1: where the time goes").  Here it churns this process's
 * address space instead.  The computation is the same libsodium call the backend would make.
 *
 * Protocol: hasher/protocol.h.  stdin carries requests, stdout answers; nothing else is open.
 * The program exits on end of input, on a malformed request, or when its parent dies; it
 * ignores SIGINT, which PostgreSQL sends to a backend's whole process group to cancel its query
 * (the backend itself kills this process if it gives up on an answer), and SIGHUP, SIGUSR1 and
 * SIGUSR2, and dies on SIGTERM, SIGQUIT and SIGKILL (sent to the group) like the backend.  Passwords are wiped after each request and
 * the process is not dumpable (no core files, no ptrace by other processes of the same user).
 */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <sodium.h>

#include "protocol.h"

_Static_assert(AEAUTH_HASHER_STRBYTES == crypto_pwhash_STRBYTES,
			   "protocol.h's string size is libsodium's");

static AeauthHasherRequest req;
static AeauthHasherAnswer ans;
static char password[AEAUTH_HASHER_MAX_PASSWORD];

/* One request; 0 if answered, -1 if the request was malformed or the answer could not go. */
static int
serve_one(void)
{
	unsigned long long len = req.password_len;

	if (req.magic != AEAUTH_HASHER_MAGIC || len > sizeof(password) ||
		aeauth_hasher_io(STDIN_FILENO, password, len, 0) != 0)
		return -1;
	memset(&ans, 0, sizeof(ans));
	ans.magic = AEAUTH_HASHER_MAGIC;
	memcpy(ans.nonce, req.nonce, sizeof(ans.nonce));
	switch (req.op)
	{
		case AEAUTH_HASHER_VERIFY:
			req.stored[sizeof(req.stored) - 1] = '\0';
			ans.status = crypto_pwhash_str_verify(req.stored, password, len) == 0
				? AEAUTH_HASHER_MATCH : AEAUTH_HASHER_NO_MATCH;
			break;
		case AEAUTH_HASHER_HASH:
			ans.status = crypto_pwhash_str_alg(ans.out, password, len, req.t_cost,
											   (size_t) req.m_kib * 1024,
											   crypto_pwhash_ALG_ARGON2ID13) == 0
				? AEAUTH_HASHER_HASHED : AEAUTH_HASHER_FAILED;
			break;
		default:
			return -1;
	}
	sodium_memzero(password, sizeof(password));
	sodium_memzero(&req, sizeof(req));
	return aeauth_hasher_io(STDOUT_FILENO, &ans, sizeof(ans), 1);
}

int
main(void)
{
	sigset_t	none;
	int			rc = 0;

	(void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() == 1)
		return 1;
	/*
	 * The backend starts this with these four blocked: ignore them, then unblock everything
	 * (one that came in between is discarded).
	 */
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		return 1;
	if (sodium_init() < 0)
		return 1;

	while (aeauth_hasher_io(STDIN_FILENO, &req, sizeof(req), 0) == 0)
	{
		if (serve_one() != 0)
		{
			rc = 1;
			break;
		}
	}
	sodium_memzero(password, sizeof(password));
	sodium_memzero(&req, sizeof(req));
	return rc;
}
