/*
 * session.c: creating and revoking sessions (see session.h), and the SQL functions over that:
 * create_session, logout, revoke_session, revoke_user_sessions, and the trigger that revokes
 * a user's sessions when the user stops being active.
 *
 * Every revocation sends NOTIFY aeauth_session_revoked {"session_id", "user_id", "revoked_by"}
 * (delivered at commit, dropped at rollback), so game servers can drop a live connection at
 * once.  Tokens never leave this file except in the result of the call that created them.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "aeauth.h"
#include "version.h"
#include "audit.h"
#include "guc.h"
#include "phase_timing.h"
#include "plan.h"
#include "session.h"
#include "session_internal.h"
#include "token.h"

#define LIVE " status" EQ "'active'"

static SPIPlanPtr lock_user_plan = NULL;
static SPIPlanPtr risk_plan = NULL;
static SPIPlanPtr evict_plan = NULL;
static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr revoke_user_plan = NULL;
static SPIPlanPtr revoke_one_plan = NULL;
static SPIPlanPtr logout_plan = NULL;

void
SessionInit(void)
{
	IdentityInit();
	ValidateInit();
	RefreshInit();
}

SPIPlanPtr
session_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

		if (plan == NULL)
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
							errmsg("aeauth: could not prepare a session statement: %s",
								   SPI_result_code_string(SPI_result))));
		SPI_keepplan(plan);
		*slot = plan;
	}
	return *slot;
}


static char *
uuid_to_cstring(const pg_uuid_t *u)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(u)));
}

void
session_check_revoked_by(const char *revoked_by)
{
	if (revoked_by == NULL)
		ereport(ERROR, (errcode(AEAUTH_ERRCODE_NULL), errmsg("revoked_by must not be null")));
	if (strcmp(revoked_by, "user") != 0 && strcmp(revoked_by, "admin") != 0 &&
		strcmp(revoked_by, "system") != 0 && strcmp(revoked_by, "security") != 0)
		ereport(ERROR, (errcode(AEAUTH_ERRCODE_BAD_INPUT),
						errmsg("invalid revoked_by value"),
						errdetail("revoked_by must be one of user, admin, system, security.")));
}

static void
notify_revoked(const pg_uuid_t *sid, const pg_uuid_t *uid, const char *revoked_by)
{
	StringInfoData payload;

	initStringInfo(&payload);
	appendStringInfo(&payload, "{\"session_id\":\"%s\",\"user_id\":\"%s\",\"revoked_by\":",
					 uuid_to_cstring(sid), uuid_to_cstring(uid));
	escape_json(&payload, revoked_by);
	appendStringInfoChar(&payload, '}');
	Async_Notify("aeauth_session_revoked", payload.data);
	pfree(payload.data);
}

int64
session_revoke_rows(SPIPlanPtr plan, Datum *values, const char *nulls, const char *revoked_by,
					pg_uuid_t *first_sid, pg_uuid_t *first_uid)
{
	int			rc = SPI_execute_plan(plan, values, nulls, false, 0);
	uint64		n;

	if (rc != SPI_OK_UPDATE_RETURNING)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("aeauth: session revocation failed: %s", SPI_result_code_string(rc))));
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		pg_uuid_t	sid = *DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull));
		pg_uuid_t	uid = *DatumGetUUIDP(SPI_getbinval(tup, desc, 2, &isnull));

		notify_revoked(&sid, &uid, revoked_by);
		identity_forget_session(&sid);
		if (i == 0 && first_sid)
			*first_sid = sid;
		if (i == 0 && first_uid)
			*first_uid = uid;
	}
	return (int64) n;
}

static void
audit_session_event(const pg_uuid_t *uid, const pg_uuid_t *sid, const char *event_type,
					const char *category, const char *action, const char *metadata,
					const char *severity)
{
	AuditEvent	ev = {0};

	ev.user_id = uid;
	ev.session_id = sid;
	ev.event_type = event_type;
	ev.event_category = category;
	ev.action = action;
	ev.status = "success";
	ev.metadata_json = metadata;
	ev.severity = severity;
	audit_log_event(&ev, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Revocation */

int64
session_revoke_user(const pg_uuid_t *user_id, const pg_uuid_t *except_id, const char *revoked_by)
{
	Oid			types[3] = {UUIDOID, UUIDOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	SPIPlanPtr	plan;
	int64		n;

	session_check_revoked_by(revoked_by);
	plan_connect();
	plan = session_plan(&revoke_user_plan,
						"UPDATE aeauth.user_sessions"
						"   SET status = 'revoked', revoked_at = pg_catalog.now(), revoked_by = $3"
						" WHERE user_id" EQ "$1 AND" LIVE
						"   AND ($2 IS NULL OR id OPERATOR(pg_catalog.<>) $2)"
						" RETURNING id, user_id",
						3, types);
	values[0] = UUIDPGetDatum(user_id);
	values[1] = except_id ? UUIDPGetDatum(except_id) : (Datum) 0;
	nulls[1] = except_id ? ' ' : 'n';
	values[2] = CStringGetTextDatum(revoked_by);
	n = session_revoke_rows(plan, values, nulls, revoked_by, NULL, NULL);
	if (n > 0)
	{
		char		meta[128];

		snprintf(meta, sizeof(meta), "{\"count\": " INT64_FORMAT ", \"revoked_by\": \"%s\"}",
				 n, revoked_by);
		audit_session_event(user_id, NULL, "sessions_revoked", "session",
							"revoke_user_sessions", meta, "info");
	}
	SPI_finish();
	return n;
}

bool
session_revoke(const pg_uuid_t *session_id, const char *revoked_by)
{
	Oid			types[2] = {UUIDOID, TEXTOID};
	Datum		values[2];
	pg_uuid_t	uid;
	int64		n;

	session_check_revoked_by(revoked_by);
	plan_connect();
	session_plan(&revoke_one_plan,
				 "UPDATE aeauth.user_sessions"
				 "   SET status = 'revoked', revoked_at = pg_catalog.now(), revoked_by = $2"
				 " WHERE id" EQ "$1 AND" LIVE
				 " RETURNING id, user_id",
				 2, types);
	values[0] = UUIDPGetDatum(session_id);
	values[1] = CStringGetTextDatum(revoked_by);
	n = session_revoke_rows(revoke_one_plan, values, NULL, revoked_by, NULL, &uid);
	if (n > 0)
	{
		char		meta[64];

		snprintf(meta, sizeof(meta), "{\"revoked_by\": \"%s\"}", revoked_by);
		audit_session_event(&uid, session_id, "session_revoked", "session",
							"revoke_session", meta, "info");
	}
	SPI_finish();
	return n > 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Creation */

/*
 * Risk rule (README "Risk"): compared with the user's sessions of the last 30 days (at most the
 * 20 newest, any status); nothing to compare with scores 0.
 *   +40  the IP is given and its network (/24 for IPv4, /64 for IPv6) is new;
 *   +30  the device (device_type, device_name) is new;
 *   +20  the user agent is new;
 *   +10  both the network and the device are new.
 */
static int
session_risk(const pg_uuid_t *user_id, Datum ip, bool has_ip, const char *user_agent,
			 const char *device_type, const char *device_name, StringInfo reasons)
{
	Oid			types[5] = {UUIDOID, INETOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int			rc,
				score = 0;
	bool		net_seen,
				device_seen,
				ua_seen;

	session_plan(&risk_plan,
				 "SELECT pg_catalog.count(*)::int4,"
				 "  coalesce(pg_catalog.bool_or(pg_catalog.network(pg_catalog.set_masklen(r.ip_address,"
				 "      CASE WHEN pg_catalog.family(r.ip_address)" EQ "4 THEN 24 ELSE 64 END))"
				 "    " EQ " pg_catalog.network(pg_catalog.set_masklen($2,"
				 "      CASE WHEN pg_catalog.family($2)" EQ "4 THEN 24 ELSE 64 END))), false),"
				 "  coalesce(pg_catalog.bool_or(r.device_type IS NOT DISTINCT FROM $4"
				 "    AND r.device_name IS NOT DISTINCT FROM $5), false),"
				 "  coalesce(pg_catalog.bool_or(r.user_agent IS NOT DISTINCT FROM $3), false)"
				 " FROM (SELECT s.ip_address, s.device_type::text, s.device_name::text, s.user_agent"
				 "         FROM aeauth.user_sessions s"
				 "        WHERE s.user_id" EQ "$1"
				 "          AND s.created_at OPERATOR(pg_catalog.>)"
				 "              (pg_catalog.now() OPERATOR(pg_catalog.-) interval '30 days')"
				 "        ORDER BY s.created_at DESC LIMIT 20) r",
				 5, types);
	values[0] = UUIDPGetDatum(user_id);
	values[1] = has_ip ? ip : (Datum) 0;
	nulls[1] = has_ip ? ' ' : 'n';
	values[2] = user_agent ? CStringGetTextDatum(user_agent) : (Datum) 0;
	nulls[2] = user_agent ? ' ' : 'n';
	values[3] = device_type ? CStringGetTextDatum(device_type) : (Datum) 0;
	nulls[3] = device_type ? ' ' : 'n';
	values[4] = device_name ? CStringGetTextDatum(device_name) : (Datum) 0;
	nulls[4] = device_name ? ' ' : 'n';
	rc = SPI_execute_plan(risk_plan, values, nulls, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("aeauth: risk query failed")));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	if (DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull)) == 0)
		return 0;
	net_seen = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
	device_seen = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	ua_seen = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
	if (has_ip && !net_seen)
	{
		score += 40;
		appendStringInfoString(reasons, reasons->len > 1 ? ", \"new_network\"" : "\"new_network\"");
	}
	if (!device_seen)
	{
		score += 30;
		appendStringInfoString(reasons, reasons->len > 1 ? ", \"new_device\"" : "\"new_device\"");
	}
	if (!ua_seen)
	{
		score += 20;
		appendStringInfoString(reasons, reasons->len > 1 ? ", \"new_user_agent\"" : "\"new_user_agent\"");
	}
	if (has_ip && !net_seen && !device_seen)
		score += 10;
	return score;
}

/* The column limits of user_sessions as 22023 (bad input), not 22001 from the INSERT. */
static void
check_device_field(const char *value, const char *field, int max_chars)
{
	if (value && pg_mbstrlen(value) > max_chars)
		ereport(ERROR,
				(errcode(AEAUTH_ERRCODE_BAD_INPUT),
				 errmsg("invalid %s", field),
				 errdetail("The %s may be at most %d characters long.", field, max_chars)));
}

void
session_check_device_fields(const char *device_type, const char *device_name)
{
	check_device_field(device_type, "device_type", 50);
	check_device_field(device_name, "device_name", 100);
}

void
session_create(const pg_uuid_t *user_id, Datum ip, bool has_ip, const char *user_agent,
			   const char *device_type, const char *device_name, bool is_trusted,
			   bool user_locked, SessionTokens *out)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	TimestampTz absolute = now + USECS(aeauth_session_absolute_timeout_s);
	uint8		access_hash[TOKEN_HASH_LEN];
	uint8		refresh_hash[TOKEN_HASH_LEN];
	StringInfoData reasons;
	StringInfoData meta;
	MemoryContext caller_cxt = CurrentMemoryContext;
	MemoryContext old;
	int			rc;
	bool		isnull;

	session_check_device_fields(device_type, device_name);

	plan_connect();

	/* The user exists and is active; the lock serializes session creation per user. */
	if (!user_locked)
	{
		Oid			types[1] = {UUIDOID};
		Datum		values[1] = {UUIDPGetDatum(user_id)};
		char	   *status;

		session_plan(&lock_user_plan,
					 "SELECT u.status::text FROM aeauth.users u WHERE u.id" EQ "$1 FOR NO KEY UPDATE",
					 1, types);
		rc = SPI_execute_plan(lock_user_plan, values, NULL, false, 1);
		if (rc != SPI_OK_SELECT)
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("aeauth: user lookup failed")));
		if (SPI_processed != 1)
			ereport(ERROR, (errcode(AEAUTH_ERRCODE_BAD_INPUT),
							errmsg("user does not exist")));
		status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (strcmp(status, "active") != 0)
			ereport(ERROR, (errcode(AEAUTH_ERRCODE_BAD_INPUT),
							errmsg("user is not active"),
							errdetail("Sessions are created only for users whose status is active.")));
	}

	initStringInfo(&reasons);
	appendStringInfoChar(&reasons, '[');
	out->risk_score = session_risk(user_id, ip, has_ip, user_agent, device_type, device_name,
								   &reasons);
	appendStringInfoChar(&reasons, ']');
	out->is_suspicious = out->risk_score > aeauth_session_risk_threshold;
	PHASE_MARK(PHASE_SESSION_RISK);

	/* Keep at most max_sessions_per_user live sessions: the new one plus the N-1 most recent. */
	if (aeauth_max_sessions_per_user > 0)
	{
		Oid			types[2] = {UUIDOID, INT4OID};
		Datum		values[2] = {UUIDPGetDatum(user_id), Int32GetDatum(aeauth_max_sessions_per_user - 1)};
		int64		evicted;

		session_plan(&evict_plan,
					 "UPDATE aeauth.user_sessions"
					 "   SET status = 'revoked', revoked_at = pg_catalog.now(), revoked_by = 'system'"
					 " WHERE id IN (SELECT s.id FROM aeauth.user_sessions s"
					 "               WHERE s.user_id" EQ "$1 AND s.status" EQ "'active'"
					 "               ORDER BY s.last_activity DESC, s.created_at DESC OFFSET $2)"
					 "   AND" LIVE
					 " RETURNING id, user_id",
					 2, types);
		evicted = session_revoke_rows(evict_plan, values, NULL, "system", NULL, NULL);
		if (evicted > 0)
		{
			char		m[96];

			snprintf(m, sizeof(m), "{\"count\": " INT64_FORMAT ", \"max_sessions_per_user\": %d}",
					 evicted, aeauth_max_sessions_per_user);
			audit_session_event(user_id, NULL, "session_evicted", "session",
								"max_sessions_per_user", m, "info");
		}
	}

	PHASE_MARK(PHASE_SESSION_EVICT);

	out->refresh_expires_at = Min(now + USECS(aeauth_refresh_token_ttl_s), absolute);
	out->access_expires_at = Min(now + USECS(aeauth_access_token_ttl_s), out->refresh_expires_at);
	/* In the caller's context: the tokens must outlive SPI_finish(). */
	old = MemoryContextSwitchTo(caller_cxt);
	out->access_token = token_generate(TOKEN_PREFIX_ACCESS, access_hash);
	out->refresh_token = token_generate(TOKEN_PREFIX_REFRESH, refresh_hash);
	MemoryContextSwitchTo(old);

	{
		Oid			types[12] = {UUIDOID, BYTEAOID, BYTEAOID, TEXTOID, TEXTOID, TEXTOID, INETOID,
		BOOLOID, BOOLOID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
		Datum		values[12];
		char		nulls[12];

		memset(nulls, ' ', sizeof(nulls));
		session_plan(&insert_plan,
					 "INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash,"
					 "   device_type, device_name, user_agent, ip_address, is_trusted, is_suspicious,"
					 "   risk_score, access_expires_at, expires_at, last_activity, created_at)"
					 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
					 "         pg_catalog.now(), pg_catalog.now())"
					 " RETURNING id",
					 12, types);
		values[0] = UUIDPGetDatum(user_id);
		values[1] = token_hash_datum(access_hash);
		values[2] = token_hash_datum(refresh_hash);
		values[3] = device_type ? CStringGetTextDatum(device_type) : (Datum) 0;
		nulls[3] = device_type ? ' ' : 'n';
		values[4] = device_name ? CStringGetTextDatum(device_name) : (Datum) 0;
		nulls[4] = device_name ? ' ' : 'n';
		values[5] = user_agent ? CStringGetTextDatum(user_agent) : (Datum) 0;
		nulls[5] = user_agent ? ' ' : 'n';
		values[6] = has_ip ? ip : (Datum) 0;
		nulls[6] = has_ip ? ' ' : 'n';
		values[7] = BoolGetDatum(is_trusted);
		values[8] = BoolGetDatum(out->is_suspicious);
		values[9] = Int32GetDatum(out->risk_score);
		values[10] = TimestampTzGetDatum(out->access_expires_at);
		values[11] = TimestampTzGetDatum(out->refresh_expires_at);
		rc = SPI_execute_plan(insert_plan, values, nulls, false, 1);
		if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
							errmsg("aeauth: session insert failed: %s", SPI_result_code_string(rc))));
		out->session_id = *DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 1, &isnull));
	}
	explicit_bzero(access_hash, sizeof(access_hash));
	explicit_bzero(refresh_hash, sizeof(refresh_hash));
	PHASE_MARK(PHASE_SESSION_INSERT);

	initStringInfo(&meta);
	appendStringInfo(&meta, "{\"risk_score\": %d, \"is_suspicious\": %s, \"risk_reasons\": %s,"
					 " \"is_trusted\": %s, \"device_type\": ",
					 out->risk_score, out->is_suspicious ? "true" : "false", reasons.data,
					 is_trusted ? "true" : "false");
	if (device_type)
		escape_json(&meta, device_type);
	else
		appendStringInfoString(&meta, "null");
	appendStringInfoChar(&meta, '}');
	{
		AuditEvent	ev = {0};

		ev.user_id = user_id;
		ev.session_id = &out->session_id;
		ev.event_type = "session_created";
		ev.event_category = out->is_suspicious ? "security" : "session";
		ev.action = "create_session";
		ev.status = "success";
		ev.ip_address = ip;
		ev.has_ip = has_ip;
		ev.user_agent = user_agent;
		ev.metadata_json = meta.data;
		ev.severity = out->is_suspicious ? "warning" : "info";
		audit_log_event(&ev, NULL);
	}
	SPI_finish();
	PHASE_MARK(PHASE_SESSION_AUDIT);
}

/* ------------------------------------------------------------------------------------------ */
/* SQL functions */

static char *
text_arg_or_null(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

static const pg_uuid_t *
required_uuid(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR, (errcode(AEAUTH_ERRCODE_NULL), errmsg("%s must not be null", name)));
	return PG_GETARG_UUID_P(n);
}

void
session_emit_row(FunctionCallInfo fcinfo, const char *status, const pg_uuid_t *uid,
				 const SessionTokens *t)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[9];
	bool		nulls[9];

	InitMaterializedSRF(fcinfo, 0);
	memset(nulls, true, sizeof(nulls));
	values[0] = CStringGetTextDatum(status);
	nulls[0] = false;
	if (t)
	{
		pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));
		pg_uuid_t  *s = palloc(sizeof(pg_uuid_t));

		*u = *uid;
		*s = t->session_id;
		values[1] = UUIDPGetDatum(u);
		values[2] = UUIDPGetDatum(s);
		values[3] = CStringGetTextDatum(t->access_token);
		values[4] = CStringGetTextDatum(t->refresh_token);
		values[5] = TimestampTzGetDatum(t->access_expires_at);
		values[6] = TimestampTzGetDatum(t->refresh_expires_at);
		values[7] = Int32GetDatum(t->risk_score);
		values[8] = BoolGetDatum(t->is_suspicious);
		for (int i = 1; i < 9; i++)
			nulls[i] = false;
	}
	/* refresh_session has the first 7 columns, create_session all 9 */
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

PG_FUNCTION_INFO_V1(aeauth_create_session);

Datum
aeauth_create_session(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *uid = required_uuid(fcinfo, 0, "user_id");
	SessionTokens t;

	version_require("1.3");
	session_create(uid, PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1), !PG_ARGISNULL(1),
				   text_arg_or_null(fcinfo, 2), text_arg_or_null(fcinfo, 3),
				   text_arg_or_null(fcinfo, 4), PG_ARGISNULL(5) ? false : PG_GETARG_BOOL(5), false,
				   &t);
	session_emit_row(fcinfo, "ok", uid, &t);
	explicit_bzero(t.access_token, strlen(t.access_token));
	explicit_bzero(t.refresh_token, strlen(t.refresh_token));
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(aeauth_logout);

Datum
aeauth_logout(PG_FUNCTION_ARGS)
{
	uint8		hash[TOKEN_HASH_LEN];
	text	   *tok;
	Oid			types[1] = {BYTEAOID};
	Datum		values[1];
	pg_uuid_t	sid,
				uid;
	int64		n;

	version_require("1.3");
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(AEAUTH_ERRCODE_NULL), errmsg("access_token must not be null")));
	tok = PG_GETARG_TEXT_PP(0);
	if (!token_parse(TOKEN_PREFIX_ACCESS, VARDATA_ANY(tok), VARSIZE_ANY_EXHDR(tok), hash))
		PG_RETURN_BOOL(false);

	plan_connect();
	session_plan(&logout_plan,
				 "UPDATE aeauth.user_sessions"
				 "   SET status = 'revoked', revoked_at = pg_catalog.now(), revoked_by = 'user'"
				 " WHERE access_token_hash" EQ "$1 AND" LIVE
				 " RETURNING id, user_id",
				 1, types);
	values[0] = token_hash_datum(hash);
	n = session_revoke_rows(logout_plan, values, NULL, "user", &sid, &uid);
	if (n > 0)
		audit_session_event(&uid, &sid, "logout", "session", "logout", NULL, "info");
	SPI_finish();
	PG_RETURN_BOOL(n > 0);
}

PG_FUNCTION_INFO_V1(aeauth_revoke_session);

Datum
aeauth_revoke_session(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *sid = required_uuid(fcinfo, 0, "session_id");
	char	   *by = text_arg_or_null(fcinfo, 1);

	version_require("1.3");
	PG_RETURN_BOOL(session_revoke(sid, by));
}

PG_FUNCTION_INFO_V1(aeauth_revoke_user_sessions);

Datum
aeauth_revoke_user_sessions(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *uid = required_uuid(fcinfo, 0, "user_id");
	const pg_uuid_t *except = PG_ARGISNULL(1) ? NULL : PG_GETARG_UUID_P(1);
	char	   *by = text_arg_or_null(fcinfo, 2);

	version_require("1.3");
	PG_RETURN_INT32((int32) session_revoke_user(uid, except, by));
}

PG_FUNCTION_INFO_V1(aeauth_revoke_sessions_on_status);

/*
 * AFTER UPDATE OF status ON aeauth.users, for rows leaving 'active': the user's sessions are
 * revoked whoever changed the status (set_user_status, or an administrator's UPDATE).  This is
 * what lets validate_session refuse non-active users with its single index lookup.
 */
Datum
aeauth_revoke_sessions_on_status(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	bool		isnull;
	Datum		id;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("revoke_sessions_on_status must be an AFTER UPDATE row trigger")));
	id = heap_getattr(td->tg_newtuple, SPI_fnumber(td->tg_relation->rd_att, "id"),
					  td->tg_relation->rd_att, &isnull);
	session_revoke_user(DatumGetUUIDP(id), NULL, "admin");
	return PointerGetDatum(NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Maintenance */

static SPIPlanPtr expire_plan = NULL;
static SPIPlanPtr purge_plan = NULL;


PG_FUNCTION_INFO_V1(aeauth_expire_sessions);

/*
 * Marks sessions past their refresh expiry, absolute timeout or idle timeout 'expired' (they are
 * already refused; this keeps list queries and counts honest), and deletes rotated refresh
 * token hashes that can no longer matter: older than aeauth.refresh_token_ttl (the token would
 * have expired by then), or of sessions no longer live.
 *
 * The idle limit is measured on last_activity, which validate_session writes as a HOT update:
 * no index may cover it (PostgreSQL 15 makes any indexed column block HOT), so finding idle
 * sessions takes a scan of user_sessions, and an index on the other deadlines would not spare
 * it while costing every refresh an index entry.  1.6 makes the scan cheap instead: the limits
 * are turned into three cut-off timestamps here, once, so that each row costs three timestamp
 * comparisons (1.3-1.5 added an interval to two timestamps per row, which was most of the
 * time), and the rotated hashes are checked against their session by primary key.
 */
Datum
aeauth_expire_sessions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			types[3] = {TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	int64		expired,
				purged;
	Datum		row[2];
	bool		rnulls[2] = {false, false};

	version_require("1.3");
	InitMaterializedSRF(fcinfo, 0);
	plan_connect();
	/* $1: expires_at at or before it; $2: created_at; $3: last_activity (NULL: no idle limit). */
	session_plan(&expire_plan,
				 "UPDATE aeauth.user_sessions s SET status = 'expired'"
				 " WHERE s.status" EQ "'active'"
				 "   AND (s.expires_at OPERATOR(pg_catalog.<=) $1"
				 "     OR s.created_at OPERATOR(pg_catalog.<=) $2"
				 "     OR s.last_activity OPERATOR(pg_catalog.<=) $3)",
				 3, types);
	session_plan(&purge_plan,
				 "DELETE FROM aeauth.session_rotated_tokens r"
				 " WHERE r.rotated_at OPERATOR(pg_catalog.<=) $1"
				 "    OR NOT EXISTS (SELECT FROM aeauth.user_sessions s"
				 "                    WHERE s.id" EQ "r.session_id AND s.status" EQ "'active')",
				 1, types);
	values[0] = TimestampTzGetDatum(now);
	values[1] = TimestampTzGetDatum(now - USECS(aeauth_session_absolute_timeout_s));
	values[2] = TimestampTzGetDatum(now - USECS(aeauth_session_idle_timeout_s));
	nulls[2] = aeauth_session_idle_timeout_s > 0 ? ' ' : 'n';
	if (SPI_execute_plan(expire_plan, values, nulls, false, 0) != SPI_OK_UPDATE)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("aeauth: expiring sessions failed")));
	expired = (int64) SPI_processed;
	values[0] = TimestampTzGetDatum(now - USECS(aeauth_refresh_token_ttl_s));
	if (SPI_execute_plan(purge_plan, values, NULL, false, 0) != SPI_OK_DELETE)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("aeauth: purging rotated tokens failed")));
	purged = (int64) SPI_processed;
	SPI_finish();

	row[0] = CStringGetTextDatum("sessions: expired sessions marked");
	row[1] = Int64GetDatum(expired);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, rnulls);
	row[0] = CStringGetTextDatum("sessions: rotated refresh token hashes purged");
	row[1] = Int64GetDatum(purged);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, rnulls);
	return (Datum) 0;
}
