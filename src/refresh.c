/*
 * refresh.c: refresh_session, rotation of both tokens with reuse detection.
 *
 * Rotation: the child tokens are derived from the presented refresh token P with a keyed hash,
 *     access  = "aea_" + b64url(HMAC-SHA-256(K, "aeauth access\0"  || P))
 *     refresh = "aer_" + b64url(HMAC-SHA-256(K, "aeauth refresh\0" || P))
 * where K is the database's secret (aeauth.session_secret).  P's hash moves to
 * aeauth.session_rotated_tokens, the session row gets the children's hashes.  No plaintext is
 * stored, yet a caller presenting P again can be given the very same pair: re-derive it, and
 * check that its refresh hash is still the session's current one.  Without K, nobody who sees
 * an old P (a log, a proxy) can compute its children offline.
 *
 * Presenting P again:
 *   within aeauth.refresh_reuse_interval of its rotation, while its children are still current:
 *     'ok' and the same pair (two tabs, a retried request);
 *   otherwise: reuse.  The whole session (every token descended from the login) is revoked,
 *     NOTIFY sent, a critical security audit event written, 'reused' returned.
 * Concurrent refreshes of one session are serialized by the row lock (SELECT ... FOR UPDATE):
 * the waiters find the row rotated when the first commits, and take the re-derivation path.
 * That relies on READ COMMITTED (each statement sees the latest commits), the default.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hmac.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "aeauth.h"
#include "version.h"
#include "audit.h"
#include "guc.h"
#include "session.h"
#include "session_internal.h"
#include "token.h"

#define SECRET_LEN 32

static SPIPlanPtr secret_plan = NULL;
static SPIPlanPtr current_plan = NULL;
static SPIPlanPtr rotated_plan = NULL;
static SPIPlanPtr by_id_plan = NULL;
static SPIPlanPtr rotate_plan = NULL;
static SPIPlanPtr reuse_revoke_plan = NULL;

/* The secret, cached per backend; keyed by the table's OID so a re-created extension reloads. */
static uint8 secret[SECRET_LEN];
static Oid	secret_relid = InvalidOid;


static const uint8 *
session_secret(void)
{
	Oid			relid = get_relname_relid("session_secret", get_namespace_oid("aeauth", false));
	bytea	   *k;
	bool		isnull;
	int			rc;

	if (OidIsValid(relid) && relid == secret_relid)
		return secret;
	/* After a restore the table holds the dumped key and the one CREATE EXTENSION made: the
	 * oldest wins, so tokens issued before the dump re-derive the same children. */
	session_plan(&secret_plan,
				 "SELECT k.key FROM aeauth.session_secret k ORDER BY k.created_at, k.key LIMIT 1",
				 0, NULL);
	rc = SPI_execute_plan(secret_plan, NULL, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("aeauth: the session secret is missing"),
						errhint("aeauth.session_secret must hold one row; reinstall the extension.")));
	k = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull || VARSIZE_ANY_EXHDR(k) != SECRET_LEN)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("aeauth: the session secret has the wrong length")));
	memcpy(secret, VARDATA_ANY(k), SECRET_LEN);
	secret_relid = relid;
	return secret;
}

/*
 * The caller's memory context: tokens must outlive SPI_finish(), which frees everything
 * allocated while connected.
 */
static MemoryContext result_cxt = NULL;

/* token = prefix + b64url(HMAC(K, label || parent)), in result_cxt; its hash in hash_out. */
static char *
derive_token(const uint8 *key, const char *label, const char *prefix, const char *parent,
			 size_t parent_len, uint8 hash_out[TOKEN_HASH_LEN])
{
	uint8		mac[TOKEN_RANDOM_BYTES];
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
	MemoryContext old;
	char	   *tok;

	if (ctx == NULL ||
		pg_hmac_init(ctx, key, SECRET_LEN) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) label, strlen(label) + 1) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) parent, parent_len) < 0 ||
		pg_hmac_final(ctx, mac, sizeof(mac)) < 0)
	{
		const char *why = ctx ? pg_hmac_error(ctx) : "out of memory";

		pg_hmac_free(ctx);
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("aeauth: could not compute HMAC-SHA-256: %s", why)));
	}
	pg_hmac_free(ctx);
	old = MemoryContextSwitchTo(result_cxt);
	tok = token_from_bytes(prefix, mac, hash_out);
	MemoryContextSwitchTo(old);
	explicit_bzero(mac, sizeof(mac));
	return tok;
}

static bool
hash_equal(const uint8 *a, const uint8 *b)
{
	uint8		diff = 0;

	for (int i = 0; i < TOKEN_HASH_LEN; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

typedef struct SessionRow
{
	pg_uuid_t	id;
	pg_uuid_t	user_id;
	char		status[16];
	TimestampTz expires_at;
	TimestampTz access_expires_at;
	TimestampTz last_activity;
	TimestampTz created_at;
	int32		generation;
	uint8		refresh_hash[TOKEN_HASH_LEN];
} SessionRow;

#define SESSION_COLUMNS \
	"SELECT s.id, s.user_id, s.status::text, s.expires_at, s.access_expires_at, s.last_activity," \
	"       s.created_at, s.generation, s.refresh_token_hash FROM aeauth.user_sessions s"

static void
read_session_row(SessionRow *r)
{
	HeapTuple	tup = SPI_tuptable->vals[0];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	bool		isnull;
	bytea	   *h;

	r->id = *DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull));
	r->user_id = *DatumGetUUIDP(SPI_getbinval(tup, desc, 2, &isnull));
	strlcpy(r->status, SPI_getvalue(tup, desc, 3), sizeof(r->status));
	r->expires_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull));
	r->access_expires_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));
	r->last_activity = DatumGetTimestampTz(SPI_getbinval(tup, desc, 6, &isnull));
	r->created_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 7, &isnull));
	r->generation = DatumGetInt32(SPI_getbinval(tup, desc, 8, &isnull));
	h = DatumGetByteaPP(SPI_getbinval(tup, desc, 9, &isnull));
	memset(r->refresh_hash, 0, TOKEN_HASH_LEN);
	if (VARSIZE_ANY_EXHDR(h) == TOKEN_HASH_LEN)
		memcpy(r->refresh_hash, VARDATA_ANY(h), TOKEN_HASH_LEN);
}

/* NULL when the session may be refreshed now, else the status to return. */
static const char *
refusal(const SessionRow *r, TimestampTz now)
{
	if (strcmp(r->status, "active") != 0)
		return strcmp(r->status, "expired") == 0 ? "expired" : "invalid";
	if (r->expires_at <= now ||
		r->created_at + USECS(aeauth_session_absolute_timeout_s) <= now ||
		(aeauth_session_idle_timeout_s > 0 &&
		 r->last_activity + USECS(aeauth_session_idle_timeout_s) <= now))
		return "expired";
	return NULL;
}

static bool
fetch_one(SPIPlanPtr plan, Datum *values, const char *what)
{
	int			rc = SPI_execute_plan(plan, values, NULL, false, 1);

	if (rc != SPI_OK_SELECT)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("aeauth: %s failed: %s", what, SPI_result_code_string(rc))));
	return SPI_processed == 1;
}

static void
reuse_detected(const SessionRow *r, TimestampTz rotated_at, TimestampTz now,
			   Datum ip, bool has_ip, const char *user_agent)
{
	Oid			types[1] = {UUIDOID};
	Datum		values[1] = {UUIDPGetDatum(&r->id)};
	char		meta[256];
	AuditEvent	ev = {0};

	session_plan(&reuse_revoke_plan,
				 "UPDATE aeauth.user_sessions"
				 "   SET status = 'revoked', revoked_at = pg_catalog.now(), revoked_by = 'security'"
				 " WHERE id" EQ "$1 AND status" EQ "'active'"
				 " RETURNING id, user_id",
				 1, types);
	session_revoke_rows(reuse_revoke_plan, values, NULL, "security", NULL, NULL);

	snprintf(meta, sizeof(meta),
			 "{\"reason\": \"refresh_token_reuse\", \"generation\": %d,"
			 " \"seconds_since_rotation\": %.3f, \"refresh_reuse_interval_ms\": %d,"
			 " \"revoked_by\": \"security\"}",
			 r->generation, (double) (now - rotated_at) / USECS_PER_SEC,
			 aeauth_refresh_reuse_interval_ms);
	ev.user_id = &r->user_id;
	ev.session_id = &r->id;
	ev.event_type = "refresh_token_reuse";
	ev.event_category = "security";
	ev.action = "revoke_session";
	ev.status = "failure";
	ev.ip_address = ip;
	ev.has_ip = has_ip;
	ev.user_agent = user_agent;
	ev.metadata_json = meta;
	ev.severity = "critical";
	audit_log_event(&ev, NULL);
}

PG_FUNCTION_INFO_V1(aeauth_refresh_session);

Datum
aeauth_refresh_session(PG_FUNCTION_ARGS)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	uint8		presented[TOKEN_HASH_LEN];
	uint8		access_hash[TOKEN_HASH_LEN];
	uint8		refresh_hash[TOKEN_HASH_LEN];
	Datum		ip = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	bool		has_ip = !PG_ARGISNULL(1);
	char	   *user_agent = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	const char *status;
	SessionTokens t;
	SessionRow	r;
	text	   *tok;
	const char *p;
	size_t		plen;
	Datum		values[7];

	version_require("1.3");
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(AEAUTH_ERRCODE_NULL), errmsg("token must not be null")));
	tok = PG_GETARG_TEXT_PP(0);
	p = VARDATA_ANY(tok);
	plen = VARSIZE_ANY_EXHDR(tok);
	if (!token_parse(TOKEN_PREFIX_REFRESH, p, plen, presented))
	{
		session_emit_row(fcinfo, "invalid", NULL, NULL);
		return (Datum) 0;
	}

	result_cxt = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("aeauth: SPI_connect failed")));

	{
		Oid			types[1] = {BYTEAOID};

		session_plan(&current_plan,
					 SESSION_COLUMNS " WHERE s.refresh_token_hash" EQ "$1 FOR UPDATE OF s",
					 1, types);
	}
	values[0] = token_hash_datum(presented);

	/*
	 * Fast path, one statement: rotate the session whose current refresh token this is, if it
	 * is live; the row lock it takes is what concurrent presenters of the same token wait on.
	 */
	{
		const uint8 *key = session_secret();
		Oid			types[9] = {BYTEAOID, BYTEAOID, BYTEAOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		INTERVALOID, INTERVALOID, INETOID, TEXTOID};
		Datum		v[9];
		char		n[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
		Interval   *absolute = palloc0(sizeof(Interval));
		Interval   *idle = palloc0(sizeof(Interval));
		int			rc;
		bool		isnull;

		absolute->time = USECS(aeauth_session_absolute_timeout_s);
		idle->time = USECS(aeauth_session_idle_timeout_s);
		t.access_token = derive_token(key, "aeauth access", TOKEN_PREFIX_ACCESS, p, plen,
									  access_hash);
		t.refresh_token = derive_token(key, "aeauth refresh", TOKEN_PREFIX_REFRESH, p, plen,
									   refresh_hash);
		t.risk_score = 0;
		t.is_suspicious = false;
		session_plan(&rotate_plan,
					 "WITH u AS ("
					 "  UPDATE aeauth.user_sessions s"
					 "     SET access_token_hash = $2, refresh_token_hash = $3,"
					 "         expires_at = LEAST($4, s.created_at OPERATOR(pg_catalog.+) $6),"
					 "         access_expires_at = LEAST($5, $4, s.created_at OPERATOR(pg_catalog.+) $6),"
					 "         rotated_at = pg_catalog.now(), generation = s.generation OPERATOR(pg_catalog.+) 1,"
					 "         last_activity = pg_catalog.now(),"
					 "         ip_address = coalesce($8, s.ip_address), user_agent = coalesce($9, s.user_agent)"
					 "   WHERE s.refresh_token_hash" EQ "$1 AND s.status" EQ "'active'"
					 "     AND s.expires_at OPERATOR(pg_catalog.>) pg_catalog.now()"
					 "     AND (s.created_at OPERATOR(pg_catalog.+) $6) OPERATOR(pg_catalog.>) pg_catalog.now()"
					 "     AND ($7 IS NULL OR (s.last_activity OPERATOR(pg_catalog.+) $7)"
					 "                        OPERATOR(pg_catalog.>) pg_catalog.now())"
					 "  RETURNING s.id, s.user_id, s.access_expires_at, s.expires_at),"
					 " r AS (INSERT INTO aeauth.session_rotated_tokens (token_hash, session_id, rotated_at)"
					 "       SELECT $1, u.id, pg_catalog.now() FROM u)"
					 " SELECT u.id, u.user_id, u.access_expires_at, u.expires_at FROM u",
					 9, types);
		v[0] = values[0];
		v[1] = token_hash_datum(access_hash);
		v[2] = token_hash_datum(refresh_hash);
		v[3] = TimestampTzGetDatum(now + USECS(aeauth_refresh_token_ttl_s));
		v[4] = TimestampTzGetDatum(now + USECS(aeauth_access_token_ttl_s));
		v[5] = IntervalPGetDatum(absolute);
		v[6] = IntervalPGetDatum(idle);
		n[6] = aeauth_session_idle_timeout_s > 0 ? ' ' : 'n';
		v[7] = ip;
		n[7] = has_ip ? ' ' : 'n';
		v[8] = user_agent ? CStringGetTextDatum(user_agent) : (Datum) 0;
		n[8] = user_agent ? ' ' : 'n';
		rc = SPI_execute_plan(rotate_plan, v, n, false, 0);
		if (rc != SPI_OK_SELECT)
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
							errmsg("aeauth: rotation failed: %s", SPI_result_code_string(rc))));
		if (SPI_processed == 1)
		{
			HeapTuple	tup = SPI_tuptable->vals[0];
			TupleDesc	desc = SPI_tuptable->tupdesc;

			r.id = *DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull));
			r.user_id = *DatumGetUUIDP(SPI_getbinval(tup, desc, 2, &isnull));
			t.session_id = r.id;
			t.access_expires_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
			t.refresh_expires_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull));
			status = "ok";
			goto done;
		}
		explicit_bzero(t.access_token, strlen(t.access_token));
		explicit_bzero(t.refresh_token, strlen(t.refresh_token));
	}

	if (fetch_one(current_plan, values, "refresh lookup"))
	{
		/* Its current refresh token, but not live (the rotation above did not match). */
		read_session_row(&r);
		status = refusal(&r, now);
		if (status == NULL)
			status = "invalid";
	}
	else
	{
		Oid			types[1] = {BYTEAOID};
		Oid			itypes[1] = {UUIDOID};
		bool		isnull;
		pg_uuid_t	sid;
		TimestampTz rotated_at;

		session_plan(&rotated_plan,
					 "SELECT r.session_id, r.rotated_at FROM aeauth.session_rotated_tokens r"
					 " WHERE r.token_hash" EQ "$1",
					 1, types);
		session_plan(&by_id_plan, SESSION_COLUMNS " WHERE s.id" EQ "$1 FOR UPDATE OF s",
					 1, itypes);
		if (!fetch_one(rotated_plan, values, "rotated token lookup"))
			status = "invalid";
		else
		{
			sid = *DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			rotated_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
														   SPI_tuptable->tupdesc, 2, &isnull));
			values[0] = UUIDPGetDatum(&sid);
			if (!fetch_one(by_id_plan, values, "session lookup"))
				status = "invalid";
			else
			{
				read_session_row(&r);
				status = refusal(&r, now);
				if (status == NULL)
				{
					const uint8 *key = session_secret();

					/* Its children, if they are still the session's current pair. */
					t.refresh_token = derive_token(key, "aeauth refresh", TOKEN_PREFIX_REFRESH,
												   p, plen, refresh_hash);
					if (hash_equal(refresh_hash, r.refresh_hash) &&
						now - rotated_at <= (int64) aeauth_refresh_reuse_interval_ms * 1000)
					{
						t.session_id = r.id;
						t.access_token = derive_token(key, "aeauth access", TOKEN_PREFIX_ACCESS,
													  p, plen, access_hash);
						t.access_expires_at = r.access_expires_at;
						t.refresh_expires_at = r.expires_at;
						t.risk_score = 0;
						t.is_suspicious = false;
						status = "ok";
					}
					else
					{
						explicit_bzero(t.refresh_token, strlen(t.refresh_token));
						reuse_detected(&r, rotated_at, now, ip, has_ip, user_agent);
						status = "reused";
					}
				}
			}
		}
	}
done:
	SPI_finish();

	if (strcmp(status, "ok") == 0)
	{
		session_emit_row(fcinfo, status, &r.user_id, &t);
		explicit_bzero(t.access_token, strlen(t.access_token));
		explicit_bzero(t.refresh_token, strlen(t.refresh_token));
	}
	else
		session_emit_row(fcinfo, status, NULL, NULL);
	explicit_bzero(access_hash, sizeof(access_hash));
	explicit_bzero(refresh_hash, sizeof(refresh_hash));
	return (Datum) 0;
}
