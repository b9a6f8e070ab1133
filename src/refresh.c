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

#include "access/genam.h"
#include "access/heapam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
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
#include "plan.h"
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

/* True when session_secret() can answer without SPI (the key is cached for this table). */
static bool
secret_cached(void)
{
	Oid			relid = get_relname_relid("session_secret", get_namespace_oid("aeauth", false));

	return OidIsValid(relid) && relid == secret_relid;
}

/*
 * The index on user_sessions.refresh_token_hash: 1.6's hash index
 * user_sessions_refresh_token_hash_idx, else the unique btree of 1.0-1.5; InvalidOid if neither.
 */
static Oid
refresh_token_index(Oid nsp)
{
	Oid			idx = get_relname_relid("user_sessions_refresh_token_hash_idx", nsp);

	return OidIsValid(idx) ? idx : get_relname_relid("user_sessions_refresh_token_hash_key", nsp);
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

/* ------------------------------------------------------------------------------------------ */
/*
 * Direct rotation: the fast path without SPI, planner or executor per call.
 *
 * What the SQL rotation statement (rotate_plan, kept as the fallback) does, done with the
 * table and index access methods as the logical replication apply worker does
 * (execReplication.c): find the session by its refresh token hash through the unique index
 * with a dirty snapshot, wait for a concurrent writer and look again, lock the row, check it is
 * live, write the new version (heap update + the index entries it needs) and insert the parent's
 * hash into session_rotated_tokens.  A concurrent refresher of the same token finds the row gone
 * from under that hash once the first one commits, exactly as the UPDATE's re-check does, and
 * takes the re-derivation path.
 *
 * Profiling showed where the SQL statement's time went besides the writes themselves: executor
 * start-up of a two-node ModifyTable plan per call, and above all the re-parsing of the table's
 * CHECK constraints (stringToNode + expression planning) that each new result relation does.
 * The new row cannot break a constraint (status, risk_score unchanged; generation + 1 checked
 * here for overflow; no NULL written), so none is evaluated.  The only triggers allowed on the
 * two tables are foreign keys' (user_id and id do not change, so none of them would act); with
 * any other trigger, row-level security, or a catalog that does not look as expected, the SQL
 * statement runs instead.
 * (The same kind of machinery as src/direct.c, kept static here; see the report to the lead.)
 */
typedef struct DirectCatalog
{
	Oid			sessions;
	Oid			refresh_idx;
	Oid			rotated;
	bool		usable;			/* false: use the SQL statement */
	AttrNumber	id,
				user_id,
				access_hash,
				refresh_hash,
				status,
				expires_at,
				access_expires_at,
				last_activity,
				created_at,
				rotated_at,
				generation,
				ip_address,
				user_agent;
	AttrNumber	r_token_hash,
				r_session_id,
				r_rotated_at;
} DirectCatalog;

static DirectCatalog dc = {InvalidOid};

static void
refresh_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == dc.sessions || relid == dc.refresh_idx || relid == dc.rotated)
		dc.sessions = InvalidOid;
}

void
RefreshInit(void)
{
	CacheRegisterRelcacheCallback(refresh_relcache_callback, (Datum) 0);
}

/* Only foreign key triggers (which do nothing when the key columns keep their values). */
static bool
only_ri_triggers(Relation rel)
{
	TriggerDesc *td = rel->trigdesc;

	if (td == NULL)
		return true;
	for (int i = 0; i < td->numtriggers; i++)
		if (RI_FKey_trigger_type(td->triggers[i].tgfoid) == RI_TRIGGER_NONE)
			return false;
	return true;
}

static void
direct_lookup_catalog(void)
{
	Oid			nsp = get_namespace_oid("aeauth", false);
	Oid			rel = get_relname_relid("user_sessions", nsp);
	Oid			idx = refresh_token_index(nsp);
	Oid			rot = get_relname_relid("session_rotated_tokens", nsp);
	DirectCatalog c = {InvalidOid};

	c.usable = OidIsValid(rel) && OidIsValid(idx) && OidIsValid(rot);
	if (c.usable)
	{
#define ATT(f, relid, name) (c.f = get_attnum(relid, name), c.usable &= (c.f != InvalidAttrNumber))
		ATT(id, rel, "id");
		ATT(user_id, rel, "user_id");
		ATT(access_hash, rel, "access_token_hash");
		ATT(refresh_hash, rel, "refresh_token_hash");
		ATT(status, rel, "status");
		ATT(expires_at, rel, "expires_at");
		ATT(access_expires_at, rel, "access_expires_at");
		ATT(last_activity, rel, "last_activity");
		ATT(created_at, rel, "created_at");
		ATT(rotated_at, rel, "rotated_at");
		ATT(generation, rel, "generation");
		ATT(ip_address, rel, "ip_address");
		ATT(user_agent, rel, "user_agent");
		ATT(r_token_hash, rot, "token_hash");
		ATT(r_session_id, rot, "session_id");
		ATT(r_rotated_at, rot, "rotated_at");
#undef ATT
	}
	if (c.usable)
	{
		Relation	r = table_open(rel, AccessShareLock);
		Relation	t = table_open(rot, AccessShareLock);
		Relation	i = index_open(idx, AccessShareLock);

		c.usable = r->rd_rel->relkind == RELKIND_RELATION && !r->rd_rel->relrowsecurity &&
			t->rd_rel->relkind == RELKIND_RELATION && !t->rd_rel->relrowsecurity &&
			only_ri_triggers(r) && only_ri_triggers(t) &&
			i->rd_index->indrelid == rel && i->rd_index->indnkeyatts == 1 &&
			i->rd_index->indkey.values[0] == c.refresh_hash &&
			TupleDescAttr(RelationGetDescr(r), c.status - 1)->atttypid == VARCHAROID &&
			TupleDescAttr(RelationGetDescr(r), c.generation - 1)->atttypid == INT4OID;
		index_close(i, AccessShareLock);
		table_close(t, AccessShareLock);
		table_close(r, AccessShareLock);
	}
	c.sessions = rel;
	c.refresh_idx = idx;
	c.rotated = rot;
	dc = c;
}

/* Is the bytea Datum d these 32 bytes? */
static bool
datum_is_hash(Datum d, const uint8 hash[TOKEN_HASH_LEN])
{
	bytea	   *b = DatumGetByteaPP(d);

	return VARSIZE_ANY_EXHDR(b) == TOKEN_HASH_LEN &&
		memcmp(VARDATA_ANY(b), hash, TOKEN_HASH_LEN) == 0;
}

/*
 * The row whose refresh_token_hash is hash, locked FOR NO KEY UPDATE in slot; false when there
 * is none (also when a concurrent transaction moved it to another hash and committed).
 */
static bool
find_and_lock(Relation rel, Relation idx, const uint8 hash[TOKEN_HASH_LEN], TupleTableSlot *slot)
{
	SnapshotData snap;
	IndexScanDesc scan;
	ScanKeyData key;
	bool		found;

	InitDirtySnapshot(snap);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_BYTEAEQ, token_hash_datum(hash));
	scan = index_beginscan(rel, idx, &snap, 1, 0);
retry:
	found = false;
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		TransactionId xwait;
		bool		isnull;
		Datum		h;

		h = slot_getattr(slot, dc.refresh_hash, &isnull);
		if (isnull || !datum_is_hash(h, hash))
			continue;			/* lossy index (hash): not this token */
		ExecMaterializeSlot(slot);
		xwait = TransactionIdIsValid(snap.xmin) ? snap.xmin : snap.xmax;
		if (TransactionIdIsValid(xwait))
		{
			XactLockTableWait(xwait, rel, &slot->tts_tid, XLTW_Update);
			goto retry;
		}
		found = true;
		break;
	}
	if (found)
	{
		TM_FailureData tmfd;
		TM_Result	res;

		PushActiveSnapshot(GetLatestSnapshot());
		res = table_tuple_lock(rel, &slot->tts_tid, GetActiveSnapshot(), slot,
							   GetCurrentCommandId(false), LockTupleNoKeyExclusive,
							   LockWaitBlock, 0, &tmfd);
		PopActiveSnapshot();
		switch (res)
		{
			case TM_Ok:
				break;
			case TM_Updated:
			case TM_Deleted:
				goto retry;		/* look again: the new version may not carry this hash */
			default:
				ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
								errmsg("aeauth: could not lock the session row (%d)", (int) res)));
		}
	}
	index_endscan(scan);
	return found;
}

/*
 * The new version's index entries.  Like ExecInsertIndexTuples, except that a unique index whose
 * key columns keep their values (the primary key on id) is not checked again: the row holds the
 * key already and is locked, so no other row can hold it, and the check would walk every
 * earlier version of the row still in the index (a session refreshed again and again in a
 * burst has many).  Such indexes get the "unchanged" hint, as in an UPDATE.  Returns false,
 * having inserted nothing, for an index this does not handle (expressions, predicate, exclusion,
 * deferrable): the caller uses ExecInsertIndexTuples.
 */
static bool
insert_new_version_entries(ResultRelInfo *rri, TupleTableSlot *slot, EState *estate,
						   Bitmapset *changed)
{
	Relation	heap = rri->ri_RelationDesc;
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];

	for (int i = 0; i < rri->ri_NumIndices; i++)
	{
		IndexInfo  *ii = rri->ri_IndexRelationInfo[i];
		Relation	ir = rri->ri_IndexRelationDescs[i];

		if (ii->ii_Expressions != NIL || ii->ii_Predicate != NIL || ii->ii_ExclusionOps != NULL ||
			(ir->rd_index->indisunique && !ir->rd_index->indimmediate) || !ir->rd_index->indisready)
			return false;
	}
	for (int i = 0; i < rri->ri_NumIndices; i++)
	{
		IndexInfo  *ii = rri->ri_IndexRelationInfo[i];
		Relation	ir = rri->ri_IndexRelationDescs[i];
		bool		unchanged = true;

		for (int k = 0; k < ii->ii_NumIndexAttrs; k++)
			if (bms_is_member(ii->ii_IndexAttrNumbers[k] - FirstLowInvalidHeapAttributeNumber, changed))
				unchanged = false;
		FormIndexDatum(ii, slot, estate, values, isnull);
		index_insert(ir, values, isnull, &slot->tts_tid, heap,
					 ir->rd_index->indisunique && !unchanged ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
					 unchanged, ii);
	}
	return true;
}

static void
open_result_rel(ResultRelInfo *rri, Relation rel, Index rti)
{
	InitResultRelInfo(rri, rel, rti, NULL, 0);
	ExecOpenIndices(rri, false);
}

/*
 * Rotates the live session whose current refresh token hashes to presented.  Returns -1 when
 * this path cannot be used (the caller runs the SQL statement), 0 when no live session has it
 * as its current token, 1 when rotated (r->id, r->user_id, t->*_expires_at set).
 */
static int
rotate_direct(const uint8 presented[TOKEN_HASH_LEN], const uint8 access_hash[TOKEN_HASH_LEN],
			  const uint8 refresh_hash[TOKEN_HASH_LEN], TimestampTz now, Datum ip, bool has_ip,
			  const char *user_agent, SessionRow *r, SessionTokens *t)
{
	Relation	rel,
				idx,
				rot;
	TupleTableSlot *old,
			   *new,
			   *rslot;
	TupleDesc	desc;
	EState	   *estate;
	ResultRelInfo *rri,
			   *rrot;
	RangeTblEntry *rte;
	bool		update_indexes;
	bool		live;
	int			natts;

	if (!OidIsValid(dc.sessions))
		direct_lookup_catalog();
	if (!dc.usable)
		return -1;

	rel = table_open(dc.sessions, RowExclusiveLock);
	idx = index_open(dc.refresh_idx, RowExclusiveLock);
	desc = RelationGetDescr(rel);
	natts = desc->natts;
	old = table_slot_create(rel, NULL);
	if (!find_and_lock(rel, idx, presented, old))
	{
		ExecDropSingleTupleTableSlot(old);
		index_close(idx, NoLock);
		table_close(rel, NoLock);
		return 0;
	}
	slot_getallattrs(old);

	/* The rotation statement's WHERE: active, before expiry, absolute and idle limits. */
	{
		Datum	   *v = old->tts_values;
		bool	   *n = old->tts_isnull;
		text	   *st = n[dc.status - 1] ? NULL : DatumGetTextPP(v[dc.status - 1]);

		live = st && VARSIZE_ANY_EXHDR(st) == 6 && memcmp(VARDATA_ANY(st), "active", 6) == 0 &&
			!n[dc.expires_at - 1] && DatumGetTimestampTz(v[dc.expires_at - 1]) > now &&
			!n[dc.created_at - 1] &&
			DatumGetTimestampTz(v[dc.created_at - 1]) + USECS(aeauth_session_absolute_timeout_s) > now &&
			(aeauth_session_idle_timeout_s == 0 ||
			 (!n[dc.last_activity - 1] &&
			  DatumGetTimestampTz(v[dc.last_activity - 1]) + USECS(aeauth_session_idle_timeout_s) > now)) &&
			!n[dc.id - 1] && !n[dc.user_id - 1] && !n[dc.generation - 1];
	}
	if (!live)
	{
		/* Locked, not live: the caller's lookup reads it again and says why. */
		ExecDropSingleTupleTableSlot(old);
		index_close(idx, NoLock);
		table_close(rel, NoLock);
		return 0;
	}

	/* The new version. */
	new = table_slot_create(rel, NULL);
	ExecClearTuple(new);
	memcpy(new->tts_values, old->tts_values, natts * sizeof(Datum));
	memcpy(new->tts_isnull, old->tts_isnull, natts * sizeof(bool));
	{
		Datum	   *v = new->tts_values;
		bool	   *n = new->tts_isnull;
		TimestampTz cap = DatumGetTimestampTz(v[dc.created_at - 1]) +
			USECS(aeauth_session_absolute_timeout_s);
		TimestampTz exp = Min(now + USECS(aeauth_refresh_token_ttl_s), cap);
		TimestampTz aexp = Min(now + USECS(aeauth_access_token_ttl_s), exp);
		int32		gen = DatumGetInt32(v[dc.generation - 1]);

		if (gen == PG_INT32_MAX)
			ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							errmsg("integer out of range")));
		v[dc.access_hash - 1] = token_hash_datum(access_hash);
		v[dc.refresh_hash - 1] = token_hash_datum(refresh_hash);
		v[dc.expires_at - 1] = TimestampTzGetDatum(exp);
		v[dc.access_expires_at - 1] = TimestampTzGetDatum(aexp);
		v[dc.rotated_at - 1] = TimestampTzGetDatum(now);
		n[dc.rotated_at - 1] = false;
		v[dc.generation - 1] = Int32GetDatum(gen + 1);
		v[dc.last_activity - 1] = TimestampTzGetDatum(now);
		n[dc.last_activity - 1] = false;
		if (has_ip)
		{
			v[dc.ip_address - 1] = ip;
			n[dc.ip_address - 1] = false;
		}
		if (user_agent)
		{
			v[dc.user_agent - 1] = CStringGetTextDatum(user_agent);
			n[dc.user_agent - 1] = false;
		}
		r->id = *DatumGetUUIDP(v[dc.id - 1]);
		r->user_id = *DatumGetUUIDP(v[dc.user_id - 1]);
		t->access_expires_at = aexp;
		t->refresh_expires_at = exp;
	}
	ExecStoreVirtualTuple(new);

	/*
	 * An executor state just for the index entries: one range table entry saying which columns
	 * change, so that the indexes on unchanged columns (id, user_id) get the "unchanged" hint
	 * that lets bottom-up deletion remove old versions instead of splitting pages.
	 */
	estate = CreateExecutorState();
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = dc.sessions;
	rte->relkind = RELKIND_RELATION;
	rte->rellockmode = RowExclusiveLock;
	{
		AttrNumber	changed[] = {dc.access_hash, dc.refresh_hash, dc.expires_at,
			dc.access_expires_at, dc.rotated_at, dc.generation, dc.last_activity,
		dc.ip_address, dc.user_agent};

		for (int i = 0; i < (int) lengthof(changed); i++)
			rte->updatedCols = bms_add_member(rte->updatedCols,
											  changed[i] - FirstLowInvalidHeapAttributeNumber);
	}
	ExecInitRangeTable(estate, list_make1(rte));
	estate->es_output_cid = GetCurrentCommandId(true);
	estate->es_snapshot = GetActiveSnapshot();
	rri = makeNode(ResultRelInfo);
	open_result_rel(rri, rel, 1);

	simple_table_tuple_update(rel, &old->tts_tid, new, estate->es_snapshot, &update_indexes);
	if (rri->ri_NumIndices > 0 && update_indexes &&
		!insert_new_version_entries(rri, new, estate, rte->updatedCols))
		list_free(ExecInsertIndexTuples(rri, new, estate, true, false, NULL, NIL));

	/* The parent's hash, to recognise it if it comes back. */
	rot = table_open(dc.rotated, RowExclusiveLock);
	rrot = makeNode(ResultRelInfo);
	open_result_rel(rrot, rot, 0);
	rslot = table_slot_create(rot, NULL);
	ExecClearTuple(rslot);
	memset(rslot->tts_isnull, true, RelationGetDescr(rot)->natts * sizeof(bool));
	rslot->tts_values[dc.r_token_hash - 1] = token_hash_datum(presented);
	rslot->tts_isnull[dc.r_token_hash - 1] = false;
	rslot->tts_values[dc.r_session_id - 1] = UUIDPGetDatum(&r->id);
	rslot->tts_isnull[dc.r_session_id - 1] = false;
	rslot->tts_values[dc.r_rotated_at - 1] = TimestampTzGetDatum(now);
	rslot->tts_isnull[dc.r_rotated_at - 1] = false;
	ExecStoreVirtualTuple(rslot);
	simple_table_tuple_insert(rot, rslot);
	if (rrot->ri_NumIndices > 0)
		list_free(ExecInsertIndexTuples(rrot, rslot, estate, false, false, NULL, NIL));

	ExecCloseIndices(rrot);
	ExecCloseIndices(rri);
	ExecDropSingleTupleTableSlot(rslot);
	ExecDropSingleTupleTableSlot(new);
	ExecDropSingleTupleTableSlot(old);
	FreeExecutorState(estate);
	table_close(rot, NoLock);
	index_close(idx, NoLock);
	table_close(rel, NoLock);
	CommandCounterIncrement();
	return 1;
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
	bool		spi;

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
	/* SPI only when needed: for the secret's first read, the fallback and the slow paths. */
	spi = !secret_cached();
	if (spi)
		plan_connect();
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
		switch (rotate_direct(presented, access_hash, refresh_hash, now, ip, has_ip, user_agent,
							  &r, &t))
		{
			case 1:
				t.session_id = r.id;
				status = "ok";
				goto done;
			case 0:
				goto not_rotated;
			default:
				break;			/* the SQL statement below */
		}
		if (!spi)
		{
			plan_connect();
			spi = true;
		}
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
not_rotated:
		explicit_bzero(t.access_token, strlen(t.access_token));
		explicit_bzero(t.refresh_token, strlen(t.refresh_token));
	}

	if (!spi)
	{
		plan_connect();
		spi = true;
	}
	{
		Oid			types[1] = {BYTEAOID};

		session_plan(&current_plan,
					 SESSION_COLUMNS " WHERE s.refresh_token_hash" EQ "$1 FOR UPDATE OF s",
					 1, types);
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
	if (spi)
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
