/*
 * session.c: sessions.
 *
 * FOUNDATION STUB: session_revoke_user() marks sessions revoked with a kept plan.  The sessions
 * issue replaces this file (tokens, validation, rotation, NOTIFY on revocation).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "aeauth.h"
#include "session.h"

static SPIPlanPtr revoke_user_plan = NULL;

void
SessionInit(void)
{
}

int64
session_revoke_user(const pg_uuid_t *user_id, const pg_uuid_t *except_id, const char *revoked_by)
{
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	int			rc;
	int64		n;

	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("aeauth: SPI_connect failed")));
	if (revoke_user_plan == NULL)
	{
		Oid			types[3] = {UUIDOID, UUIDOID, TEXTOID};
		SPIPlanPtr	plan = SPI_prepare("UPDATE aeauth.user_sessions"
									   "   SET status = 'revoked', revoked_at = pg_catalog.now(),"
									   "       revoked_by = $3"
									   " WHERE user_id OPERATOR(pg_catalog.=) $1"
									   "   AND status OPERATOR(pg_catalog.=) 'active'"
									   "   AND ($2 IS NULL OR id OPERATOR(pg_catalog.<>) $2)",
									   3, types);

		if (plan == NULL)
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
							errmsg("aeauth: could not prepare the session revocation")));
		SPI_keepplan(plan);
		revoke_user_plan = plan;
	}
	values[0] = UUIDPGetDatum(user_id);
	values[1] = except_id ? UUIDPGetDatum(except_id) : (Datum) 0;
	nulls[1] = except_id ? ' ' : 'n';
	values[2] = CStringGetTextDatum(revoked_by);
	rc = SPI_execute_plan(revoke_user_plan, values, nulls, false, 0);
	if (rc != SPI_OK_UPDATE)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("aeauth: session revocation failed: %s", SPI_result_code_string(rc))));
	n = (int64) SPI_processed;
	SPI_finish();
	return n;
}
