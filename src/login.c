/*
 * login.c: aeauth.login(): one attempt, one transaction, one row back.
 *
 * The order of the work matters more than the work:
 *  1. throttling by source (IPv4 address or IPv6 /64): cheap, before any hashing;
 *  2. the user, by email (identifier with '@') or by username, case-insensitively;
 *  3. an unknown user gets a dummy argon2id verification at the current parameters, so it costs
 *     what a wrong password costs;
 *  4. a known one is verified even when locked or disabled (same cost, nothing learnt from
 *     timing), but a correct password never opens a locked or disabled account;
 *  5. failures are counted with one atomic UPDATE that re-checks the lock, so N concurrent
 *     wrong passwords move the counter by exactly N, and stop exactly at the lock;
 *  6. a device (the backend's device id, or else the IP) that logged in successfully within
 *     aeauth.trusted_device_days keeps its own counter and lock: failures from elsewhere
 *     cannot lock a player out of the device they always use.
 *
 * Credential failures are returned, never raised: an error would roll back the counter and
 * the audit row.  That is also why login must run in its own transaction (README).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "aeauth.h"
#include "version.h"
#include "account.h"
#include "audit.h"
#include "guc.h"
#include "login.h"
#include "password.h"
#include "phase_timing.h"
#include "plan.h"
#include "session.h"
#include "token.h"

int			aeauth_ip_max_failures = 100;
int			aeauth_ip_window_ms = 5 * 60 * 1000;
int			aeauth_trusted_device_days = 30;
bool		aeauth_require_verified_email = false;

typedef enum LoginStatus
{
	LOGIN_OK,
	LOGIN_INVALID,
	LOGIN_LOCKED,
	LOGIN_DISABLED,
	LOGIN_UNVERIFIED,
	LOGIN_THROTTLED
} LoginStatus;

static const char *const status_names[] = {
	[LOGIN_OK] = "ok",
	[LOGIN_INVALID] = "invalid_credentials",
	[LOGIN_LOCKED] = "locked",
	[LOGIN_DISABLED] = "disabled",
	[LOGIN_UNVERIFIED] = "unverified",
	[LOGIN_THROTTLED] = "throttled",
};

/* What the caller passed, and what the attempt learnt along the way. */
typedef struct LoginAttempt
{
	/* input */
	const char *identifier;
	char	   *password;		/* wiped before return */
	size_t		password_len;
	Datum		ip;
	bool		has_ip;
	const char *user_agent;
	const char *device_type;
	const char *device_name;
	const char *device_id;

	/* the account */
	bool		found;
	pg_uuid_t	user_id;
	char	   *password_hash;
	char	   *status;
	bool		email_verified;
	bool		account_locked; /* its lock is in force now */
	bool		lock_expired;	/* a lock was set and has run out */

	/* the device */
	uint8		device_key[TOKEN_HASH_LEN];
	bool		has_device_key;
	bool		trusted;
	bool		device_locked;
} LoginAttempt;

static SPIPlanPtr throttle_plan;
static SPIPlanPtr source_failure_plan;
static SPIPlanPtr user_by_email_plan;
static SPIPlanPtr user_by_username_plan;
static SPIPlanPtr device_plan;
static SPIPlanPtr fail_user_plan;
static SPIPlanPtr fail_device_plan;
static SPIPlanPtr success_plan;

/* The source network an IP counts against: the address itself for IPv4, its /64 for IPv6. */
#define SOURCE_NETWORK(p) \
	"pg_catalog.network(pg_catalog.set_masklen(" p ", CASE pg_catalog.family(" p ")" \
	" WHEN 4 THEN 32 ELSE 64 END))"

void
LoginInit(void)
{
	DefineCustomIntVariable("aeauth.ip_max_failures",
							"Failed logins from one source within aeauth.ip_window before it is throttled.",
							"A source is an IPv4 address or an IPv6 /64.",
							&aeauth_ip_max_failures,
							100, 1, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("aeauth.ip_window",
							"Window over which failed logins per source are counted.",
							NULL,
							&aeauth_ip_window_ms,
							5 * 60 * 1000, 1000, 24 * 60 * 60 * 1000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("aeauth.trusted_device_days",
							"A device that logged in successfully within this many days is trusted.",
							"A trusted device keeps its own failure counter and lock.",
							&aeauth_trusted_device_days,
							30, 0, 3650,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("aeauth.require_verified_email",
							 "Refuse logins of users whose email is not verified.",
							 NULL,
							 &aeauth_require_verified_email,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------------------------- */

static bool
source_is_throttled(LoginAttempt *a)
{
	Oid			types[2] = {INETOID, TIMESTAMPTZOID};
	Datum		values[2];
	bool		isnull;
	int64		failures;

	if (!a->has_ip)
		return false;
	plan_kept(&throttle_plan,
			  "SELECT COALESCE(pg_catalog.sum(failures), 0)::int8"
			  "  FROM aeauth.login_source_failures"
			  " WHERE source OPERATOR(pg_catalog.=) " SOURCE_NETWORK("$1")
			  "   AND bucket OPERATOR(pg_catalog.>) $2",
			  2, types);
	values[0] = a->ip;
	values[1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp() -
									(int64) aeauth_ip_window_ms * 1000);
	plan_exec(throttle_plan, values, NULL, SPI_OK_SELECT, 1);
	failures = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
										   &isnull));
	return failures >= aeauth_ip_max_failures;
}

static void
record_source_failure(LoginAttempt *a)
{
	Oid			types[1] = {INETOID};

	if (!a->has_ip)
		return;
	plan_kept(&source_failure_plan,
			  "INSERT INTO aeauth.login_source_failures AS f (source, bucket, failures)"
			  " VALUES (" SOURCE_NETWORK("$1") ","
			  "         pg_catalog.date_trunc('minute', pg_catalog.now()), 1)"
			  " ON CONFLICT (source, bucket)"
			  " DO UPDATE SET failures = f.failures OPERATOR(pg_catalog.+) 1",
			  1, types);
	plan_exec(source_failure_plan, &a->ip, NULL, SPI_OK_INSERT, 0);
}

static void
find_user(LoginAttempt *a)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	char	   *folded = account_fold_email(a->identifier);
	Datum		values[2] = {CStringGetTextDatum(a->identifier), CStringGetTextDatum(folded)};
	SPIPlanPtr	plan;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;

#define USER_COLUMNS \
	"SELECT id, password_hash::text, status::text, email_verified," \
	"       locked_until IS NOT NULL AND locked_until OPERATOR(pg_catalog.>) pg_catalog.now()," \
	"       locked_until IS NOT NULL AND locked_until OPERATOR(pg_catalog.<=) pg_catalog.now()" \
	"  FROM aeauth.users "

	/*
	 * Emails must contain '@' and usernames cannot: one index probe either way.  Emails are
	 * stored NFKC-folded (account_fold_email), so a full-width look-alike finds its account; an
	 * email stored as typed (a look-alike kept apart by the 1.6 upgrade) wins when typed exactly.
	 */
	if (strchr(folded, '@') != NULL)
		plan = plan_kept(&user_by_email_plan,
						 USER_COLUMNS "WHERE pg_catalog.lower(email::text) OPERATOR(pg_catalog.=)"
						 "      ANY (ARRAY[pg_catalog.lower($1), pg_catalog.lower($2)])"
						 " ORDER BY pg_catalog.lower(email::text) OPERATOR(pg_catalog.=) pg_catalog.lower($1) DESC"
						 " LIMIT 1",
						 2, types);
	else
		plan = plan_kept(&user_by_username_plan,
						 USER_COLUMNS "WHERE pg_catalog.lower(username::text) OPERATOR(pg_catalog.=) pg_catalog.lower($1)",
						 1, types);
	plan_exec(plan, values, NULL, SPI_OK_SELECT, 1);

	a->found = SPI_processed == 1;
	if (!a->found)
		return;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	memcpy(&a->user_id, DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull)), sizeof(pg_uuid_t));
	a->password_hash = plan_text(2);
	a->status = plan_text(3);
	a->email_verified = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
	a->account_locked = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
	a->lock_expired = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
}

/*
 * The device key: SHA-256 of the backend's device id when it passes one, else of the IP.
 * Only the hash is stored, so a device id is as safe in the table as a token.
 */
static void
compute_device_key(LoginAttempt *a)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (a->device_id != NULL && a->device_id[0] != '\0')
		appendStringInfo(&buf, "device:%s", a->device_id);
	else if (a->has_ip)
		appendStringInfo(&buf, "ip:%s",
						 DatumGetCString(DirectFunctionCall1(inet_out, a->ip)));
	else
	{
		pfree(buf.data);
		return;
	}
	token_sha256(buf.data, buf.len, a->device_key);
	a->has_device_key = true;
	pfree(buf.data);
}

static void
look_up_device(LoginAttempt *a)
{
	Oid			types[3] = {UUIDOID, BYTEAOID, INT4OID};
	Datum		values[3];
	bool		isnull;

	compute_device_key(a);
	if (!a->has_device_key || aeauth_trusted_device_days == 0)
		return;
	plan_kept(&device_plan,
			  "SELECT locked_until IS NOT NULL AND locked_until OPERATOR(pg_catalog.>) pg_catalog.now()"
			  "  FROM aeauth.trusted_devices"
			  " WHERE user_id OPERATOR(pg_catalog.=) $1 AND device_key OPERATOR(pg_catalog.=) $2"
			  "   AND last_success_at OPERATOR(pg_catalog.>)"
			  "       (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(days => $3))",
			  3, types);
	values[0] = UUIDPGetDatum(&a->user_id);
	values[1] = token_hash_datum(a->device_key);
	values[2] = Int32GetDatum(aeauth_trusted_device_days);
	plan_exec(device_plan, values, NULL, SPI_OK_SELECT, 1);
	if (SPI_processed == 1)
	{
		a->trusted = true;
		a->device_locked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc, 1, &isnull));
	}
}

/*
 * The counting UPDATE shared by accounts and devices.  It re-checks the lock under the row
 * lock, so concurrent failures serialize on the row and each sees the last one's count: the
 * counter moves by exactly one per failure and stops when the lock engages.  A lock that has
 * run out starts a fresh count.  Each lock since the last success doubles the next one.
 */
#define FAIL_SET_CLAUSE \
	" SET failed_login_attempts = (CASE WHEN t.locked_until IS NULL THEN t.failed_login_attempts ELSE 0 END) OPERATOR(pg_catalog.+) 1," \
	"     lockout_count = t.lockout_count OPERATOR(pg_catalog.+) CASE WHEN" \
	"         (CASE WHEN t.locked_until IS NULL THEN t.failed_login_attempts ELSE 0 END) OPERATOR(pg_catalog.+) 1" \
	"         OPERATOR(pg_catalog.>=) $2 THEN 1 ELSE 0 END," \
	"     locked_until = CASE WHEN" \
	"         (CASE WHEN t.locked_until IS NULL THEN t.failed_login_attempts ELSE 0 END) OPERATOR(pg_catalog.+) 1" \
	"         OPERATOR(pg_catalog.>=) $2" \
	"       THEN pg_catalog.now() OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs =>" \
	"            LEAST($3::float8 OPERATOR(pg_catalog.*) pg_catalog.power(2::float8, LEAST(t.lockout_count, 40)::float8), $4::float8)" \
	"            OPERATOR(pg_catalog./) 1000::float8)" \
	"       ELSE NULL END" \
	" WHERE (t.locked_until IS NULL OR t.locked_until OPERATOR(pg_catalog.<=) pg_catalog.now())"
#define FAIL_RETURNING \
	" RETURNING t.failed_login_attempts, t.locked_until IS NOT NULL," \
	"           pg_catalog.date_part('epoch', t.locked_until OPERATOR(pg_catalog.-) pg_catalog.now())::int8"

/* Counts a wrong password; returns true when this failure engaged a lock. */
static bool
count_failure(LoginAttempt *a, int *attempts, int64 *lock_seconds)
{
	Datum		values[5];
	bool		isnull;
	SPIPlanPtr	plan;

	values[0] = UUIDPGetDatum(&a->user_id);
	values[1] = Int32GetDatum(aeauth_max_failed_attempts);
	values[2] = Int64GetDatum((int64) aeauth_lockout_base_ms);
	values[3] = Int64GetDatum((int64) aeauth_lockout_max_ms);
	if (a->trusted)
	{
		Oid			types[5] = {UUIDOID, INT4OID, INT8OID, INT8OID, BYTEAOID};

		plan = plan_kept(&fail_device_plan,
						 "UPDATE aeauth.trusted_devices AS t" FAIL_SET_CLAUSE
						 "   AND t.user_id OPERATOR(pg_catalog.=) $1"
						 "   AND t.device_key OPERATOR(pg_catalog.=) $5" FAIL_RETURNING,
						 5, types);
		values[4] = token_hash_datum(a->device_key);
	}
	else
	{
		Oid			types[4] = {UUIDOID, INT4OID, INT8OID, INT8OID};

		plan = plan_kept(&fail_user_plan,
						 "UPDATE aeauth.users AS t" FAIL_SET_CLAUSE
						 "   AND t.id OPERATOR(pg_catalog.=) $1" FAIL_RETURNING,
						 4, types);
	}
	plan_exec(plan, values, NULL, SPI_OK_UPDATE_RETURNING, 0);
	if (SPI_processed != 1)
		return false;			/* locked meanwhile by a concurrent attempt: not counted */
	*attempts = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
		return false;
	*lock_seconds = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	return true;
}

/*
 * Records the success in ONE statement: counters and lock cleared, last_login set, the new
 * hash stored when the old one was due for a rehash, the device's row upserted (trusted from
 * now on, its own counter and lock cleared) and the locks of the user's other devices lifted.
 * Re-checks, under the row lock, that the account is still active and (unless the device is
 * trusted) not locked by a concurrent attempt; nothing is written to the devices otherwise.
 *
 * The other devices' locks used to be lifted only by the trigger users_clear_device_locks on
 * every success; since 1.6 its WHEN clause skips a login on an account that had nothing to
 * clear (the usual case), so the statement lifts them itself -- an index probe on
 * (user_id, device_key) that usually finds nothing, instead of a plpgsql call per login.  On
 * an older schema the trigger still fires too: the same end state, one more statement.
 */
static bool
record_success(LoginAttempt *a, const char *new_hash)
{
	Oid			types[5] = {UUIDOID, TEXTOID, BOOLOID, BYTEAOID, BOOLOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	bool		upsert = a->has_device_key && aeauth_trusted_device_days > 0;
	bool		isnull;

	plan_kept(&success_plan,
			  "WITH u AS ("
			  "  UPDATE aeauth.users"
			  "     SET failed_login_attempts = 0, lockout_count = 0, locked_until = NULL,"
			  "         last_login = pg_catalog.now(),"
			  "         password_hash = COALESCE($2, password_hash)"
			  "   WHERE id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'active'"
			  "     AND ($3 OR locked_until IS NULL OR locked_until OPERATOR(pg_catalog.<=) pg_catalog.now())"
			  "  RETURNING id),"
			  " others AS ("
			  "  UPDATE aeauth.trusted_devices o SET failed_login_attempts = 0, locked_until = NULL"
			  "   WHERE o.user_id OPERATOR(pg_catalog.=) $1"
			  "     AND o.device_key IS DISTINCT FROM $4"
			  "     AND (o.locked_until IS NOT NULL OR o.failed_login_attempts OPERATOR(pg_catalog.>) 0)"
			  "     AND EXISTS (SELECT FROM u)),"
			  " device AS ("
			  "  INSERT INTO aeauth.trusted_devices AS t (user_id, device_key, last_success_at)"
			  "  SELECT u.id, $4, pg_catalog.now() FROM u WHERE $5"
			  "  ON CONFLICT (user_id, device_key) DO UPDATE"
			  "     SET last_success_at = pg_catalog.now(), failed_login_attempts = 0,"
			  "         lockout_count = 0, locked_until = NULL)"
			  "SELECT pg_catalog.count(*)::int4 FROM u",
			  5, types);
	values[0] = UUIDPGetDatum(&a->user_id);
	values[1] = new_hash ? CStringGetTextDatum(new_hash) : (Datum) 0;
	nulls[1] = new_hash ? ' ' : 'n';
	values[2] = BoolGetDatum(a->trusted);
	values[3] = a->has_device_key ? token_hash_datum(a->device_key) : (Datum) 0;
	nulls[3] = a->has_device_key ? ' ' : 'n';
	values[4] = BoolGetDatum(upsert);
	plan_exec(success_plan, values, nulls, SPI_OK_SELECT, 0);
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) == 1;
}

/* ---------------------------------------------------------------------------------------- */

static void
audit_attempt(LoginAttempt *a, const char *status, const char *reason, const char *severity,
			  const pg_uuid_t *session_id)
{
	StringInfoData meta;

	initStringInfo(&meta);
	appendStringInfo(&meta, "{\"reason\": \"%s\", \"trusted_device\": %s}",
					 reason, a->trusted ? "true" : "false");
	audit_log_event(&(AuditEvent) {
		.user_id = a->found ? &a->user_id : NULL,
			.session_id = session_id,
			.event_type = "login",
			.event_category = "authentication",
			.action = "login",
			.status = status,
			.ip_address = a->ip,
			.has_ip = a->has_ip,
			.user_agent = a->user_agent,
			.metadata_json = meta.data,
			.severity = severity,
	}, NULL);
	pfree(meta.data);
}

static void
audit_lock(LoginAttempt *a, const char *type, const char *reason, int attempts, int64 seconds)
{
	StringInfoData meta;

	initStringInfo(&meta);
	appendStringInfo(&meta,
					 "{\"reason\": \"%s\", \"scope\": \"%s\", \"failed_attempts\": %d, \"locked_seconds\": " INT64_FORMAT "}",
					 reason, a->trusted ? "device" : "account", attempts, seconds);
	audit_log_event(&(AuditEvent) {
		.user_id = &a->user_id,
			.event_type = type,
			.event_category = "security",
			.action = type,
			.status = "success",
			.ip_address = a->ip,
			.has_ip = a->has_ip,
			.user_agent = a->user_agent,
			.metadata_json = meta.data,
			.severity = "warning",
	}, NULL);
	pfree(meta.data);
}

/* The reported status: with aeauth.paranoid, only ok, throttled and invalid_credentials. */
static LoginStatus
reported(LoginStatus s)
{
	if (aeauth_paranoid && (s == LOGIN_LOCKED || s == LOGIN_DISABLED || s == LOGIN_UNVERIFIED))
		return LOGIN_INVALID;
	return s;
}

static LoginStatus
attempt_login(LoginAttempt *a, SessionTokens *tokens)
{
	bool		needs_rehash = false;
	bool		password_ok;
	char	   *new_hash = NULL;
	bool		throttled = source_is_throttled(a);

	PHASE_MARK(PHASE_THROTTLE);
	if (throttled)
	{
		audit_attempt(a, "failure", "throttled", "warning", NULL);
		return LOGIN_THROTTLED;
	}

	find_user(a);
	PHASE_MARK(PHASE_FIND_USER);
	if (!a->found)
	{
		password_dummy_verify(a->password, a->password_len);
		record_source_failure(a);
		audit_attempt(a, "failure", "unknown_identifier", "info", NULL);
		return LOGIN_INVALID;
	}

	look_up_device(a);
	PHASE_MARK(PHASE_DEVICE);

	/* Always the full verification, so that no branch is faster than a wrong password. */
	password_ok = password_verify(a->password, a->password_len, a->password_hash, &needs_rehash);
	PHASE_MARK(PHASE_VERIFY);

	if (a->trusted ? a->device_locked : a->account_locked)
	{
		/* Neither counted nor extended, and the password's correctness is not revealed. */
		record_source_failure(a);
		audit_attempt(a, "failure", "locked", "warning", NULL);
		return LOGIN_LOCKED;
	}
	if (strcmp(a->status, "active") != 0)
	{
		record_source_failure(a);
		audit_attempt(a, "failure", "disabled", "warning", NULL);
		return LOGIN_DISABLED;
	}
	if (!a->trusted && a->lock_expired)
		audit_lock(a, "account_unlocked", "lock_expired", 0, 0);

	if (!password_ok)
	{
		int			attempts = 0;
		int64		seconds = 0;

		record_source_failure(a);
		audit_attempt(a, "failure", "wrong_password", "info", NULL);
		if (count_failure(a, &attempts, &seconds))
			audit_lock(a, "account_locked", "too_many_failures", attempts, seconds);
		return LOGIN_INVALID;
	}

	if (aeauth_require_verified_email && !a->email_verified)
	{
		audit_attempt(a, "failure", "unverified", "info", NULL);
		return LOGIN_UNVERIFIED;
	}

	if (needs_rehash)
		new_hash = password_hash_new(a->password, a->password_len);
	if (!record_success(a, new_hash))
	{
		/* Locked or disabled by a concurrent transaction between our read and our write. */
		audit_attempt(a, "failure", "locked", "warning", NULL);
		return LOGIN_LOCKED;
	}

	PHASE_MARK(PHASE_RECORD_SUCCESS);
	/* record_success's UPDATE holds the user's row lock and saw the account active. */
	session_create(&a->user_id, a->ip, a->has_ip, a->user_agent, a->device_type,
				   a->device_name, a->trusted, true, tokens);
	audit_attempt(a, "success", needs_rehash ? "password_rehashed" : "password", "info",
				  &tokens->session_id);
	PHASE_MARK(PHASE_LOGIN_AUDIT);
	return LOGIN_OK;
}

/* ---------------------------------------------------------------------------------------- */

static char *
optional_text(FunctionCallInfo fcinfo, int n)
{
	if (PG_NARGS() <= n || PG_ARGISNULL(n))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

PG_FUNCTION_INFO_V1(aeauth_login);

/*
 * login(identifier, password, ip, user_agent, device_type, device_name, device_id)
 *   RETURNS TABLE(status, user_id, session_id, access_token, refresh_token,
 *                 access_expires_at, refresh_expires_at)
 */
Datum
aeauth_login(PG_FUNCTION_ARGS)
{
	LoginAttempt a;
	SessionTokens tokens;
	volatile LoginStatus status;	/* set inside PG_TRY */
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[7];
	bool		nulls[7];
	text	   *pw;

	PHASE_BEGIN();
	version_require("1.4");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(AEAUTH_ERRCODE_NULL),
				 errmsg("identifier must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(AEAUTH_ERRCODE_NULL),
				 errmsg("password must not be null")));

	InitMaterializedSRF(fcinfo, 0);

	memset(&a, 0, sizeof(a));
	memset(&tokens, 0, sizeof(tokens));
	a.identifier = text_to_cstring(PG_GETARG_TEXT_PP(0));
	pw = PG_GETARG_TEXT_PP(1);
	a.password_len = VARSIZE_ANY_EXHDR(pw);
	a.password = palloc(a.password_len + 1);
	memcpy(a.password, VARDATA_ANY(pw), a.password_len);
	a.password[a.password_len] = '\0';
	a.has_ip = !PG_ARGISNULL(2);
	a.ip = a.has_ip ? PG_GETARG_DATUM(2) : (Datum) 0;
	a.user_agent = optional_text(fcinfo, 3);
	a.device_type = optional_text(fcinfo, 4);
	a.device_name = optional_text(fcinfo, 5);
	a.device_id = optional_text(fcinfo, 6);
	/* Before the password is looked at: a too-long device field must not tell right from wrong. */
	session_check_device_fields(a.device_type, a.device_name);

	plan_connect();
	PHASE_MARK(PHASE_ENTRY);
	PG_TRY();
	{
		status = attempt_login(&a, &tokens);
	}
	PG_FINALLY();
	{
		explicit_bzero(a.password, a.password_len);
	}
	PG_END_TRY();
	SPI_finish();
	PHASE_END(status == LOGIN_OK);

	memset(nulls, true, sizeof(nulls));
	values[0] = CStringGetTextDatum(status_names[reported(status)]);
	nulls[0] = false;
	if (status == LOGIN_OK)
	{
		values[1] = UUIDPGetDatum(&a.user_id);
		values[2] = UUIDPGetDatum(&tokens.session_id);
		values[3] = CStringGetTextDatum(tokens.access_token);
		values[4] = CStringGetTextDatum(tokens.refresh_token);
		values[5] = TimestampTzGetDatum(tokens.access_expires_at);
		values[6] = TimestampTzGetDatum(tokens.refresh_expires_at);
		memset(nulls, false, sizeof(nulls));
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

	if (status == LOGIN_OK)
	{
		explicit_bzero(tokens.access_token, strlen(tokens.access_token));
		explicit_bzero(tokens.refresh_token, strlen(tokens.refresh_token));
		explicit_bzero(VARDATA(DatumGetPointer(values[3])), VARSIZE(DatumGetPointer(values[3])) - VARHDRSZ);
		explicit_bzero(VARDATA(DatumGetPointer(values[4])), VARSIZE(DatumGetPointer(values[4])) - VARHDRSZ);
	}
	return (Datum) 0;
}

/* ---------------------------------------------------------------------------------------- */

/*
 * A wrong password given to another function than login (change_password): counted on the
 * account by the same atomic UPDATE, with the same lock and audit events.  SPI not connected.
 */
bool
login_count_account_failure(const pg_uuid_t *user_id)
{
	LoginAttempt a;
	int			attempts = 0;
	int64		seconds = 0;
	bool		locked;

	memset(&a, 0, sizeof(a));
	a.found = true;
	a.user_id = *user_id;
	plan_connect();
	locked = count_failure(&a, &attempts, &seconds);
	if (locked)
		audit_lock(&a, "account_locked", "too_many_failures", attempts, seconds);
	SPI_finish();
	return locked;
}

/* The audit event login writes when it finds that an account's lock has run out. */
void
login_audit_lock_expired(const pg_uuid_t *user_id)
{
	LoginAttempt a;

	memset(&a, 0, sizeof(a));
	a.found = true;
	a.user_id = *user_id;
	audit_lock(&a, "account_unlocked", "lock_expired", 0, 0);
}
