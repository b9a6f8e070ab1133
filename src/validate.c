/*
 * validate.c: validate_session, the hottest path of the product (every request of every player).
 *
 * One probe of the unique index user_sessions_access_token_hash_key, read directly through the
 * index AM (no SPI, no planner, no executor per call).  Non-active users need no second lookup:
 * a user who stops being active has every session revoked at once (trigger on aeauth.users).
 * The only write is last_activity, at most once a minute per session (the seed's rule), an
 * UPDATE of a non-indexed column, so HOT; skipped in read-only transactions and on standbys.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "aeauth.h"
#include "version.h"
#include "guc.h"
#include "plan.h"
#include "session_internal.h"
#include "token.h"

#define ACTIVITY_GRANULARITY_S 60

/* Catalog facts, looked up once and forgotten on any relcache invalidation of these. */
static Oid	sessions_relid = InvalidOid;
static Oid	access_idxid = InvalidOid;
static AttrNumber att_id,
			att_user_id,
			att_status,
			att_access_expires_at,
			att_last_activity,
			att_created_at;
static Oid	sessions_owner = InvalidOid;
static SPIPlanPtr touch_plan = NULL;

static void
validate_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == sessions_relid || relid == access_idxid)
		sessions_relid = access_idxid = InvalidOid;
}

void
ValidateInit(void)
{
	CacheRegisterRelcacheCallback(validate_relcache_callback, (Datum) 0);
}

static AttrNumber
attnum_of(const char *name)
{
	AttrNumber	a = get_attnum(sessions_relid, name);

	if (a == InvalidAttrNumber)
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
						errmsg("aeauth: column user_sessions.%s is missing", name),
						errhint("Run ALTER EXTENSION aeauth UPDATE.")));
	return a;
}

static void
lookup_catalog(void)
{
	Oid			nsp = get_namespace_oid("aeauth", false);
	Oid			rel = get_relname_relid("user_sessions", nsp);
	Oid			idx = get_relname_relid("user_sessions_access_token_hash_key", nsp);

	if (!OidIsValid(rel) || !OidIsValid(idx))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
						errmsg("aeauth: table user_sessions or its access token index is missing")));
	sessions_relid = rel;
	att_id = attnum_of("id");
	att_user_id = attnum_of("user_id");
	att_status = attnum_of("status");
	att_access_expires_at = attnum_of("access_expires_at");
	att_last_activity = attnum_of("last_activity");
	att_created_at = attnum_of("created_at");
	access_idxid = idx;
}

typedef struct LiveSession
{
	pg_uuid_t	id;
	pg_uuid_t	user_id;
	TimestampTz access_expires_at;
	TimestampTz last_activity;
} LiveSession;

/* The session whose access token hashes to hash, when it is live now. */
static bool
find_live_session(const uint8 hash[TOKEN_HASH_LEN], TimestampTz now, LiveSession *out)
{
	Relation	rel,
				idx;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData key;
	bool		live = false;

	if (!OidIsValid(access_idxid))
		lookup_catalog();
	rel = table_open(sessions_relid, AccessShareLock);
	idx = index_open(access_idxid, AccessShareLock);
	sessions_owner = rel->rd_rel->relowner;
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_BYTEAEQ, token_hash_datum(hash));
	scan = index_beginscan(rel, idx, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	slot = table_slot_create(rel, NULL);

	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		n1,
					n2,
					n3,
					n4,
					n5,
					n6;
		Datum		status = slot_getattr(slot, att_status, &n1);
		Datum		access_exp = slot_getattr(slot, att_access_expires_at, &n2);
		Datum		last = slot_getattr(slot, att_last_activity, &n3);
		Datum		created = slot_getattr(slot, att_created_at, &n4);
		Datum		id = slot_getattr(slot, att_id, &n5);
		Datum		uid = slot_getattr(slot, att_user_id, &n6);
		text	   *st = n1 ? NULL : DatumGetTextPP(status);

		live = st && VARSIZE_ANY_EXHDR(st) == 6 && memcmp(VARDATA_ANY(st), "active", 6) == 0 &&
			!n2 && DatumGetTimestampTz(access_exp) > now &&
			!n4 && DatumGetTimestampTz(created) + USECS(aeauth_session_absolute_timeout_s) > now &&
			!n3 && (aeauth_session_idle_timeout_s == 0 ||
					DatumGetTimestampTz(last) + USECS(aeauth_session_idle_timeout_s) > now) &&
			!n5 && !n6;
		if (live)
		{
			out->id = *DatumGetUUIDP(id);
			out->user_id = *DatumGetUUIDP(uid);
			out->access_expires_at = DatumGetTimestampTz(access_exp);
			out->last_activity = DatumGetTimestampTz(last);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	return live;
}

/*
 * last_activity = now(), when it is a minute old; the WHERE makes concurrent callers write once.
 * From 1.7 validate_session runs as its caller (no SECURITY DEFINER: the per-call user switch and
 * search_path SET cost more than the index probe's own work), so the write, the only statement
 * of this path that checks privileges, runs as the owner of user_sessions with search_path pinned,
 * as the SECURITY DEFINER function did on every call before 1.7.  An error unwinds both with the
 * (sub)transaction.
 */
static void
touch_session(const pg_uuid_t *id)
{
	Oid			types[1] = {UUIDOID};
	Datum		values[1] = {UUIDPGetDatum(id)};
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(sessions_owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	plan_connect();
	session_plan(&touch_plan,
				 "UPDATE aeauth.user_sessions SET last_activity = pg_catalog.now()"
				 " WHERE id" EQ "$1 AND last_activity OPERATOR(pg_catalog.<=)"
				 "       (pg_catalog.now() OPERATOR(pg_catalog.-) interval '1 minute')",
				 1, types);
	plan_exec(touch_plan, values, NULL, SPI_OK_UPDATE, 1);
	SPI_finish();
	AtEOXact_GUC(true, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
}

PG_FUNCTION_INFO_V1(aeauth_validate_session);

Datum
aeauth_validate_session(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	uint8		hash[TOKEN_HASH_LEN];
	LiveSession s;
	text	   *tok;

	version_require("1.3");
	/*
	 * The result's descriptor is the one the caller expects (FunctionScan and ProjectSet both set
	 * it): a copy of it instead of get_call_result_type()'s build from pg_proc on every call.
	 */
	InitMaterializedSRF(fcinfo, rsinfo != NULL && IsA(rsinfo, ReturnSetInfo) &&
						rsinfo->expectedDesc != NULL ? MAT_SRF_USE_EXPECTED_DESC : 0);
	if (PG_ARGISNULL(0))
	{
		identity_clear();
		return (Datum) 0;
	}
	tok = PG_GETARG_TEXT_PP(0);
	if (!token_parse(TOKEN_PREFIX_ACCESS, VARDATA_ANY(tok), VARSIZE_ANY_EXHDR(tok), hash) ||
		!find_live_session(hash, now, &s))
	{
		identity_clear();
		return (Datum) 0;
	}

	if (s.last_activity <= now - USECS(ACTIVITY_GRANULARITY_S) &&
		!RecoveryInProgress() && !XactReadOnly)
		touch_session(&s.id);
	identity_set(&s.user_id, &s.id);

	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));
		pg_uuid_t  *i = palloc(sizeof(pg_uuid_t));

		*u = s.user_id;
		*i = s.id;
		values[0] = UUIDPGetDatum(u);
		values[1] = UUIDPGetDatum(i);
		values[2] = TimestampTzGetDatum(s.access_expires_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
