/*
 * account.c: register_user, import_user, change_password, set_password, set_user_status,
 * unlock_user, hash_password, verify_password (../shared/API.md, "Accounts").
 *
 * Bad input raises (22004 for a required NULL, 22023 naming the rule, 23505 naming the field);
 * a wrong current password is returned as a status, because raising would roll back the audit
 * row and the failure count: change_password counts it on the account exactly like a failed
 * login (login_count_account_failure()) and refuses a locked account whatever the password.
 * Every event goes to the audit log without any secret; password and status changes revoke
 * sessions through session_revoke_user().  Emails are stored NFKC-folded (account_fold_email).
 */
#include "postgres.h"

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/uuid.h"

#include "aeauth.h"
#include "version.h"
#include "account.h"
#include "audit.h"
#include "login.h"
#include "parse.h"
#include "password.h"
#include "plan.h"
#include "session.h"

PG_FUNCTION_INFO_V1(aeauth_register_user);
PG_FUNCTION_INFO_V1(aeauth_import_user);
PG_FUNCTION_INFO_V1(aeauth_change_password);
PG_FUNCTION_INFO_V1(aeauth_set_password);
PG_FUNCTION_INFO_V1(aeauth_set_user_status);
PG_FUNCTION_INFO_V1(aeauth_unlock_user);
PG_FUNCTION_INFO_V1(aeauth_hash_password);
PG_FUNCTION_INFO_V1(aeauth_verify_password);
PG_FUNCTION_INFO_V1(aeauth_password_needs_rehash);

static SPIPlanPtr dup_plan = NULL;
static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr lookup_plan = NULL;
static SPIPlanPtr store_plan = NULL;
static SPIPlanPtr status_plan = NULL;
static SPIPlanPtr unlock_plan = NULL;

/* ---------------------------------------------------------------------------------------------
 * Shared helpers.
 */
void
account_null_error(const char *what)
{
	ereport(ERROR,
			(errcode(AEAUTH_ERRCODE_NULL),
			 errmsg("%s must not be NULL", what)));
}

void
account_no_user_error(void)
{
	ereport(ERROR,
			(errcode(AEAUTH_ERRCODE_BAD_INPUT),
			 errmsg("no user with this id"),
			 errdetail("The user_id does not belong to any account.")));
}

void
account_json_field(StringInfo buf, const char *key, const char *value, bool first)
{
	if (!first)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

/*
 * A password argument: refused (22023) above PASSWORD_MAX_BYTES from its header alone, before
 * it is even detoasted, so a 10 MB password costs nothing.
 */
const char *
account_password_arg(FunctionCallInfo fcinfo, int n, const char *what, size_t *len)
{
	text	   *t;

	if (PG_ARGISNULL(n))
		account_null_error(what);
	if (toast_raw_datum_size(PG_GETARG_DATUM(n)) - VARHDRSZ > PASSWORD_MAX_BYTES)
		ereport(ERROR,
				(errcode(AEAUTH_ERRCODE_BAD_INPUT),
				 errmsg("password does not meet the password policy"),
				 errdetail("Passwords may be at most %d bytes long.", PASSWORD_MAX_BYTES)));
	t = PG_GETARG_TEXT_PP(n);
	*len = VARSIZE_ANY_EXHDR(t);
	return VARDATA_ANY(t);
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void
bad_email(const char *why)
{
	ereport(ERROR,
			(errcode(AEAUTH_ERRCODE_BAD_INPUT),
			 errmsg("invalid email address"),
			 errdetail("%s", why)));
}

/*
 * Is the code point invisible or a layout control: C1 controls, no-break and other odd spaces,
 * soft hyphen, zero-width characters, bidirectional embeddings, overrides and isolates, word
 * joiners and invisible operators, line/paragraph separators, the BOM, interlinear annotation
 * marks.  In an email they make two addresses that look the same ("bob@x" and "bob\u200b@x")
 * or reorder how an address is shown ("\u202e"), so they are refused there.
 */
static bool
is_invisible_codepoint(pg_wchar c)
{
	/* parse.c's set (controls, separators, default-ignorables) and the blank spaces. */
	return parse_is_invisible_codepoint(c) ||
		c == 0xA0 || (c >= 0x2000 && c <= 0x200A) || c == 0x202F || c == 0x205F ||
		c == 0x3000 || (c >= 0xFFF9 && c <= 0xFFFB);
}

static void
reject_invisible(const char *s, size_t n)
{
	for (size_t i = 0; i < n;)
	{
		int			l = pg_utf_mblen((const unsigned char *) s + i);

		if (i + l > n)
			break;				/* verified text never ends mid-character */
		if (l > 1 && is_invisible_codepoint(utf8_to_unicode((const unsigned char *) s + i)))
			bad_email("Email addresses must not contain invisible or text-direction characters.");
		i += l;
	}
}

/*
 * The NFKC form of s (PostgreSQL's unicode_normalize, exactly what SQL normalize(s, 'NFKC')
 * gives), palloc'd.  ASCII is its own NFKC form; outside a UTF8 database s is returned as is,
 * and so is anything longer than 1024 bytes (no email is: a 10 MB login identifier costs no
 * normalization).
 */
char *
account_fold_email(const char *s)
{
	bool		ascii = true;

	if (strlen(s) > 1024)
		return pstrdup(s);
	for (const char *p = s; *p; p++)
		if ((unsigned char) *p >= 0x80)
		{
			ascii = false;
			break;
		}
	if (ascii || GetDatabaseEncoding() != PG_UTF8)
		return pstrdup(s);
	return TextDatumGetCString(DirectFunctionCall2(unicode_normalize_func,
												   CStringGetTextDatum(s),
												   CStringGetTextDatum("NFKC")));
}

/*
 * The email trimmed of surrounding white space and folded to Unicode NFKC (so that the
 * full-width "ｐｌａｙｅｒ＠ｅｘａｍｐｌｅ.com" is "player@example.com"), or 22023; *as_typed
 * (when not NULL) gets the trimmed email before folding, for lookups that must still find an
 * account stored unfolded (look-alikes kept apart by the 1.6 upgrade).  Invisible characters
 * are refused before and after folding; the syntax and length rules apply to the folded form.
 * Syntax (a practical subset of RFC 5321, what mail systems deliver to): local@domain, at most
 * 254 bytes; local part 1-64 bytes of letters, digits, non-ASCII and !#$%&'*+/=?^_`{|}~.-
 * without a leading, trailing or doubled dot; domain of at least two dot-separated labels of
 * 1-63 letters, digits, hyphens or non-ASCII, not starting or ending with a hyphen; no invisible
 * or text-direction characters anywhere.
 */
char *
account_clean_email(const char *raw, char **as_typed)
{
	const char *b = raw;
	const char *e = raw + strlen(raw);
	const char *at = NULL;
	char	   *typed;
	char	   *s;
	size_t		n;
	int			labels = 0;

	while (b < e && is_space(*b))
		b++;
	while (e > b && is_space(e[-1]))
		e--;
	n = (size_t) (e - b);
	if (n == 0)
		bad_email("The email address is empty.");
	if (n > 254)
		bad_email("Email addresses may be at most 254 bytes long.");
	if (GetDatabaseEncoding() == PG_UTF8)
		reject_invisible(b, n);
	typed = pnstrdup(b, n);
	s = account_fold_email(typed);
	if (as_typed)
		*as_typed = typed;
	n = strlen(s);
	if (n > 254)
		bad_email("Email addresses may be at most 254 bytes long (after Unicode NFKC normalization).");
	if (GetDatabaseEncoding() == PG_UTF8)
		reject_invisible(s, n);

	for (size_t i = 0; i < n; i++)
		if (s[i] == '@')
		{
			if (at)
				bad_email("An email address has exactly one @.");
			at = s + i;
		}
	if (!at)
		bad_email("An email address has exactly one @.");
	if (at == s || at - s > 64)
		bad_email("The part before the @ must be 1 to 64 bytes long.");
	for (const char *p = s; p < at; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (!(c >= 0x80 || isalnum(c) || strchr("!#$%&'*+/=?^_`{|}~.-", c)))
			bad_email("The part before the @ contains a character that is not allowed.");
		if (c == '.' && (p == s || p + 1 == at || p[1] == '.'))
			bad_email("The part before the @ must not start or end with a dot or contain two dots in a row.");
	}
	{
		const char *label = at + 1;

		for (const char *p = at + 1;; p++)
		{
			if (*p == '.' || *p == '\0')
			{
				size_t		len = (size_t) (p - label);

				if (len == 0 || len > 63)
					bad_email("Each part of the domain must be 1 to 63 characters long.");
				if (label[0] == '-' || label[len - 1] == '-')
					bad_email("Parts of the domain must not start or end with a hyphen.");
				labels++;
				if (*p == '\0')
					break;
				label = p + 1;
			}
			else if (!((unsigned char) *p >= 0x80 || isalnum((unsigned char) *p) || *p == '-'))
				bad_email("The domain contains a character that is not allowed.");
		}
	}
	if (labels < 2)
		bad_email("The domain must contain a dot.");
	return s;
}

/*
 * Usernames: 3 to 50 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit.
 * No @ (so that login can tell a username from an email) and no white space or look-alikes.
 */
static void
check_username(const char *u)
{
	size_t		n = strlen(u);

	if (n < 3 || n > 50)
		ereport(ERROR,
				(errcode(AEAUTH_ERRCODE_BAD_INPUT),
				 errmsg("invalid username"),
				 errdetail("Usernames must be 3 to 50 characters long.")));
	if (!isalnum((unsigned char) u[0]))
		ereport(ERROR,
				(errcode(AEAUTH_ERRCODE_BAD_INPUT),
				 errmsg("invalid username"),
				 errdetail("Usernames must start with a letter or a digit.")));
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) u[i];

		if (!(c < 0x80 && (isalnum(c) || c == '_' || c == '.' || c == '-')))
			ereport(ERROR,
					(errcode(AEAUTH_ERRCODE_BAD_INPUT),
					 errmsg("invalid username"),
					 errdetail("Usernames may contain only the letters A-Z and a-z, digits, \"_\", \".\" and \"-\".")));
	}
}

/* Raises 23505 naming the field when the email or the username is taken (case-insensitively). */
static void
check_unique(const char *email, const char *username)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(email), CStringGetTextDatum(username)};
	bool		email_taken = false;
	bool		username_taken = false;
	SPIPlanPtr	plan = plan_kept(&dup_plan,
								 "SELECT bool_or(pg_catalog.lower(u.email) OPERATOR(pg_catalog.=) pg_catalog.lower($1)),"
								 "       bool_or(pg_catalog.lower(u.username) OPERATOR(pg_catalog.=) pg_catalog.lower($2))"
								 "  FROM aeauth.users u"
								 " WHERE pg_catalog.lower(u.email) OPERATOR(pg_catalog.=) pg_catalog.lower($1)"
								 "    OR pg_catalog.lower(u.username) OPERATOR(pg_catalog.=) pg_catalog.lower($2)",
								 2, types);
	bool		isnull;

	plan_exec(plan, values, NULL, SPI_OK_SELECT, 1);
	email_taken = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) && !isnull;
	username_taken = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)) && !isnull;
	if (email_taken)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("email is already registered"),
				 errdetail("The field \"email\" must be unique (case-insensitively)."),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "email")));
	if (username_taken)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("username is already taken"),
				 errdetail("The field \"username\" must be unique (case-insensitively)."),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "username")));
}

/* INSERT of a new user; 23505 naming the field if a concurrent insert won the race. */
static pg_uuid_t
insert_user(const char *email, const char *username, const char *hash, bool verified)
{
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, BOOLOID};
	Datum		values[4] = {CStringGetTextDatum(email), CStringGetTextDatum(username),
	CStringGetTextDatum(hash), BoolGetDatum(verified)};
	SPIPlanPtr	plan = plan_kept(&insert_plan,
								 "INSERT INTO aeauth.users (email, username, password_hash, email_verified)"
								 " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
								 4, types);
	pg_uuid_t	id;
	bool		isnull;

	plan_exec(plan, values, NULL, SPI_OK_INSERT_RETURNING, 1);
	if (SPI_processed == 0)
	{
		check_unique(email, username);
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("email or username is already taken")));
	}
	memcpy(&id, DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
		   sizeof(id));
	return id;
}

static void
audit(const pg_uuid_t *user_id, const char *event_type, const char *category,
	  const char *action, const char *status, const char *metadata, const char *severity)
{
	audit_log_event(&(AuditEvent) {
		.user_id = user_id,
			.event_type = event_type,
			.event_category = category,
			.action = action,
			.status = status,
			.metadata_json = metadata,
			.severity = severity
	}, NULL);
}

typedef struct UserRow
{
	bool		found;
	char	   *password_hash;
	char	   *email;
	char	   *username;
	char	   *status;
	bool		locked;			/* its lock is in force now */
	bool		lock_expired;	/* a lock was set and has run out */
} UserRow;

/*
 * The user's row, locked FOR UPDATE (password and status changes serialize per user, and so do
 * concurrent change_password calls: each sees the failure count and lock the previous left).
 */
static UserRow
lookup_user(const pg_uuid_t *user_id)
{
	Oid			types[1] = {UUIDOID};
	Datum		values[1] = {UUIDPGetDatum(user_id)};
	SPIPlanPtr	plan = plan_kept(&lookup_plan,
								 "SELECT u.password_hash, u.email, u.username, u.status,"
								 "       u.locked_until IS NOT NULL AND u.locked_until OPERATOR(pg_catalog.>) pg_catalog.now(),"
								 "       u.locked_until IS NOT NULL AND u.locked_until OPERATOR(pg_catalog.<=) pg_catalog.now()"
								 "  FROM aeauth.users u"
								 " WHERE u.id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
								 1, types);
	UserRow		row = {0};
	bool		isnull;

	plan_exec(plan, values, NULL, SPI_OK_SELECT, 1);
	if (SPI_processed == 0)
		return row;
	row.found = true;
	row.password_hash = plan_text(1);
	row.email = plan_text(2);
	row.username = plan_text(3);
	row.status = plan_text(4);
	row.locked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull));
	row.lock_expired = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6, &isnull));
	return row;
}

void
account_store_password_hash(const pg_uuid_t *user_id, const char *hash)
{
	Oid			types[2] = {UUIDOID, TEXTOID};
	Datum		values[2] = {UUIDPGetDatum(user_id), CStringGetTextDatum(hash)};
	SPIPlanPtr	plan;

	plan_connect();
	plan = plan_kept(&store_plan,
					 "UPDATE aeauth.users SET password_hash = $2"
					 " WHERE id OPERATOR(pg_catalog.=) $1",
					 2, types);
	plan_exec(plan, values, NULL, SPI_OK_UPDATE, 0);
	SPI_finish();
}

/*
 * A new password for a user: the hash, and every pending reset token voided.  With
 * proven_by_user (change_password verified the current password, which is a success like a
 * login's), the failure counter and progressive lock start again too (schema 1.4 and later).
 */
static void
replace_password(const pg_uuid_t *user_id, const char *hash, bool proven_by_user)
{
	static SPIPlanPtr plan_slot = NULL;
	static SPIPlanPtr proven_plan_slot = NULL;
	Oid			types[2] = {UUIDOID, TEXTOID};
	Datum		values[2] = {UUIDPGetDatum(user_id), CStringGetTextDatum(hash)};
	SPIPlanPtr	plan;

	if (version_at_least("1.7"))
	{
		/* 1.7: reset tokens are rows of aeauth.password_reset_tokens (src/recovery.c). */
		static SPIPlanPtr plan_slot_17 = NULL;
		static SPIPlanPtr proven_plan_slot_17 = NULL;

#define REPLACE_PASSWORD_17(extra) \
		"WITH v AS (DELETE FROM aeauth.password_reset_tokens t" \
		"            WHERE t.user_id OPERATOR(pg_catalog.=) $1)" \
		"UPDATE aeauth.users SET password_hash = $2" extra \
		" WHERE id OPERATOR(pg_catalog.=) $1"
		if (proven_by_user)
			plan = plan_kept(&proven_plan_slot_17,
							 REPLACE_PASSWORD_17(", failed_login_attempts = 0, lockout_count = 0, locked_until = NULL"),
							 2, types);
		else
			plan = plan_kept(&plan_slot_17, REPLACE_PASSWORD_17(""), 2, types);
#undef REPLACE_PASSWORD_17
	}
	else if (proven_by_user && version_at_least("1.4"))
		plan = plan_kept(&proven_plan_slot,
						 "UPDATE aeauth.users SET password_hash = $2,"
						 "       password_reset_token_hash = NULL, password_reset_expires_at = NULL,"
						 "       failed_login_attempts = 0, lockout_count = 0, locked_until = NULL"
						 " WHERE id OPERATOR(pg_catalog.=) $1",
						 2, types);
	else
		plan = plan_kept(&plan_slot,
						 "UPDATE aeauth.users SET password_hash = $2,"
						 "       password_reset_token_hash = NULL, password_reset_expires_at = NULL"
						 " WHERE id OPERATOR(pg_catalog.=) $1",
						 2, types);
	plan_exec(plan, values, NULL, SPI_OK_UPDATE, 0);
}

/* ---------------------------------------------------------------------------------------------
 * SQL functions.
 */

/* register_user(email, username, password) -> uuid */
Datum
aeauth_register_user(PG_FUNCTION_ARGS)
{
	char	   *email;
	char	   *username;
	const char *pw;
	size_t		pwlen;
	char	   *hash;
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

	version_require("1.2");
	ACCOUNT_REQUIRE(fcinfo, 0, "email");
	ACCOUNT_REQUIRE(fcinfo, 1, "username");
	pw = account_password_arg(fcinfo, 2, "password", &pwlen);
	email = account_clean_email(text_to_cstring(PG_GETARG_TEXT_PP(0)), NULL);
	username = text_to_cstring(PG_GETARG_TEXT_PP(1));
	check_username(username);
	password_check_policy(pw, pwlen, username, email);

	plan_connect();
	check_unique(email, username);	/* before the expensive hash */
	SPI_finish();

	hash = password_hash_new(pw, pwlen);

	plan_connect();
	*id = insert_user(email, username, hash, false);
	SPI_finish();

	audit(id, "registration", "authentication", "register_user", "success",
		  "{\"method\": \"password\"}", "info");
	PG_RETURN_UUID_P(id);
}

/* import_user(email, username, password_hash, email_verified) -> uuid (admin) */
Datum
aeauth_import_user(PG_FUNCTION_ARGS)
{
	char	   *email;
	char	   *username;
	char	   *hash;
	bool		verified;
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));
	StringInfoData meta;

	version_require("1.2");
	ACCOUNT_REQUIRE(fcinfo, 0, "email");
	ACCOUNT_REQUIRE(fcinfo, 1, "username");
	ACCOUNT_REQUIRE(fcinfo, 2, "password_hash");
	ACCOUNT_REQUIRE(fcinfo, 3, "email_verified");
	email = account_clean_email(text_to_cstring(PG_GETARG_TEXT_PP(0)), NULL);
	username = text_to_cstring(PG_GETARG_TEXT_PP(1));
	check_username(username);
	hash = text_to_cstring(PG_GETARG_TEXT_PP(2));
	verified = PG_GETARG_BOOL(3);

	switch (password_hash_kind(hash))
	{
		case PASSWORD_HASH_ARGON2ID:
		case PASSWORD_HASH_BCRYPT:
			break;
		default:
			ereport(ERROR,
					(errcode(AEAUTH_ERRCODE_BAD_INPUT),
					 errmsg("unsupported password hash"),
					 errdetail("The password_hash must be an argon2id PHC string (v=19, bounded parameters) or a bcrypt $2a$, $2b$ or $2y$ hash with a cost from 04 to %02d.",
							   PASSWORD_BCRYPT_MAX_COST)));
	}

	plan_connect();
	check_unique(email, username);
	*id = insert_user(email, username, hash, verified);
	SPI_finish();

	initStringInfo(&meta);
	appendStringInfoChar(&meta, '{');
	account_json_field(&meta, "hash_format",
					   password_hash_kind(hash) == PASSWORD_HASH_BCRYPT ? "bcrypt" : "argon2id", true);
	account_json_field(&meta, "email_verified", verified ? "true" : "false", false);
	appendStringInfoChar(&meta, '}');
	audit(id, "user_import", "admin", "import_user", "success", meta.data, "info");
	PG_RETURN_UUID_P(id);
}

/* change_password(user_id, current_password, new_password, keep_session_id) -> text */
Datum
aeauth_change_password(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *user_id;
	const char *cur;
	size_t		curlen;
	const char *pw;
	size_t		pwlen;
	pg_uuid_t  *keep;
	UserRow		row;
	bool		ok;
	bool		too_long;
	bool		counted;
	char	   *hash;

	version_require("1.2");
	ACCOUNT_REQUIRE(fcinfo, 0, "user_id");
	user_id = PG_GETARG_UUID_P(0);
	if (PG_ARGISNULL(1))
		account_null_error("current_password");
	pw = account_password_arg(fcinfo, 2, "new_password", &pwlen);
	keep = PG_ARGISNULL(3) ? NULL : PG_GETARG_UUID_P(3);

	/* A current password over the limit cannot be right: no detoasting, no hashing. */
	too_long = toast_raw_datum_size(PG_GETARG_DATUM(1)) - VARHDRSZ > PASSWORD_MAX_BYTES;
	if (too_long)
	{
		cur = "";
		curlen = 0;
	}
	else
	{
		text	   *t = PG_GETARG_TEXT_PP(1);

		cur = VARDATA_ANY(t);
		curlen = VARSIZE_ANY_EXHDR(t);
	}

	plan_connect();
	row = lookup_user(user_id);
	SPI_finish();

	if (!row.found)
	{
		if (!too_long)
			password_dummy_verify(cur, curlen);
		audit(NULL, "password_change", "security", "change_password", "failure",
			  "{\"reason\": \"unknown_user\"}", "warning");
		PG_RETURN_TEXT_P(cstring_to_text("invalid_credentials"));
	}
	/* Always the full verification, so that no refusal below is faster than a wrong password. */
	ok = !too_long && password_verify(cur, curlen, row.password_hash, NULL);

	/*
	 * Refusals in login's order: a locked account (whatever the password, and without counting
	 * or extending the lock), an inactive one, then a wrong password, counted like a failed
	 * login.  All answer invalid_credentials and commit: nothing is raised.
	 */
	if (row.locked)
	{
		audit(user_id, "password_change", "security", "change_password", "failure",
			  "{\"reason\": \"locked\"}", "warning");
		PG_RETURN_TEXT_P(cstring_to_text("invalid_credentials"));
	}
	if (strcmp(row.status, "active") != 0)
	{
		audit(user_id, "password_change", "security", "change_password", "failure",
			  ok ? "{\"reason\": \"inactive_account\"}" : "{\"reason\": \"invalid_current_password\"}",
			  "warning");
		PG_RETURN_TEXT_P(cstring_to_text("invalid_credentials"));
	}
	counted = version_at_least("1.4");	/* the lockout columns of login */
	if (counted && row.lock_expired)
		login_audit_lock_expired(user_id);
	if (!ok)
	{
		audit(user_id, "password_change", "security", "change_password", "failure",
			  "{\"reason\": \"invalid_current_password\"}", "warning");
		if (counted)
			(void) login_count_account_failure(user_id);
		PG_RETURN_TEXT_P(cstring_to_text("invalid_credentials"));
	}

	password_check_policy(pw, pwlen, row.username, row.email);
	hash = password_hash_new(pw, pwlen);
	plan_connect();
	replace_password(user_id, hash, true);
	SPI_finish();
	session_revoke_user(user_id, keep, "user");
	audit(user_id, "password_change", "security", "change_password", "success",
		  keep ? "{\"sessions_kept\": 1}" : "{\"sessions_kept\": 0}", "info");
	PG_RETURN_TEXT_P(cstring_to_text("ok"));
}

/* set_password(user_id, new_password) -> void (admin) */
Datum
aeauth_set_password(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *user_id;
	const char *pw;
	size_t		pwlen;
	UserRow		row;
	char	   *hash;

	version_require("1.2");
	ACCOUNT_REQUIRE(fcinfo, 0, "user_id");
	user_id = PG_GETARG_UUID_P(0);
	pw = account_password_arg(fcinfo, 1, "new_password", &pwlen);

	plan_connect();
	row = lookup_user(user_id);
	SPI_finish();
	if (!row.found)
		account_no_user_error();

	password_check_policy(pw, pwlen, row.username, row.email);
	hash = password_hash_new(pw, pwlen);
	plan_connect();
	replace_password(user_id, hash, false);
	SPI_finish();
	session_revoke_user(user_id, NULL, "admin");
	audit(user_id, "password_change", "admin", "set_password", "success", NULL, "info");
	PG_RETURN_VOID();
}

/* set_user_status(user_id, status, reason) -> void (admin) */
Datum
aeauth_set_user_status(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *user_id;
	char	   *status;
	char	   *reason;
	char	   *old_status;
	StringInfoData meta;
	Oid			types[2] = {UUIDOID, TEXTOID};
	Datum		values[2];
	SPIPlanPtr	plan;

	version_require("1.2");
	ACCOUNT_REQUIRE(fcinfo, 0, "user_id");
	ACCOUNT_REQUIRE(fcinfo, 1, "status");
	user_id = PG_GETARG_UUID_P(0);
	status = text_to_cstring(PG_GETARG_TEXT_PP(1));
	reason = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (strcmp(status, "active") != 0 && strcmp(status, "inactive") != 0 &&
		strcmp(status, "suspended") != 0 && strcmp(status, "banned") != 0)
		ereport(ERROR,
				(errcode(AEAUTH_ERRCODE_BAD_INPUT),
				 errmsg("invalid user status"),
				 errdetail("The status must be one of active, inactive, suspended, banned.")));

	plan_connect();
	values[0] = UUIDPGetDatum(user_id);
	values[1] = CStringGetTextDatum(status);
	plan = plan_kept(&status_plan,
					 "WITH old AS (SELECT o.id, o.status FROM aeauth.users o"
					 "              WHERE o.id OPERATOR(pg_catalog.=) $1 FOR UPDATE)"
					 "UPDATE aeauth.users u SET status = $2 FROM old"
					 " WHERE u.id OPERATOR(pg_catalog.=) old.id RETURNING old.status",
					 2, types);
	plan_exec(plan, values, NULL, SPI_OK_UPDATE_RETURNING, 0);
	if (SPI_processed == 0)
		account_no_user_error();
	old_status = plan_text(1);
	SPI_finish();

	if (strcmp(status, "active") != 0)
		session_revoke_user(user_id, NULL, "admin");

	initStringInfo(&meta);
	appendStringInfoChar(&meta, '{');
	account_json_field(&meta, "from", old_status, true);
	account_json_field(&meta, "to", status, false);
	account_json_field(&meta, "reason", reason, false);
	appendStringInfoChar(&meta, '}');
	audit(user_id, "status_change", "admin", "set_user_status", "success", meta.data,
		  strcmp(status, "active") == 0 ? "info" : "warning");
	PG_RETURN_VOID();
}

/* unlock_user(user_id) -> void (admin) */
Datum
aeauth_unlock_user(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *user_id;
	Oid			types[1] = {UUIDOID};
	Datum		values[1];
	SPIPlanPtr	plan;

	version_require("1.2");
	ACCOUNT_REQUIRE(fcinfo, 0, "user_id");
	user_id = PG_GETARG_UUID_P(0);
	plan_connect();
	values[0] = UUIDPGetDatum(user_id);
	plan = plan_kept(&unlock_plan,
					 "UPDATE aeauth.users SET failed_login_attempts = 0, locked_until = NULL"
					 " WHERE id OPERATOR(pg_catalog.=) $1",
					 1, types);
	plan_exec(plan, values, NULL, SPI_OK_UPDATE, 0);
	if (SPI_processed == 0)
		account_no_user_error();
	SPI_finish();
	audit(user_id, "account_unlock", "admin", "unlock_user", "success", NULL, "info");
	PG_RETURN_VOID();
}

/* hash_password(password) -> text (admin): the length and deny-list rules, then argon2id. */
Datum
aeauth_hash_password(PG_FUNCTION_ARGS)
{
	const char *pw;
	size_t		pwlen;

	version_require("1.2");
	pw = account_password_arg(fcinfo, 0, "password", &pwlen);
	password_check_policy(pw, pwlen, NULL, NULL);
	PG_RETURN_TEXT_P(cstring_to_text(password_hash_new(pw, pwlen)));
}

/* verify_password(password, password_hash) -> boolean (admin) */
Datum
aeauth_verify_password(PG_FUNCTION_ARGS)
{
	text	   *pw;
	char	   *hash;

	version_require("1.2");
	ACCOUNT_REQUIRE(fcinfo, 0, "password");
	ACCOUNT_REQUIRE(fcinfo, 1, "password_hash");
	/* Over the limit: false without detoasting or hashing (password_verify's rule). */
	if (toast_raw_datum_size(PG_GETARG_DATUM(0)) - VARHDRSZ > PASSWORD_MAX_BYTES)
		PG_RETURN_BOOL(false);
	pw = PG_GETARG_TEXT_PP(0);
	hash = text_to_cstring(PG_GETARG_TEXT_PP(1));
	PG_RETURN_BOOL(password_verify(VARDATA_ANY(pw), VARSIZE_ANY_EXHDR(pw), hash, NULL));
}

/* password_needs_rehash(password_hash) -> boolean (admin): NULL for a hash that cannot verify. */
Datum
aeauth_password_needs_rehash(PG_FUNCTION_ARGS)
{
	bool		usable;
	bool		rehash;

	version_require("1.2");
	ACCOUNT_REQUIRE(fcinfo, 0, "password_hash");
	rehash = password_needs_rehash(text_to_cstring(PG_GETARG_TEXT_PP(0)), &usable);
	if (!usable)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(rehash);
}
