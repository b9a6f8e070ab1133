/*
 * phase_timing.c: the login phase timer of phase_timing.h (diagnostic builds only).
 */
#include "postgres.h"

#include "phase_timing.h"

#ifdef AEAUTH_PHASE_TIMING

#include "access/xact.h"
#include "lib/stringinfo.h"
#include "portability/instr_time.h"
#include "storage/ipc.h"

static const char *const phase_names[PHASE_COUNT] = {
	[PHASE_ENTRY] = "entry",
	[PHASE_THROTTLE] = "throttle",
	[PHASE_FIND_USER] = "find_user",
	[PHASE_DEVICE] = "device",
	[PHASE_VERIFY] = "verify",
	[PHASE_RECORD_SUCCESS] = "record_success",
	[PHASE_SESSION_RISK] = "session_risk",
	[PHASE_SESSION_EVICT] = "session_evict",
	[PHASE_SESSION_INSERT] = "session_insert",
	[PHASE_SESSION_AUDIT] = "session_audit",
	[PHASE_LOGIN_AUDIT] = "login_audit",
	[PHASE_RETURN] = "return",
	[PHASE_COMMIT] = "commit",
};

static double totals[PHASE_COUNT];	/* ms, successful logins that committed */
static double current[PHASE_COUNT];	/* ms, the login in progress */
static double last_mark;
static long logins;
static bool pending;			/* a successful login waits for its commit */
static bool registered;

static double
now_ms(void)
{
	instr_time	t;

	INSTR_TIME_SET_CURRENT(t);
	return INSTR_TIME_GET_MILLISEC(t);
}

static void
phase_report(int code, Datum arg)
{
	StringInfoData buf;

	if (logins == 0)
		return;
	initStringInfo(&buf);
	appendStringInfo(&buf, "aeauth login phases: logins=%ld", logins);
	for (int p = 0; p < PHASE_COUNT; p++)
		appendStringInfo(&buf, " %s=%.4f", phase_names[p], totals[p] / logins);
	ereport(LOG, (errcode(ERRCODE_SUCCESSFUL_COMPLETION), errmsg_internal("%s", buf.data)));
	pfree(buf.data);
}

static void
phase_xact(XactEvent event, void *arg)
{
	if (!pending)
		return;
	if (event == XACT_EVENT_PRE_COMMIT)
		phase_mark(PHASE_RETURN);
	else if (event == XACT_EVENT_COMMIT)
	{
		phase_mark(PHASE_COMMIT);
		for (int p = 0; p < PHASE_COUNT; p++)
			totals[p] += current[p];
		logins++;
		pending = false;
	}
	else if (event == XACT_EVENT_ABORT)
		pending = false;
}

void
phase_begin(void)
{
	if (!registered)
	{
		on_proc_exit(phase_report, (Datum) 0);
		RegisterXactCallback(phase_xact, NULL);
		registered = true;
	}
	memset(current, 0, sizeof(current));
	pending = false;
	last_mark = now_ms();
}

void
phase_mark(LoginPhase phase)
{
	double		t = now_ms();

	current[phase] += t - last_mark;
	last_mark = t;
}

void
phase_end(bool success)
{
	pending = success;
}

#endif							/* AEAUTH_PHASE_TIMING */
