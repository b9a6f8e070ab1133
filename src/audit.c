/*
 * audit.c: the audit log writer.
 *
 * audit_log_event() checks an event, decides its retention, scrubs secrets out of its JSON
 * fields and inserts it into the partitioned aeauth.user_audit_log: straight into the partition
 * of its expiry month (direct.c), or, when that month has no partition, with one plan prepared
 * once per backend and kept (the row then goes to the default partition).  There is no row
 * trigger: retention is decided here, so an insert costs what the INSERT itself costs.
 * aeauth.log_user_event() is the SQL face of the same function.
 *
 * Retention (the seed's set_audit_log_expiration(), decided at insert):
 *   standard 90 days, extended 1 year, permanent never (expires_at = 'infinity', where the seed
 *   stored NULL: a range partition cannot hold NULL keys anywhere but the default partition);
 *   category 'security' or severity 'error'/'critical': 2 years and policy 'extended', whatever
 *   the caller asked.
 */
#include "postgres.h"

#include <limits.h>

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "storage/sinval.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "aeauth.h"
#include "version.h"
#include "audit.h"
#include "direct.h"
#include "parse.h"
#include "plan.h"

/* Documented value sets (README "Audit log"). */
static const char *const audit_categories[] = {
	"authentication", "authorization", "account", "session", "security", "admin", "system",
	"game", NULL
};
static const char *const audit_statuses[] = {"success", "failure", "partial", "pending", NULL};
static const char *const audit_severities[] = {"debug", "info", "warning", "error", "critical", NULL};
static const char *const audit_policies[] = {"standard", "extended", "permanent", NULL};

/*
 * JSON keys that look like secrets: a key is redacted when, lower-cased and stripped of
 * everything but letters and digits ("API-Key" -> "apikey"), it contains one of these.
 */
static const char *const secret_key_parts[] = {
	"password", "passwd", "passphrase", "pwd", "secret", "token", "authorization", "apikey",
	"accesskey", "privatekey", "credential", "cookie", "sessionkey", NULL
};

#define AUDIT_REDACTED		"[redacted]"
#define AUDIT_NPARAMS		15

static SPIPlanPtr insert_plan = NULL;

/* ---------------------------------------------------------------------------------------- */
/* Argument checks                                                                           */

static void
check_required(const char *value, const char *field)
{
	if (value == NULL)
		ereport(ERROR,
				(errcode(AEAUTH_ERRCODE_NULL),
				 errmsg("audit %s must not be null", field)));
	if (value[0] == '\0')
		ereport(ERROR,
				(errcode(AEAUTH_ERRCODE_BAD_INPUT),
				 errmsg("audit %s must not be empty", field),
				 errdetail("Every audit event has a non-empty %s.", field)));
}

static void
check_length(const char *value, const char *field, int max_chars)
{
	if (value != NULL && pg_mbstrlen(value) > max_chars)
		ereport(ERROR,
				(errcode(AEAUTH_ERRCODE_BAD_INPUT),
				 errmsg("audit %s is too long", field),
				 errdetail("The %s may have at most %d characters.", field, max_chars)));
}

static void
check_in_set(const char *value, const char *field, const char *const *set)
{
	StringInfoData list;

	for (const char *const *s = set; *s; s++)
		if (strcmp(value, *s) == 0)
			return;

	initStringInfo(&list);
	for (const char *const *s = set; *s; s++)
		appendStringInfo(&list, "%s%s", s == set ? "" : ", ", *s);
	ereport(ERROR,
			(errcode(AEAUTH_ERRCODE_BAD_INPUT),
			 errmsg("invalid audit %s \"%s\"", field, value),
			 errdetail("The %s must be one of: %s.", field, list.data)));
}

/* ---------------------------------------------------------------------------------------- */
/* Ids: UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, a 12-bit counter, 62 random bits.   */
/* Time-ordered ids make every primary-key insert land on the rightmost leaf page.          */

static void
uuidv7_generate(pg_uuid_t *out)
{
	static uint64 last_ms = 0;
	static uint16 counter = 0;
	uint8		rnd[8];
	TimestampTz now = GetCurrentTimestamp();
	uint64		ms;

	ms = (uint64) (now / 1000) +
		(uint64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
	/* Monotonic within this backend, even if the clock steps back or many ids share a ms. */
	if (ms <= last_ms)
	{
		ms = last_ms;
		if (++counter > 0x0FFF)
		{
			ms++;
			counter = 0;
		}
	}
	else
		counter = 0;
	last_ms = ms;

	if (!pg_strong_random(rnd, sizeof(rnd)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("aeauth: could not generate random bytes")));

	for (int i = 0; i < 6; i++)
		out->data[i] = (uint8) (ms >> (8 * (5 - i)));
	out->data[6] = 0x70 | ((counter >> 8) & 0x0F);
	out->data[7] = counter & 0xFF;
	out->data[8] = 0x80 | (rnd[0] & 0x3F);
	memcpy(&out->data[9], &rnd[1], 7);
}

/* ---------------------------------------------------------------------------------------- */
/* Retention                                                                                 */

/* Sets *policy_out and returns expires_at for an event created at created_at. */
static TimestampTz
audit_expiry(const char *category, const char *severity, const char *policy,
			 TimestampTz created_at, const char **policy_out)
{
	Interval	keep = {0};

	if (strcmp(category, "security") == 0 ||
		strcmp(severity, "error") == 0 || strcmp(severity, "critical") == 0)
	{
		*policy_out = "extended";
		keep.month = 24;
	}
	else if (strcmp(policy, "permanent") == 0)
	{
		TimestampTz never;

		*policy_out = policy;
		TIMESTAMP_NOEND(never);
		return never;
	}
	else if (strcmp(policy, "extended") == 0)
	{
		*policy_out = policy;
		keep.month = 12;
	}
	else
	{
		*policy_out = policy;
		keep.day = 90;
	}
	/* timestamptz + interval, as the seed's trigger did (calendar months, days in TimeZone). */
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
												   TimestampTzGetDatum(created_at),
												   IntervalPGetDatum(&keep)));
}

/* ---------------------------------------------------------------------------------------- */
/* Secret scrubbing                                                                          */

/* The matcher is pure (parse.c) and fuzzed in fuzz/. */
static bool
key_is_secret(const char *key, int len)
{
	return parse_key_is_secret(key, (size_t) len, secret_key_parts);
}

static bool
jsonb_has_secret_key(Jsonb *jb)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
		if (tok == WJB_KEY && key_is_secret(v.val.string.val, v.val.string.len))
			return true;
	return false;
}

/*
 * jb with the value of every secret-looking key, at any depth, replaced by "[redacted]"
 * (a nested object or array under such a key goes as a whole).  jb itself when nothing matches.
 */
static Jsonb *
jsonb_scrub(Jsonb *jb)
{
	JsonbIterator *it;
	JsonbParseState *state = NULL;
	JsonbValue	v;
	JsonbValue	redacted;
	JsonbValue *res = NULL;
	JsonbIteratorToken tok;
	bool		redact_next = false;

	if (JB_ROOT_IS_SCALAR(jb) || !jsonb_has_secret_key(jb))
		return jb;

	redacted.type = jbvString;
	redacted.val.string.val = AUDIT_REDACTED;
	redacted.val.string.len = strlen(AUDIT_REDACTED);

	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (redact_next)
		{
			redact_next = false;
			if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
			{
				int			depth = 1;

				while (depth > 0)
				{
					tok = JsonbIteratorNext(&it, &v, false);
					if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
						depth++;
					else if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
						depth--;
				}
			}
			res = pushJsonbValue(&state, WJB_VALUE, &redacted);
			continue;
		}
		if (tok == WJB_KEY)
			redact_next = key_is_secret(v.val.string.val, v.val.string.len);
		res = pushJsonbValue(&state, tok,
							 (tok == WJB_KEY || tok == WJB_VALUE || tok == WJB_ELEM) ? &v : NULL);
	}
	return JsonbValueToJsonb(res);
}

static Datum
audit_json_datum(Jsonb *jb, const char *text, bool *isnull)
{
	if (jb == NULL && text != NULL)
		jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	*isnull = (jb == NULL);
	return jb ? JsonbPGetDatum(jsonb_scrub(jb)) : (Datum) 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The insert                                                                                */
/*                                                                                           */
/* Two ways in.  The fast one (audit_insert_direct) finds the event's partition from its     */
/* expires_at in the parent's partition descriptor and inserts into that partition through   */
/* the executor's simple-relation routines (direct.c): no SPI, no plan, no tuple routing.    */
/* Whenever it cannot (no month partition yet: the row belongs in the DEFAULT partition; a   */
/* trigger, row security or an unexpected column on the way), the kept SPI plan inserts     */
/* into the parent and PostgreSQL routes the row, as before 1.6.                            */

/* The columns an event fills, in the order of values[] below. */
static const char *const audit_columns[] = {
	"id", "user_id", "session_id", "event_type", "event_category", "action", "status",
	"ip_address", "user_agent", "metadata", "severity", "retention_policy", "created_at",
	"expires_at", "request_params", "is_sensitive"
};

#define AUDIT_NCOLS			16	/* audit_columns; the SQL insert binds the first 15 */
#define AUDIT_COL_EXPIRES	13
#define AUDIT_COL_SENSITIVE 15

/*
 * Where each of audit_columns sits in one relation (the parent or a partition: a partition
 * made by maintenance with LIKE has no dropped columns, so its numbers can differ from the
 * parent's).  usable is false when the relation has a column an event does not fill that
 * needs a value (NOT NULL or a default): only the SQL insert knows how to fill it.
 * A few entries per backend, dropped by the relcache callback when their relation changes.
 */
typedef struct AuditAttMap
{
	Oid			relid;
	bool		usable;
	AttrNumber	attnum[AUDIT_NCOLS];
} AuditAttMap;

#define AUDIT_NMAPS 8
static AuditAttMap audit_maps[AUDIT_NMAPS];
static int	audit_next_map = 0;

static void
audit_relcache_callback(Datum arg, Oid relid)
{
	for (int i = 0; i < AUDIT_NMAPS; i++)
		if (!OidIsValid(relid) || audit_maps[i].relid == relid)
			audit_maps[i].relid = InvalidOid;
}

void
AuditInit(void)
{
	CacheRegisterRelcacheCallback(audit_relcache_callback, (Datum) 0);
}

static const AuditAttMap *
audit_attmap(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	AuditAttMap *m;

	for (int i = 0; i < AUDIT_NMAPS; i++)
		if (audit_maps[i].relid == relid)
			return &audit_maps[i];

	m = &audit_maps[audit_next_map];
	audit_next_map = (audit_next_map + 1) % AUDIT_NMAPS;
	m->relid = InvalidOid;
	m->usable = true;
	memset(m->attnum, 0, sizeof(m->attnum));
	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);
		int			c;

		if (att->attisdropped)
			continue;
		for (c = 0; c < AUDIT_NCOLS; c++)
			if (strcmp(NameStr(att->attname), audit_columns[c]) == 0)
				break;
		if (c < AUDIT_NCOLS)
			m->attnum[c] = att->attnum;
		else if (att->attnotnull || att->atthasdef || att->attgenerated)
			m->usable = false;
	}
	for (int c = 0; c < AUDIT_NCOLS; c++)
		if (m->attnum[c] == 0)
			m->usable = false;
	m->relid = relid;
	return m;
}

static SPIPlanPtr
audit_insert_plan(void)
{
	if (insert_plan == NULL)
	{
		Oid			types[AUDIT_NPARAMS] = {
			UUIDOID, UUIDOID, UUIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INETOID, TEXTOID,
			JSONBOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, JSONBOID
		};
		SPIPlanPtr	plan;

		plan = SPI_prepare("INSERT INTO aeauth.user_audit_log"
						   " (id, user_id, session_id, event_type, event_category, action, status,"
						   "  ip_address, user_agent, metadata, severity, retention_policy,"
						   "  created_at, expires_at, request_params)"
						   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
						   AUDIT_NPARAMS, types);
		if (plan == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("aeauth: could not prepare the audit insert: %s",
							SPI_result_code_string(SPI_result))));
		SPI_keepplan(plan);
		insert_plan = plan;
	}
	return insert_plan;
}

/* The SQL way: the kept plan inserts into the parent; PostgreSQL routes the row. */
static void
audit_insert_spi(Datum *values, bool *isnull)
{
	char		nulls[AUDIT_NPARAMS];
	int			rc;

	for (int i = 0; i < AUDIT_NPARAMS; i++)
		nulls[i] = isnull[i] ? 'n' : ' ';
	plan_connect();
	rc = SPI_execute_plan(audit_insert_plan(), values, nulls, false, 0);
	if (rc != SPI_OK_INSERT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("aeauth: audit insert failed: %s", SPI_result_code_string(rc))));
	SPI_finish();
}

/*
 * aeauth.user_audit_log, opened and locked RowExclusiveLock (what an INSERT takes on it).
 * Looked up by name on every call (two syscache hits), as RangeVarGetRelidExtended does:
 * if invalidations arrived while the lock was being taken, look again, so that a table
 * dropped and made again (DROP/CREATE EXTENSION) is never used by a stale OID.
 */
static Relation
audit_open_parent(void)
{
	Oid			locked = InvalidOid;

	for (;;)
	{
		uint64		inval_count = SharedInvalidMessageCounter;
		Oid			nsp = get_namespace_oid("aeauth", true);
		Oid			relid = OidIsValid(nsp) ? get_relname_relid("user_audit_log", nsp) : InvalidOid;

		if (OidIsValid(locked) && locked != relid)
		{
			UnlockRelationOid(locked, RowExclusiveLock);
			locked = InvalidOid;
		}
		if (!OidIsValid(relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("aeauth: table aeauth.user_audit_log does not exist"),
					 errhint("Run ALTER EXTENSION aeauth UPDATE.")));
		if (!OidIsValid(locked))
		{
			LockRelationOid(relid, RowExclusiveLock);
			locked = relid;
		}
		if (inval_count == SharedInvalidMessageCounter)
			return table_open(relid, NoLock);
	}
}

/*
 * The leaf partition of parent whose bounds hold expires_at, or InvalidOid when there is none
 * (the row belongs in the DEFAULT partition) or the table is not partitioned the expected way.
 * This is tuple routing's own lookup (get_partition_for_tuple in execPartition.c) on the
 * parent's partition descriptor from the relcache.  It is safe for the reason routing is:
 * the caller holds RowExclusiveLock on the parent, and dropping or detaching a partition needs
 * ACCESS EXCLUSIVE on the parent (DETACH ... CONCURRENTLY: a descriptor that omits partitions
 * being detached, as the executor asks for), so no partition found here can go before this
 * transaction ends; ATTACH and DETACH invalidate the parent's relcache entry, so taking the lock
 * (which processes invalidations) gave a descriptor that lists the partitions as they are now.
 */
static Oid
audit_find_partition(Relation parent, const AuditAttMap *pmap, TimestampTz expires_at)
{
	PartitionKey key = RelationGetPartitionKey(parent);
	PartitionDesc pd;
	Datum		value = TimestampTzGetDatum(expires_at);
	bool		equal;
	int			offset;
	int			index;

	if (key == NULL || key->strategy != PARTITION_STRATEGY_RANGE || key->partnatts != 1 ||
		key->partattrs[0] != pmap->attnum[AUDIT_COL_EXPIRES] ||
		key->parttypid[0] != TIMESTAMPTZOID || !ActiveSnapshotSet())
		return InvalidOid;
	pd = RelationGetPartitionDesc(parent, true);
	if (pd->nparts == 0 || pd->boundinfo == NULL || pd->boundinfo->ndatums == 0)
		return InvalidOid;
	offset = partition_range_datum_bsearch(key->partsupfunc, key->partcollation, pd->boundinfo,
										   1, &value, &equal);
	/* The bound at offset is <= the value: offset + 1 is the upper bound of its partition. */
	index = pd->boundinfo->indexes[offset + 1];
	if (index < 0 || !pd->is_leaf[index])
		return InvalidOid;
	return pd->oids[index];
}

/*
 * The fast way: straight into the partition.  Returns false, having written nothing, when the
 * SQL way must be taken.  Runs as the table's owner (see audit_log_event).
 */
static bool
audit_insert_direct(Relation parent, Datum *values, bool *isnull)
{
	const AuditAttMap *pmap = audit_attmap(parent);
	const AuditAttMap *map;
	Oid			partid;
	Relation	part;
	TupleDesc	desc;
	Datum	   *row;
	bool	   *rownull;
	DirectInsert *d;

	/* The INSERT privilege the SQL way would check, on the table named in the statement. */
	if (!pmap->usable || !direct_usable(parent) ||
		pg_class_aclcheck(RelationGetRelid(parent), GetUserId(), ACL_INSERT) != ACLCHECK_OK)
		return false;
	partid = audit_find_partition(parent, pmap, DatumGetTimestampTz(values[AUDIT_COL_EXPIRES]));
	if (!OidIsValid(partid))
		return false;

	/* Parent first, then the partition: the order of routing and of DROP of a partition. */
	part = table_open(partid, RowExclusiveLock);
	map = audit_attmap(part);
	if (!map->usable || !direct_usable(part) || part->rd_rel->relkind != RELKIND_RELATION)
	{
		table_close(part, NoLock);	/* the lock stays, as the SQL way would take it */
		return false;
	}

	desc = RelationGetDescr(part);
	row = palloc(desc->natts * sizeof(Datum));
	rownull = palloc(desc->natts * sizeof(bool));
	for (int a = 0; a < desc->natts; a++)
	{
		row[a] = (Datum) 0;
		rownull[a] = true;
	}
	for (int c = 0; c < AUDIT_NCOLS; c++)
	{
		row[map->attnum[c] - 1] = values[c];
		rownull[map->attnum[c] - 1] = isnull[c];
	}

	d = direct_begin(part, true);
	direct_insert(d, row, rownull);
	direct_end(d);
	table_close(part, NoLock);
	return true;
}

/*
 * The backend's role has no privilege on the audit table, and log_user_event is not SECURITY
 * DEFINER: a SECURITY DEFINER function needs SET search_path (house rules), and that GUC
 * save/restore cost about a fifth of a call.  Instead the one fixed insert below runs as the
 * table's owner, the way PostgreSQL's own foreign-key triggers run their queries as the
 * referenced table's owner: SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION, put
 * back afterwards (and by transaction abort on error).  The statement names only
 * aeauth.user_audit_log and bound parameters, so the caller's search_path cannot redirect it;
 * the direct way names no object at all.
 */
void
audit_log_event(const AuditEvent *ev, pg_uuid_t *id_out)
{
	MemoryContext cxt;
	MemoryContext oldcxt;
	Oid			save_userid;
	int			save_sec_context;
	Datum		values[AUDIT_NCOLS];
	bool		isnull[AUDIT_NCOLS] = {0};
	const char *severity = ev->severity ? ev->severity : "info";
	const char *policy = ev->retention_policy ? ev->retention_policy : "standard";
	const char *stored_policy;
	TimestampTz created_at;
	TimestampTz expires_at;
	pg_uuid_t	id;
	Relation	parent;

	/* Every check comes before the insert: a refused event writes nothing. */
	check_required(ev->event_type, "event_type");
	check_required(ev->event_category, "event_category");
	check_required(ev->action, "action");
	check_required(ev->status, "status");
	check_length(ev->event_type, "event_type", 50);
	check_length(ev->action, "action", 100);
	check_in_set(ev->event_category, "event_category", audit_categories);
	check_in_set(ev->status, "status", audit_statuses);
	check_in_set(severity, "severity", audit_severities);
	check_in_set(policy, "retention_policy", audit_policies);

	/* Everything below is allocated here and freed at the end. */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "aeauth audit event",
								ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	created_at = GetCurrentTransactionStartTimestamp();	/* now(), as the seed's default */
	expires_at = audit_expiry(ev->event_category, severity, policy, created_at, &stored_policy);

	uuidv7_generate(&id);

	values[0] = UUIDPGetDatum(&id);
	values[1] = ev->user_id ? UUIDPGetDatum(ev->user_id) : (Datum) 0;
	isnull[1] = (ev->user_id == NULL);
	values[2] = ev->session_id ? UUIDPGetDatum(ev->session_id) : (Datum) 0;
	isnull[2] = (ev->session_id == NULL);
	values[3] = CStringGetTextDatum(ev->event_type);
	values[4] = CStringGetTextDatum(ev->event_category);
	values[5] = CStringGetTextDatum(ev->action);
	values[6] = CStringGetTextDatum(ev->status);
	values[7] = ev->has_ip ? ev->ip_address : (Datum) 0;
	isnull[7] = !ev->has_ip;
	if (ev->user_agent)
	{
		/* Longer ones are cut at a character boundary (audit.h, AUDIT_USER_AGENT_MAX). */
		int			len = strlen(ev->user_agent);

		len = pg_mbcharcliplen(ev->user_agent, len, AUDIT_USER_AGENT_MAX);
		values[8] = PointerGetDatum(cstring_to_text_with_len(ev->user_agent, len));
	}
	isnull[8] = (ev->user_agent == NULL);
	values[9] = audit_json_datum(ev->metadata_jsonb, ev->metadata_json, &isnull[9]);
	values[10] = CStringGetTextDatum(severity);
	values[11] = CStringGetTextDatum(stored_policy);
	values[12] = TimestampTzGetDatum(created_at);
	values[13] = TimestampTzGetDatum(expires_at);
	values[14] = audit_json_datum(ev->request_params_jsonb, ev->request_params_json, &isnull[14]);
	values[AUDIT_COL_SENSITIVE] = BoolGetDatum(false);	/* the column's default */

	parent = audit_open_parent();
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(parent->rd_rel->relowner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (!audit_insert_direct(parent, values, isnull))
		audit_insert_spi(values, isnull);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	table_close(parent, NoLock);

	if (id_out)
		memcpy(id_out, &id, sizeof(pg_uuid_t));
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
}

/* ---------------------------------------------------------------------------------------- */
/* SQL: aeauth.log_user_event(p_user_id uuid, p_session_id uuid, p_event_type varchar,        */
/*   p_event_category varchar, p_action varchar, p_status varchar, p_ip_address inet,        */
/*   p_user_agent text, p_metadata jsonb, p_severity varchar, p_retention_policy varchar,    */
/*   p_request_params jsonb) RETURNS uuid                                                    */

static inline const char *
arg_cstring(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

PG_FUNCTION_INFO_V1(aeauth_log_user_event);

Datum
aeauth_log_user_event(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));
	AuditEvent	ev = {
		.user_id = PG_ARGISNULL(0) ? NULL : PG_GETARG_UUID_P(0),
		.session_id = PG_ARGISNULL(1) ? NULL : PG_GETARG_UUID_P(1),
		.event_type = arg_cstring(fcinfo, 2),
		.event_category = arg_cstring(fcinfo, 3),
		.action = arg_cstring(fcinfo, 4),
		.status = arg_cstring(fcinfo, 5),
		.has_ip = !PG_ARGISNULL(6),
		.ip_address = PG_ARGISNULL(6) ? (Datum) 0 : PG_GETARG_DATUM(6),
		.user_agent = arg_cstring(fcinfo, 7),	/* checked below */
		.metadata_jsonb = PG_ARGISNULL(8) ? NULL : PG_GETARG_JSONB_P(8),
		.severity = arg_cstring(fcinfo, 9),
		.retention_policy = (PG_NARGS() > 10) ? arg_cstring(fcinfo, 10) : NULL,
		.request_params_jsonb = (PG_NARGS() > 11 && !PG_ARGISNULL(11)) ?
		PG_GETARG_JSONB_P(11) : NULL,
	};

	version_require("1.1");
	/* A direct caller hears about an over-long user agent; internal callers' ones are cut. */
	check_length(ev.user_agent, "user_agent", AUDIT_USER_AGENT_MAX);
	audit_log_event(&ev, id);
	PG_RETURN_UUID_P(id);
}
