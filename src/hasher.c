/*
 * hasher.c: the backend's side of aeauth_hasher (src/hasher/aeauth_hasher.c).  See hasher.h.
 *
 * Why a helper: libsodium maps argon2's memory fresh for every hash and unmaps it afterwards.
 * Where first touches of fresh pages are dear (paravirtualized VMs), that leaves the backend's
 * address space slow for the statements a login runs after its verification: measured in
 * bench/README.md "L1: where the time goes".  In a helper the churn is the helper's own.
 *
 * What makes it safe:
 *  - The helper is started with posix_spawn from PostgreSQL's pkglibdir, with an empty
 *    environment and no arguments but its name, every signal at its default and unblocked, and
 *    no descriptor but its two pipes (and /dev/null as stderr).  The password goes only
 *    through the pipe.
 *  - One request at a time, each with a fresh random nonce that the answer must echo.
 *  - While a request is out, any error (a cancel, statement_timeout) kills and reaps the helper
 *    before the error propagates, so an answer that arrives late can never be read as the
 *    answer to a later request: the next request goes to a new helper.  A wrong magic or nonce,
 *    an unknown status, a short read or a dead helper also end it; that request is then
 *    computed in the backend (the caller's fallback).  After three helpers in a row fail, the
 *    backend stops starting them and hashes in-process.
 *  - Waiting is WaitEventSetWait on the pipe, the latch (so interrupts are served) and
 *    postmaster death (the backend exits, and with it the helper: its stdin closes and
 *    PR_SET_PDEATHSIG kills it).  Backend exit kills and reaps it (on_proc_exit).
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "guc.h"
#include "hasher.h"
#include "hasher/protocol.h"

#define HELPER_MAX_FAILURES 3

StaticAssertDecl(AEAUTH_HASHER_STRBYTES == crypto_pwhash_STRBYTES,
				 "the protocol's string size is libsodium's");

static pid_t helper_pid = 0;
static int	helper_in = -1;			/* we write requests here (its stdin) */
static int	helper_out = -1;		/* and read answers here (its stdout) */
static WaitEventSet *helper_wait = NULL;
static int	helper_failures = 0;	/* helpers in a row that gave no valid answer */
static bool helper_given_up = false;
static bool exit_hook_set = false;

/* Kills and reaps the helper (if any) and forgets it.  Safe to call at any time. */
static void
helper_stop(void)
{
	if (helper_wait)
	{
		FreeWaitEventSet(helper_wait);
		helper_wait = NULL;
	}
	if (helper_in >= 0)
		close(helper_in);
	if (helper_out >= 0)
		close(helper_out);
	helper_in = helper_out = -1;
	if (helper_pid > 0)
	{
		(void) kill(helper_pid, SIGKILL);
		while (waitpid(helper_pid, NULL, 0) < 0 && errno == EINTR)
			;
		helper_pid = 0;
	}
}

static void
helper_exit_hook(int code, Datum arg)
{
	helper_stop();
}

static void
helper_failed(const char *what)
{
	helper_stop();
	if (++helper_failures >= HELPER_MAX_FAILURES)
		helper_given_up = true;
	ereport(LOG,
			(errcode(ERRCODE_SYSTEM_ERROR),
			 errmsg("aeauth: password helper %s", what),
			 errdetail(helper_given_up
					   ? "This backend now hashes passwords itself."
					   : "This request was hashed by the backend itself.")));
}

/* Starts the helper; false (and logged) if it cannot. */
static bool
helper_start(void)
{
	char		path[MAXPGPATH];
	char	   *argv[] = {AEAUTH_HASHER_PROGRAM, NULL};
	char	   *envp[] = {NULL};
	int			to[2] = {-1, -1};
	int			from[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t	none;
	sigset_t	all;
	pid_t		pid;
	int			rc;

	snprintf(path, sizeof(path), "%s/%s", pkglib_path, AEAUTH_HASHER_PROGRAM);
	if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0)
	{
		rc = errno;
		goto fail;
	}
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, from[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, path, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0)
		goto fail;

	close(to[0]);
	close(from[1]);
	helper_pid = pid;
	helper_in = to[1];
	helper_out = from[0];
	if (!exit_hook_set)
	{
		on_proc_exit(helper_exit_hook, (Datum) 0);
		exit_hook_set = true;
	}
	if (fcntl(helper_out, F_SETFL, O_NONBLOCK) != 0)
	{
		rc = errno;
		helper_stop();
		goto logit;
	}
	helper_wait = CreateWaitEventSet(TopMemoryContext, 3);
	AddWaitEventToSet(helper_wait, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(helper_wait, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(helper_wait, WL_SOCKET_READABLE, helper_out, NULL, NULL);
	return true;

fail:
	for (int i = 0; i < 2; i++)
	{
		if (to[i] >= 0)
			close(to[i]);
		if (from[i] >= 0)
			close(from[i]);
	}
logit:
	errno = rc;
	ereport(LOG,
			(errcode(ERRCODE_SYSTEM_ERROR),
			 errmsg("aeauth: could not start password helper \"%s\": %m", path),
			 errdetail("This backend hashes passwords itself.")));
	return false;
}

/* Reads one answer, serving interrupts while it waits (an error leaves through them). */
static bool
read_answer(AeauthHasherAnswer *ans)
{
	char	   *p = (char *) ans;
	size_t		got = 0;

	while (got < sizeof(*ans))
	{
		ssize_t		r = read(helper_out, p + got, sizeof(*ans) - got);
		WaitEvent	ev;

		if (r > 0)
		{
			got += (size_t) r;
			continue;
		}
		if (r == 0)
			return false;		/* the helper is gone */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return false;
		if (WaitEventSetWait(helper_wait, -1, &ev, 1, PG_WAIT_EXTENSION) > 0 &&
			(ev.events & WL_LATCH_SET))
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	return true;
}

/*
 * One request to the helper.  True with *ans filled when a valid answer to this very request
 * came (right magic, nonce and one of the statuses allowed for op); false if the caller must
 * compute it itself.
 */
static bool
helper_call(AeauthHasherRequest *req, const char *pw, size_t len, uint32_t ok1, uint32_t ok2,
			AeauthHasherAnswer *ans)
{
	volatile bool answered = false;

	if (!aeauth_hash_helper || helper_given_up || len > AEAUTH_HASHER_MAX_PASSWORD)
		return false;
	if (helper_pid == 0 && !helper_start())
	{
		helper_given_up = true;
		return false;
	}
	req->magic = AEAUTH_HASHER_MAGIC;
	req->password_len = (uint32_t) len;
	if (!pg_strong_random(req->nonce, sizeof(req->nonce)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("aeauth: could not generate random bytes")));

	PG_TRY();
	{
		answered = aeauth_hasher_io(helper_in, req, sizeof(*req), 1) == 0 &&
			aeauth_hasher_io(helper_in, (void *) pw, len, 1) == 0 &&
			read_answer(ans);
	}
	PG_CATCH();
	{
		/* A cancel or timeout while the helper works: it must never answer anyone. */
		helper_stop();
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (!answered)
		helper_failed("ended without answering");
	else if (ans->magic != AEAUTH_HASHER_MAGIC ||
			 memcmp(ans->nonce, req->nonce, sizeof(req->nonce)) != 0 ||
			 (ans->status != ok1 && ans->status != ok2))
		helper_failed("gave an answer that was not for this request");
	else
	{
		helper_failures = 0;
		return true;
	}
	return false;
}

bool
hasher_verify(const char *stored, const char *pw, size_t len, bool *match)
{
	AeauthHasherRequest req;
	AeauthHasherAnswer ans;

	memset(&req, 0, sizeof(req));
	if (strlcpy(req.stored, stored, sizeof(req.stored)) >= sizeof(req.stored))
		return false;
	req.op = AEAUTH_HASHER_VERIFY;
	if (!helper_call(&req, pw, len, AEAUTH_HASHER_MATCH, AEAUTH_HASHER_NO_MATCH, &ans))
		return false;
	*match = ans.status == AEAUTH_HASHER_MATCH;
	return true;
}

bool
hasher_hash(char *out, const char *pw, size_t len, int t_cost, int m_kib, bool *hashed)
{
	AeauthHasherRequest req;
	AeauthHasherAnswer ans;

	memset(&req, 0, sizeof(req));
	req.op = AEAUTH_HASHER_HASH;
	req.t_cost = (uint32_t) t_cost;
	req.m_kib = (uint32_t) m_kib;
	if (!helper_call(&req, pw, len, AEAUTH_HASHER_HASHED, AEAUTH_HASHER_FAILED, &ans))
		return false;
	*hashed = false;
	if (ans.status == AEAUTH_HASHER_HASHED)
	{
		if (memchr(ans.out, '\0', sizeof(ans.out)) == NULL ||
			strncmp(ans.out, "$argon2id$", 10) != 0)
		{
			helper_failed("gave an answer that was not for this request");
			return false;
		}
		memcpy(out, ans.out, AEAUTH_HASHER_STRBYTES);
		*hashed = true;
	}
	return true;
}
