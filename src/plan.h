/*
 * plan.h: SPI plans prepared once per backend and kept (SPI_prepare + SPI_keepplan).
 */
#ifndef AEAUTH_PLAN_H
#define AEAUTH_PLAN_H

#include "postgres.h"

#include "executor/spi.h"

/* SPI_connect(), raising an internal error if it fails. */
extern void plan_connect(void);

/*
 * Returns *slot, preparing and keeping the plan on first use.  Arguments are always bound
 * ($1, $2 ...), never spliced into the text.  The caller must be SPI-connected.
 */
extern SPIPlanPtr plan_kept(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *types);

/* Runs a kept plan; raises an internal error unless SPI answers `expect`. */
extern void plan_exec(SPIPlanPtr plan, const Datum *values, const char *nulls, int expect,
					  long limit);

/*
 * Column `col` (1-based) of row 0 of the last result as a C string (NULL if null), copied with
 * SPI_palloc so that it outlives SPI_finish().
 */
extern char *plan_text(int col);

#endif							/* AEAUTH_PLAN_H */
