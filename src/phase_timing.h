/*
 * phase_timing.h: where a successful login's time goes, phase by phase.
 *
 * A diagnostic, compiled in only with -DAEAUTH_PHASE_TIMING (bench/login_phases.sh builds that
 * way); in a normal build every macro below is empty and nothing is measured.  Each
 * PHASE_MARK(p) charges the time since the previous mark to phase p; the transaction's commit
 * is timed by a transaction callback.  A backend writes its per-login averages, successful
 * logins only, to the server log when it exits (one LOG line, "aeauth login phases: ...").
 */
#ifndef AEAUTH_PHASE_TIMING_H
#define AEAUTH_PHASE_TIMING_H

typedef enum LoginPhase
{
	PHASE_ENTRY,				/* arguments, SPI connect */
	PHASE_THROTTLE,				/* the source's recent failures */
	PHASE_FIND_USER,			/* the account */
	PHASE_DEVICE,				/* the trusted device */
	PHASE_VERIFY,				/* argon2id */
	PHASE_RECORD_SUCCESS,		/* the checks after it, a rehash if due, the user's row, the devices */
	PHASE_SESSION_RISK,			/* risk score from the user's recent sessions */
	PHASE_SESSION_EVICT,		/* aeauth.max_sessions_per_user */
	PHASE_SESSION_INSERT,		/* tokens and the session's row */
	PHASE_SESSION_AUDIT,		/* the session_created event */
	PHASE_LOGIN_AUDIT,			/* the login event */
	PHASE_RETURN,				/* the result row, until the commit starts */
	PHASE_COMMIT,				/* the commit */
	PHASE_COUNT
} LoginPhase;

#ifdef AEAUTH_PHASE_TIMING
extern void phase_begin(void);
extern void phase_mark(LoginPhase phase);
extern void phase_end(bool success);
#define PHASE_BEGIN()		phase_begin()
#define PHASE_MARK(p)		phase_mark(p)
#define PHASE_END(success)	phase_end(success)
#else
#define PHASE_BEGIN()		((void) 0)
#define PHASE_MARK(p)		((void) 0)
#define PHASE_END(success)	((void) 0)
#endif

#endif							/* AEAUTH_PHASE_TIMING_H */
