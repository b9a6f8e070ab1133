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
 *    environment and no arguments but its name, every signal at its default, and no descriptor
 *    but its two pipes (and /dev/null as stderr) (helper_start).  The password goes only
 *    through the pipe, which is non-blocking: a request that does not fit at once drops the
 *    helper, so a stopped helper cannot hold the backend in write().
 *  - One request at a time, each with a fresh random nonce that the answer must echo.
 *  - While a request is out, any error (a cancel, statement_timeout) kills and reaps the helper
 *    before the error propagates, so an answer that arrives late can never be read as the
 *    answer to a later request: the next request goes to a new helper.  A wrong magic or nonce,
 *    an unknown status, a short read or a dead helper also end it; that request is then
 *    computed in the backend (the caller's fallback).  After three helpers in a row fail to
 *    start or to answer, the backend stops starting them and hashes in-process.
 *  - Waiting is WaitEventSetWait on the pipe, the latch (so interrupts are served) and
 *    postmaster death (the backend exits, and with it the helper: its stdin closes and
 *    PR_SET_PDEATHSIG kills it; single-user mode has no postmaster to watch).  Backend exit
 *    kills and reaps it (on_proc_exit).  The two pipe ends the backend keeps are counted as
 *    fd.c's external descriptors.
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "miscadmin.h"
#include "storage/fd.h"
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
static int	helper_fds_counted = 0; /* of fd.c's external descriptors, for the two above */
static WaitEventSet *helper_wait = NULL;
static int	helper_failures = 0;	/* helpers in a row that did not start or answer */
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
	for (; helper_fds_counted > 0; helper_fds_counted--)
		ReleaseExternalFD();
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

/*
 * The helper did not start (err: its errno) or gave no valid answer (err 0): stop it, log, and
 * after HELPER_MAX_FAILURES in a row stop trying in this backend.
 */
static void
helper_failed(const char *what, int err)
{
	helper_stop();
	if (++helper_failures >= HELPER_MAX_FAILURES)
		helper_given_up = true;
	errno = err;
	ereport(LOG,
			(errcode(ERRCODE_SYSTEM_ERROR),
			 err != 0 ? errmsg("aeauth: password helper %s: %m", what)
			 : errmsg("aeauth: password helper %s", what),
			 errdetail(helper_given_up
					   ? "This backend hashes passwords itself from now on."
					   : "This request is hashed by the backend itself.")));
}

/*
 * Starts the helper: PostgreSQL's pkglibdir/aeauth_hasher, no arguments but its name, an empty
 * environment, every signal at its default and none blocked but the four the helper ignores
 * (SIGHUP, SIGINT, SIGUSR1, SIGUSR2: blocked until it ignores them, so a cancel sent to this
 * backend's process group right now cannot kill it), and no descriptor but its pipes and
 * /dev/null.  False (after helper_failed) if it cannot.
 */
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
	sigset_t	ignored;
	sigset_t	all;
	pid_t		pid = 0;
	int			rc = 0;

	snprintf(path, sizeof(path), "%s/%s", pkglib_path, AEAUTH_HASHER_PROGRAM);
	/* Two descriptors stay open in this backend: count them as fd.c's external ones. */
	while (helper_fds_counted < 2 && AcquireExternalFD())
		helper_fds_counted++;
	if (helper_fds_counted < 2)
		rc = EMFILE;
	else if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0)
		rc = errno;
	else if ((rc = posix_spawn_file_actions_init(&fa)) == 0)
	{
		if ((rc = posix_spawnattr_init(&attr)) == 0)
		{
			sigemptyset(&ignored);
			sigaddset(&ignored, SIGHUP);
			sigaddset(&ignored, SIGINT);
			sigaddset(&ignored, SIGUSR1);
			sigaddset(&ignored, SIGUSR2);
			sigfillset(&all);
			if ((rc = posix_spawn_file_actions_adddup2(&fa, to[0], STDIN_FILENO)) == 0 &&
				(rc = posix_spawn_file_actions_adddup2(&fa, from[1], STDOUT_FILENO)) == 0 &&
				(rc = posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
													   O_WRONLY, 0)) == 0 &&
				(rc = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1)) == 0 &&
				(rc = posix_spawnattr_setsigmask(&attr, &ignored)) == 0 &&
				(rc = posix_spawnattr_setsigdefault(&attr, &all)) == 0 &&
				(rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
											   POSIX_SPAWN_SETSIGDEF)) == 0)
				rc = posix_spawn(&pid, path, &fa, &attr, argv, envp);
			posix_spawnattr_destroy(&attr);
		}
		posix_spawn_file_actions_destroy(&fa);
	}
	for (int i = 0; i < 2; i++)
	{
		/* The child's ends always; ours too if it did not start. */
		if (to[i] >= 0 && (i == 0 || rc != 0))
			close(to[i]);
		if (from[i] >= 0 && (i == 1 || rc != 0))
			close(from[i]);
	}
	if (rc != 0)
	{
		helper_failed(psprintf("\"%s\" could not be started", path), rc);
		return false;
	}

	helper_pid = pid;
	helper_in = to[1];
	helper_out = from[0];
	if (!exit_hook_set)
	{
		on_proc_exit(helper_exit_hook, (Datum) 0);
		exit_hook_set = true;
	}
	/*
	 * Both ends non-blocking: a request (at most ~16 kB) goes into the empty pipe at once or
	 * the helper is dropped, so a stopped helper can never block this backend in write().
	 */
	if (fcntl(helper_in, F_SETFL, O_NONBLOCK) != 0 || fcntl(helper_out, F_SETFL, O_NONBLOCK) != 0)
	{
		helper_failed("pipes could not be set up", errno);
		return false;
	}
	PG_TRY();
	{
		helper_wait = CreateWaitEventSet(TopMemoryContext, 3);
		AddWaitEventToSet(helper_wait, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		if (IsUnderPostmaster)
			AddWaitEventToSet(helper_wait, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		AddWaitEventToSet(helper_wait, WL_SOCKET_READABLE, helper_out, NULL, NULL);
	}
	PG_CATCH();
	{
		helper_stop();
		PG_RE_THROW();
	}
	PG_END_TRY();
	return true;
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
		return false;
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
		helper_failed("did not take the request or ended without answering", 0);
	else if (ans->magic != AEAUTH_HASHER_MAGIC ||
			 memcmp(ans->nonce, req->nonce, sizeof(req->nonce)) != 0 ||
			 (ans->status != ok1 && ans->status != ok2))
		helper_failed("gave an answer that was not for this request", 0);
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
			helper_failed("gave an answer that was not for this request", 0);
			return false;
		}
		memcpy(out, ans.out, AEAUTH_HASHER_STRBYTES);
		*hashed = true;
	}
	return true;
}
