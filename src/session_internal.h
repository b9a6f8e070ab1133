/*
 * session_internal.h: what session.c, validate.c, refresh.c and identity.c share.
 */
#ifndef AEAUTH_SESSION_INTERNAL_H
#define AEAUTH_SESSION_INTERNAL_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/uuid.h"

/* Operators spelled out, so that no search_path can redirect them. */
#define EQ " OPERATOR(pg_catalog.=) "

#define USECS(seconds) ((int64) (seconds) * USECS_PER_SEC)

/* The plan in *slot, prepared once and kept for the backend's life. */
extern SPIPlanPtr session_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types);

/*
 * Runs an "UPDATE ... RETURNING id, user_id" that revokes sessions and sends one NOTIFY per
 * revoked row.  Needs SPI connected.  Returns the number of rows; the ids of the first one in
 * first_sid / first_uid when those are not NULL.
 */
extern int64 session_revoke_rows(SPIPlanPtr plan, Datum *values, const char *nulls,
								 const char *revoked_by, pg_uuid_t *first_sid,
								 pg_uuid_t *first_uid);

/* Checks revoked_by against the seed's list; raises 22023 otherwise. */
extern void session_check_revoked_by(const char *revoked_by);

/*
 * One row of (status, user_id, session_id, access_token, refresh_token, access_expires_at,
 * refresh_expires_at[, risk_score, is_suspicious]) as the materialized SRF result; t NULL for
 * a failure (every column but status NULL).  Shared by create_session and refresh_session.
 */
struct SessionTokens;
extern void session_emit_row(FunctionCallInfo fcinfo, const char *status, const pg_uuid_t *uid,
							 const struct SessionTokens *t);

/* Transaction-local identity (identity.c). */
extern void identity_set(const pg_uuid_t *user_id, const pg_uuid_t *session_id);
extern void identity_clear(void);
extern void identity_forget_session(const pg_uuid_t *session_id);
extern void IdentityInit(void);

extern void ValidateInit(void);
extern void RefreshInit(void);

#endif							/* AEAUTH_SESSION_INTERNAL_H */
