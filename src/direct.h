/*
 * direct.h: inserting rows without SQL, through the executor's simple-relation routines.
 *
 * For hot paths that insert one row of a known shape into a known table, where planning (even
 * of a kept plan), the SPI call and tuple routing cost more than the insert itself.  This is
 * what the logical replication apply worker does (execReplication.c): an EState, one
 * ResultRelInfo, the relation's indexes, NOT NULL and CHECK constraints checked, index entries
 * made (unique ones enforced).  Rows are visible to the next command of the transaction.
 *
 * The caller picks the relation and holds RowExclusiveLock on it (and on its partitioned
 * ancestors when it routed the row itself); it checks privileges; it falls back to SQL when
 * direct_usable() says no (triggers, row security, generated columns: things only the full
 * executor handles).
 *
 *   DirectInsert *d = direct_begin(rel, routed);
 *   direct_insert(d, values, isnull);     (values in rel's own attribute order, natts of them)
 *   direct_end(d);
 */
#ifndef AEAUTH_DIRECT_H
#define AEAUTH_DIRECT_H

#include "postgres.h"

#include "nodes/execnodes.h"
#include "utils/rel.h"

typedef struct DirectInsert
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
	bool		routed;			/* the caller chose this partition by its bounds */
} DirectInsert;

/*
 * True when a row can be inserted into rel without the full executor: a plain (or partitioned)
 * table with no row or statement INSERT trigger, no row-level security, no generated column,
 * in a transaction that may write (not READ ONLY, not in parallel mode).
 */
extern bool direct_usable(Relation rel);

/*
 * Prepares inserts into rel (opened and locked RowExclusiveLock by the caller) and opens its
 * indexes.  routed: the caller chose rel, a partition, by its partition bounds under a lock on
 * the parent, as tuple routing does; the partition constraint is then not checked again (as
 * for routed rows in ExecInsert).  Otherwise a partition's constraint is checked.
 */
extern DirectInsert *direct_begin(Relation rel, bool routed);

/* Inserts one row: NOT NULL and CHECK constraints, heap tuple, index entries. */
extern void direct_insert(DirectInsert *d, Datum *values, bool *isnull);

/* Closes the indexes and frees the executor state (rel stays open: the caller closes it). */
extern void direct_end(DirectInsert *d);

extern void DirectInit(void);

#endif							/* AEAUTH_DIRECT_H */
