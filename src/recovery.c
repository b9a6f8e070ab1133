/*
 * recovery.c: email verification and password reset tokens (../shared/API.md, "Accounts").
 *
 * Tokens are 256 bits from token_generate() (aev_ for verification, aep_ for reset), returned
 * once; only their SHA-256 is stored, one per user and kind, so a newer token voids the older.
 * Redemption is a single UPDATE that matches the hash and clears it: of two concurrent
 * redemptions the second waits for the first's row lock, re-checks the row and finds no token.
 * request_password_reset does the same work for an unknown email as for a known one.  Since 1.7
 * reset tokens live in aeauth.password_reset_tokens (hash, user id, created, expires): a known
 * email and an unknown (or inactive) one both insert one row of the same shape into it, the
 * unknown one with a fresh random user id that is nobody's, so both do the same heap, index and
 * WAL work at any number of users; reset_password accepts only a live row of an active user
 * that is the user's newest, and redeeming it deletes all of the user's rows.  Schemas 1.2-1.6
 * keep the token in the user's row and update a decoy row for an unknown email.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "aeauth.h"
#include "version.h"
#include "account.h"
#include "audit.h"
#include "guc.h"
#include "password.h"
#include "plan.h"
#include "recovery.h"
#include "session.h"
#include "token.h"

PG_FUNCTION_INFO_V1(aeauth_request_email_verification);
PG_FUNCTION_INFO_V1(aeauth_verify_email);
PG_FUNCTION_INFO_V1(aeauth_request_password_reset);
PG_FUNCTION_INFO_V1(aeauth_reset_password);

static SPIPlanPtr verify_request_plan = NULL;
static SPIPlanPtr verify_redeem_plan = NULL;
static SPIPlanPtr verify_expired_plan = NULL;
static SPIPlanPtr reset_request_plan = NULL;	/* schema 1.2-1.5 */
static SPIPlanPtr reset_request_plan_16 = NULL;
static SPIPlanPtr reset_request_plan_17 = NULL;
static SPIPlanPtr reset_lookup_plan = NULL;	/* schema 1.2-1.6 */
static SPIPlanPtr reset_lookup_plan_17 = NULL;
static SPIPlanPtr reset_redeem_plan = NULL;	/* schema 1.2-1.6 */
static SPIPlanPtr reset_redeem_plan_17 = NULL;
static SPIPlanPtr user_exists_plan = NULL;

void
RecoveryInit(void)
{
}

static void
audit_event(const pg_uuid_t *user_id, const char *type, const char *action, const char *status,
			const char *metadata)
{
	audit_log_event(&(AuditEvent) {
		.user_id = user_id,
			.event_type = type,
			.event_category = "security",
			.action = action,
			.status = status,
			.metadata_json = metadata,
			.severity = strcmp(status, "success") == 0 ? "info" : "warning"
	}, NULL);
}

/*
 * Rows of aeauth.password_reset_decoy since 1.6 (sql/aeauth--1.5--1.6.sql); row `slot` has the
 * id 00000000-0000-4000-8000-<slot as 12 hex digits>.
 */
#define RESET_DECOY_ROWS 4096

/*
 * request_password_reset's one statement: the user's row by email, or else the decoy row whose
 * `key` column is $4.
 */
#define RESET_REQUEST_SQL(key) \
	"WITH u AS (" \
	"  UPDATE aeauth.users SET password_reset_token_hash = $2," \
	"         password_reset_expires_at = pg_catalog.now() OPERATOR(pg_catalog.+) $3" \
	"   WHERE id OPERATOR(pg_catalog.=) (SELECT c.id FROM aeauth.users c" \
	"          WHERE pg_catalog.lower(c.email) OPERATOR(pg_catalog.=)" \
	"                ANY (ARRAY[pg_catalog.lower($1), pg_catalog.lower($5)])" \
	"          ORDER BY pg_catalog.lower(c.email) OPERATOR(pg_catalog.=) pg_catalog.lower($5) DESC" \
	"          LIMIT 1)" \
	"     AND status OPERATOR(pg_catalog.=) 'active'" \
	"  RETURNING id)," \
	" d AS (" \
	"  UPDATE aeauth.password_reset_decoy SET password_reset_token_hash = $2," \
	"         password_reset_expires_at = pg_catalog.now() OPERATOR(pg_catalog.+) $3" \
	"   WHERE " key " OPERATOR(pg_catalog.=) $4 AND NOT EXISTS (SELECT FROM u)" \
	"  RETURNING " key ")" \
	"SELECT id FROM u"

/*
 * 1.7: one row into aeauth.password_reset_tokens either way: the user's id for an active
 * user's email ($1 NFKC-folded, $5 as typed and preferred, as login finds it), else $4, a
 * random uuid that is no user's.  Returns whether the row belongs to a user.  A known email
 * reads its user's row, a random page of the users table; an email that matches no row reads
 * one too instead (d: the first line pointer of the random page $6, whatever it holds), so that
 * both paths touch as many pages of the large table, cached or not.
 */
#define RESET_REQUEST_SQL_17 \
	"WITH u AS (" \
	"  SELECT c.id, c.status FROM aeauth.users c" \
	"   WHERE pg_catalog.lower(c.email) OPERATOR(pg_catalog.=)" \
	"         ANY (ARRAY[pg_catalog.lower($1), pg_catalog.lower($5)])" \
	"   ORDER BY pg_catalog.lower(c.email) OPERATOR(pg_catalog.=) pg_catalog.lower($5) DESC" \
	"   LIMIT 1)," \
	" d AS (" \
	"  SELECT c.status FROM aeauth.users c" \
	"   WHERE c.ctid OPERATOR(pg_catalog.=) $6 AND NOT EXISTS (SELECT FROM u))" \
	"INSERT INTO aeauth.password_reset_tokens (token_hash, user_id, expires_at)" \
	"SELECT $2, COALESCE((SELECT u.id FROM u WHERE u.status OPERATOR(pg_catalog.=) 'active'), $4)," \
	"       pg_catalog.now() OPERATOR(pg_catalog.+) $3" \
	"  FROM (SELECT pg_catalog.count(*) AS n FROM d) AS read_d" \
	" WHERE read_d.n OPERATOR(pg_catalog.>=) 0 " \
	"RETURNING user_id, user_id OPERATOR(pg_catalog.<>) $4"

/* The tid of line pointer 1 of a random page of aeauth.users (for RESET_REQUEST_SQL_17's d). */
static ItemPointer
random_users_page(ItemPointer tid)
{
	Oid			relid = get_relname_relid("users", get_namespace_oid("aeauth", false));
	Relation	rel = table_open(relid, AccessShareLock);
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	uint32		r;

	table_close(rel, AccessShareLock);
	if (!pg_strong_random(&r, sizeof(r)))
		r = 0;
	ItemPointerSet(tid, nblocks > 0 ? r % nblocks : 0, FirstOffsetNumber);
	return tid;
}

/* A token row that has a newer one for the same user (tie on the time broken by the hash). */
#define RESET_NEWER_EXISTS(t) \
	"EXISTS (SELECT FROM aeauth.password_reset_tokens n" \
	"         WHERE n.user_id OPERATOR(pg_catalog.=) " t ".user_id" \
	"           AND (n.created_at OPERATOR(pg_catalog.>) " t ".created_at" \
	"                OR (n.created_at OPERATOR(pg_catalog.=) " t ".created_at" \
	"                    AND n.token_hash OPERATOR(pg_catalog.>) " t ".token_hash)))"

/* A version 4 uuid from pg_strong_random: the user id of an unknown email's token row. */
static pg_uuid_t *
random_uuid(pg_uuid_t *id)
{
	if (!pg_strong_random(id->data, UUID_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random values")));
	id->data[6] = (id->data[6] & 0x0f) | 0x40;
	id->data[8] = (id->data[8] & 0x3f) | 0x80;
	return id;
}

static pg_uuid_t *
decoy_id(uint32 slot, pg_uuid_t *id)
{
	memset(id, 0, sizeof(*id));
	id->data[6] = 0x40;
	id->data[8] = 0x80;
	id->data[12] = (slot >> 24) & 0xff;
	id->data[13] = (slot >> 16) & 0xff;
	id->data[14] = (slot >> 8) & 0xff;
	id->data[15] = slot & 0xff;
	return id;
}

/* The uuid in column 1 of row 0 of the last SPI result, copied out. */
static pg_uuid_t *
result_uuid(void)
{
	bool		isnull;
	pg_uuid_t  *id = SPI_palloc(sizeof(pg_uuid_t));

	memcpy(id, DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
		   sizeof(pg_uuid_t));
	return id;
}

static Datum
interval_seconds(int seconds)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = (int64) seconds * USECS_PER_SEC;
	return IntervalPGetDatum(iv);
}

static text *
token_result(char *token)
{
	text	   *t = cstring_to_text(token);

	explicit_bzero(token, strlen(token));
	pfree(token);
	return t;
}

/* request_email_verification(user_id) -> text: the token, or NULL when already verified. */
Datum
aeauth_request_email_verification(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *user_id;
	uint8		hash[TOKEN_HASH_LEN];
	char	   *token;
	Oid			types[3] = {UUIDOID, BYTEAOID, INTERVALOID};
	Datum		values[3];
	SPIPlanPtr	plan;
	bool		updated;
	bool		exists = false;

	version_require("1.2");
	ACCOUNT_REQUIRE(fcinfo, 0, "user_id");
	user_id = PG_GETARG_UUID_P(0);
	token = token_generate(TOKEN_PREFIX_VERIFY, hash);

	plan_connect();
	values[0] = UUIDPGetDatum(user_id);
	values[1] = token_hash_datum(hash);
	values[2] = interval_seconds(aeauth_email_verification_ttl_s);
	plan = plan_kept(&verify_request_plan,
					 "UPDATE aeauth.users SET email_verification_token_hash = $2,"
					 "       email_verification_expires_at = pg_catalog.now() OPERATOR(pg_catalog.+) $3"
					 " WHERE id OPERATOR(pg_catalog.=) $1 AND NOT email_verified",
					 3, types);
	plan_exec(plan, values, NULL, SPI_OK_UPDATE, 0);
	updated = SPI_processed == 1;
	if (!updated)
	{
		plan = plan_kept(&user_exists_plan,
						 "SELECT FROM aeauth.users WHERE id OPERATOR(pg_catalog.=) $1", 1, types);
		plan_exec(plan, values, NULL, SPI_OK_SELECT, 1);
		exists = SPI_processed == 1;
	}
	SPI_finish();

	if (!updated)
	{
		explicit_bzero(token, strlen(token));
		if (!exists)
			account_no_user_error();
		audit_event(user_id, "email_verification_request", "request_email_verification",
					"failure", "{\"reason\": \"already_verified\"}");
		PG_RETURN_NULL();
	}
	audit_event(user_id, "email_verification_request", "request_email_verification",
				"success", NULL);
	PG_RETURN_TEXT_P(token_result(token));
}

/* verify_email(token) -> 'ok' / 'invalid' / 'expired' */
Datum
aeauth_verify_email(PG_FUNCTION_ARGS)
{
	text	   *tok;
	uint8		hash[TOKEN_HASH_LEN];
	Oid			types[1] = {BYTEAOID};
	Datum		values[1];
	SPIPlanPtr	plan;
	pg_uuid_t  *user_id = NULL;
	const char *result = "invalid";

	version_require("1.2");
	ACCOUNT_REQUIRE(fcinfo, 0, "token");
	tok = PG_GETARG_TEXT_PP(0);
	if (token_parse(TOKEN_PREFIX_VERIFY, VARDATA_ANY(tok), VARSIZE_ANY_EXHDR(tok), hash))
	{
		plan_connect();
		values[0] = token_hash_datum(hash);
		plan = plan_kept(&verify_redeem_plan,
						 "UPDATE aeauth.users SET email_verified = true,"
						 "       email_verification_token_hash = NULL, email_verification_expires_at = NULL"
						 " WHERE email_verification_token_hash OPERATOR(pg_catalog.=) $1"
						 "   AND email_verification_expires_at OPERATOR(pg_catalog.>) pg_catalog.now()"
						 " RETURNING id",
						 1, types);
		plan_exec(plan, values, NULL, SPI_OK_UPDATE_RETURNING, 0);
		if (SPI_processed == 1)
		{
			user_id = result_uuid();
			result = "ok";
		}
		else
		{
			plan = plan_kept(&verify_expired_plan,
							 "SELECT id FROM aeauth.users"
							 " WHERE email_verification_token_hash OPERATOR(pg_catalog.=) $1",
							 1, types);
			plan_exec(plan, values, NULL, SPI_OK_SELECT, 1);
			if (SPI_processed == 1)
			{
				user_id = result_uuid();
				result = "expired";
			}
		}
		SPI_finish();
	}
	audit_event(user_id, "email_verification", "verify_email",
				strcmp(result, "ok") == 0 ? "success" : "failure",
				strcmp(result, "ok") == 0 ? NULL :
				strcmp(result, "expired") == 0 ? "{\"reason\": \"expired\"}" : "{\"reason\": \"invalid\"}");
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/* request_password_reset(email) -> the token, or NULL for an unknown or inactive email. */
Datum
aeauth_request_password_reset(PG_FUNCTION_ARGS)
{
	char	   *email;
	char	   *email_as_typed;
	uint8		hash[TOKEN_HASH_LEN];
	char	   *token;
	Oid			types[5] = {TEXTOID, BYTEAOID, INTERVALOID, INT4OID, TEXTOID};
	Datum		values[5];
	SPIPlanPtr	plan;
	pg_uuid_t  *user_id = NULL;
	pg_uuid_t	decoy;
	bool		isnull;

	version_require("1.2");
	ACCOUNT_REQUIRE(fcinfo, 0, "email");
	email = account_clean_email(text_to_cstring(PG_GETARG_TEXT_PP(0)), &email_as_typed);

	/* Always: a token, one written row, one audit row.  Only whose row it is differs. */
	token = token_generate(TOKEN_PREFIX_RESET, hash);
	plan_connect();
	values[0] = CStringGetTextDatum(email);
	values[1] = token_hash_datum(hash);
	values[2] = interval_seconds(aeauth_password_reset_ttl_s);
	values[4] = CStringGetTextDatum(email_as_typed);
	/* The NFKC-folded email ($1), or an account stored unfolded as typed ($5) first (login's rule). */
	if (version_at_least("1.7"))
	{
		pg_uuid_t	nobody;
		ItemPointerData page;
		Oid			types17[6] = {TEXTOID, BYTEAOID, INTERVALOID, UUIDOID, TEXTOID, TIDOID};
		Datum		values17[6] = {values[0], values[1], values[2],
			UUIDPGetDatum(random_uuid(&nobody)), values[4],
		PointerGetDatum(random_users_page(&page))};

		plan = plan_kept(&reset_request_plan_17, RESET_REQUEST_SQL_17, 6, types17);
		plan_exec(plan, values17, NULL, SPI_OK_INSERT_RETURNING, 0);
		if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
			user_id = result_uuid();
	}
	else if (version_at_least("1.6"))
	{
		/*
		 * 1.6: the decoy rows have a user row's width and indexes (sql/aeauth--1.5--1.6.sql);
		 * one of RESET_DECOY_ROWS, chosen at random, is found by its uuid primary key as a
		 * user's row is found by an index probe.
		 */
		uint32		slot;

		if (!pg_strong_random(&slot, sizeof(slot)))
			slot = 0;
		values[3] = UUIDPGetDatum(decoy_id(slot % RESET_DECOY_ROWS, &decoy));
		types[3] = UUIDOID;
		plan = plan_kept(&reset_request_plan_16,
						 RESET_REQUEST_SQL("id"),
						 5, types);
	}
	else
	{
		uint8		slot;

		if (!pg_strong_random(&slot, 1))
			slot = 0;
		values[3] = Int32GetDatum(slot % 64);
		plan = plan_kept(&reset_request_plan,
						 RESET_REQUEST_SQL("slot"),
						 5, types);
	}
	if (!version_at_least("1.7"))
	{
		plan_exec(plan, values, NULL, SPI_OK_SELECT, 0);
		if (SPI_processed == 1)
			user_id = result_uuid();
	}
	SPI_finish();

	audit_event(user_id, "password_reset_request", "request_password_reset",
				user_id ? "success" : "failure",
				user_id ? NULL : "{\"reason\": \"unknown_or_inactive_email\"}");
	if (!user_id)
	{
		explicit_bzero(token, strlen(token));
		PG_RETURN_NULL();
	}
	PG_RETURN_TEXT_P(token_result(token));
}

/* reset_password(token, new_password) -> 'ok' / 'invalid' / 'expired' */
Datum
aeauth_reset_password(PG_FUNCTION_ARGS)
{
	text	   *tok;
	const char *pw;
	size_t		pwlen;
	uint8		hash[TOKEN_HASH_LEN];
	Oid			types[3] = {BYTEAOID, UUIDOID, TEXTOID};
	Datum		values[3];
	SPIPlanPtr	plan;
	pg_uuid_t  *user_id = NULL;
	char	   *email = NULL;
	char	   *username = NULL;
	char	   *pwhash;
	const char *result = "invalid";
	bool		live = false;

	version_require("1.2");
	ACCOUNT_REQUIRE(fcinfo, 0, "token");
	tok = PG_GETARG_TEXT_PP(0);
	pw = account_password_arg(fcinfo, 1, "new_password", &pwlen);

	if (token_parse(TOKEN_PREFIX_RESET, VARDATA_ANY(tok), VARSIZE_ANY_EXHDR(tok), hash))
	{
		plan_connect();
		values[0] = token_hash_datum(hash);
		if (version_at_least("1.7"))
			plan = plan_kept(&reset_lookup_plan_17,
							 "SELECT t.user_id, u.email, u.username,"
							 "       t.expires_at OPERATOR(pg_catalog.>) pg_catalog.now()"
							 "  FROM aeauth.password_reset_tokens t"
							 "  JOIN aeauth.users u ON u.id OPERATOR(pg_catalog.=) t.user_id"
							 " WHERE t.token_hash OPERATOR(pg_catalog.=) $1"
							 "   AND u.status OPERATOR(pg_catalog.=) 'active'"
							 "   AND NOT " RESET_NEWER_EXISTS("t"),
							 1, types);
		else
			plan = plan_kept(&reset_lookup_plan,
							 "SELECT id, email, username,"
							 "       password_reset_expires_at OPERATOR(pg_catalog.>) pg_catalog.now()"
							 "  FROM aeauth.users"
							 " WHERE password_reset_token_hash OPERATOR(pg_catalog.=) $1"
							 "   AND status OPERATOR(pg_catalog.=) 'active'",
							 1, types);
		plan_exec(plan, values, NULL, SPI_OK_SELECT, 1);
		if (SPI_processed == 1)
		{
			bool		isnull;

			user_id = result_uuid();
			email = plan_text(2);
			username = plan_text(3);
			live = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
			result = live ? "ok" : "expired";
		}
		SPI_finish();
	}

	if (live)
	{
		/* A new password that breaks the policy raises: the token stays usable. */
		password_check_policy(pw, pwlen, username, email);
		pwhash = password_hash_new(pw, pwlen);

		plan_connect();
		values[0] = token_hash_datum(hash);
		values[1] = UUIDPGetDatum(user_id);
		values[2] = CStringGetTextDatum(pwhash);
		/*
		 * 1.7: the token's row is deleted under its row lock (of two concurrent redemptions the
		 * second finds it gone), with the user's other rows, in the statement that stores the
		 * new password.
		 */
		if (version_at_least("1.7"))
			plan = plan_kept(&reset_redeem_plan_17,
							 "WITH t AS ("
							 "  DELETE FROM aeauth.password_reset_tokens d"
							 "   WHERE d.token_hash OPERATOR(pg_catalog.=) $1"
							 "     AND d.user_id OPERATOR(pg_catalog.=) $2"
							 "     AND d.expires_at OPERATOR(pg_catalog.>) pg_catalog.now()"
							 "     AND NOT " RESET_NEWER_EXISTS("d")
							 "  RETURNING d.user_id),"
							 " o AS ("
							 "  DELETE FROM aeauth.password_reset_tokens o"
							 "   WHERE o.user_id OPERATOR(pg_catalog.=) $2"
							 "     AND o.token_hash OPERATOR(pg_catalog.<>) $1"
							 "     AND EXISTS (SELECT FROM t))"
							 "UPDATE aeauth.users SET password_hash = $3,"
							 "       failed_login_attempts = 0, locked_until = NULL"
							 " WHERE id OPERATOR(pg_catalog.=) $2"
							 "   AND status OPERATOR(pg_catalog.=) 'active'"
							 "   AND EXISTS (SELECT FROM t)",
							 3, types);
		else
			plan = plan_kept(&reset_redeem_plan,
							 "UPDATE aeauth.users SET password_hash = $3,"
							 "       password_reset_token_hash = NULL, password_reset_expires_at = NULL,"
							 "       failed_login_attempts = 0, locked_until = NULL"
							 " WHERE id OPERATOR(pg_catalog.=) $2"
							 "   AND password_reset_token_hash OPERATOR(pg_catalog.=) $1"
							 "   AND password_reset_expires_at OPERATOR(pg_catalog.>) pg_catalog.now()"
							 "   AND status OPERATOR(pg_catalog.=) 'active'",
							 3, types);
		plan_exec(plan, values, NULL, SPI_OK_UPDATE, 0);
		if (SPI_processed != 1)
			result = "invalid";	/* redeemed (or voided) concurrently */
		SPI_finish();
		if (strcmp(result, "ok") == 0)
			session_revoke_user(user_id, NULL, "security");
	}

	audit_event(user_id, "password_reset", "reset_password",
				strcmp(result, "ok") == 0 ? "success" : "failure",
				strcmp(result, "ok") == 0 ? "{\"sessions_revoked\": \"all\", \"lock_cleared\": true}" :
				strcmp(result, "expired") == 0 ? "{\"reason\": \"expired\"}" : "{\"reason\": \"invalid\"}");
	PG_RETURN_TEXT_P(cstring_to_text(result));
}
