/*
 * recovery.c: email verification and password reset tokens (../shared/API.md, "Accounts").
 *
 * Tokens are 256 bits from token_generate() (aev_ for verification, aep_ for reset), returned
 * once; only their SHA-256 is stored, one per user and kind, so a newer token voids the older.
 * Redemption is a single UPDATE that matches the hash and clears it: of two concurrent
 * redemptions the second waits for the first's row lock, re-checks the row and finds no token.
 * request_password_reset does the same work for an unknown email as for a known one: the token
 * is generated, one statement updates either the user's row or (unknown email) a random row of
 * aeauth.password_reset_decoy shaped like it, and one audit row is written.  Since 1.6 the decoy
 * rows have a user row's width, indexes and trigger, and there are 4096 of them, so the two
 * paths also do the same heap, index and WAL work (before: 64 narrow rows, cheaper under load).
 */
#include "postgres.h"

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
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
static SPIPlanPtr reset_lookup_plan = NULL;
static SPIPlanPtr reset_redeem_plan = NULL;
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

	version_require("1.2");
	ACCOUNT_REQUIRE(fcinfo, 0, "email");
	email = account_clean_email(text_to_cstring(PG_GETARG_TEXT_PP(0)), &email_as_typed);

	/* Always: a token, the UPDATE, one audit row.  Only the row count differs. */
	token = token_generate(TOKEN_PREFIX_RESET, hash);
	plan_connect();
	values[0] = CStringGetTextDatum(email);
	values[1] = token_hash_datum(hash);
	values[2] = interval_seconds(aeauth_password_reset_ttl_s);
	values[4] = CStringGetTextDatum(email_as_typed);
	/* The NFKC-folded email ($1), or an account stored unfolded as typed ($5) first (login's rule). */
	if (version_at_least("1.6"))
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
	plan_exec(plan, values, NULL, SPI_OK_SELECT, 0);
	if (SPI_processed == 1)
		user_id = result_uuid();
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
