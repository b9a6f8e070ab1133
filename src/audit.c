/*
 * audit.c: the audit log writer.
 *
 * FOUNDATION STUB: inserts into aeauth.user_audit_log with a plan prepared once and kept.
 * The audit issue replaces this with checks, retention at insert and secret scrubbing.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "aeauth.h"
#include "audit.h"

static SPIPlanPtr insert_plan = NULL;

void
AuditInit(void)
{
}

void
audit_log_event(const AuditEvent *ev, pg_uuid_t *id_out)
{
	Datum		values[10];
	char		nulls[10];
	int			rc;

	memset(nulls, ' ', sizeof(nulls));
	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("aeauth: SPI_connect failed")));

	if (insert_plan == NULL)
	{
		Oid			types[10] = {UUIDOID, UUIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		INETOID, TEXTOID, JSONBOID, TEXTOID};
		SPIPlanPtr	plan;

		plan = SPI_prepare("INSERT INTO aeauth.user_audit_log"
						   " (user_id, session_id, event_type, event_category, action, status,"
						   "  ip_address, user_agent, metadata, severity)"
						   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
						   10, types);
		if (plan == NULL)
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
							errmsg("aeauth: could not prepare the audit insert")));
		SPI_keepplan(plan);
		insert_plan = plan;
	}

	values[0] = ev->user_id ? UUIDPGetDatum(ev->user_id) : (Datum) 0;
	nulls[0] = ev->user_id ? ' ' : 'n';
	values[1] = ev->session_id ? UUIDPGetDatum(ev->session_id) : (Datum) 0;
	nulls[1] = ev->session_id ? ' ' : 'n';
	values[2] = CStringGetTextDatum(ev->event_type);
	values[3] = CStringGetTextDatum(ev->event_category);
	values[4] = CStringGetTextDatum(ev->action);
	values[5] = CStringGetTextDatum(ev->status);
	values[6] = ev->has_ip ? ev->ip_address : (Datum) 0;
	nulls[6] = ev->has_ip ? ' ' : 'n';
	values[7] = ev->user_agent ? CStringGetTextDatum(ev->user_agent) : (Datum) 0;
	nulls[7] = ev->user_agent ? ' ' : 'n';
	values[8] = ev->metadata_json ?
		DirectFunctionCall1(jsonb_in, CStringGetDatum(ev->metadata_json)) : (Datum) 0;
	nulls[8] = ev->metadata_json ? ' ' : 'n';
	values[9] = CStringGetTextDatum(ev->severity ? ev->severity : "info");

	rc = SPI_execute_plan(insert_plan, values, nulls, false, 1);
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("aeauth: audit insert failed: %s", SPI_result_code_string(rc))));
	if (id_out)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		memcpy(id_out, DatumGetUUIDP(d), sizeof(pg_uuid_t));
	}
	SPI_finish();
}
