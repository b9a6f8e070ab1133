/*
 * trigger.c: row triggers on aeauth's tables.
 *
 * set_updated_at() is the seed's update_updated_at_column() in C: it runs on every login's
 * UPDATE of aeauth.users, so it avoids the PL/pgSQL call overhead.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "aeauth.h"

PG_FUNCTION_INFO_V1(aeauth_set_updated_at);

Datum
aeauth_set_updated_at(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	tupdesc;
	int			attnum;
	Datum		value;
	bool		isnull = false;
	HeapTuple	newtuple;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("set_updated_at must be a BEFORE UPDATE row trigger")));

	tupdesc = trigdata->tg_relation->rd_att;
	attnum = SPI_fnumber(tupdesc, "updated_at");
	if (attnum <= 0 || TupleDescAttr(tupdesc, attnum - 1)->atttypid != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("set_updated_at needs a column \"updated_at\" of type timestamptz")));
	value = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	newtuple = heap_modify_tuple_by_cols(trigdata->tg_newtuple, tupdesc, 1, &attnum,
										 &value, &isnull);
	return PointerGetDatum(newtuple);
}
