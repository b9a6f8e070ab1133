/*
 * plan.c: kept SPI plans (see plan.h).
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/memutils.h"

#include "aeauth.h"
#include "plan.h"

void
plan_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("aeauth: SPI_connect failed")));
}

SPIPlanPtr
plan_kept(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *types)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, (Oid *) types);

		if (plan == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("aeauth: could not prepare a statement: %s",
							SPI_result_code_string(SPI_result))));
		SPI_keepplan(plan);
		*slot = plan;
	}
	return *slot;
}

void
plan_exec(SPIPlanPtr plan, const Datum *values, const char *nulls, int expect, long limit)
{
	int			rc = SPI_execute_plan(plan, (Datum *) values, nulls, false, limit);

	if (rc != expect)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("aeauth: statement failed: %s", SPI_result_code_string(rc))));
}

char *
plan_text(int col)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);
	char	   *out;

	if (v == NULL)
		return NULL;
	out = SPI_palloc(strlen(v) + 1);
	strcpy(out, v);
	pfree(v);
	return out;
}
