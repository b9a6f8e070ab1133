/*
 * direct.h: inserting rows without SQL, through the executor's simple-relation routines.
 *
 * For hot paths that insert one row of a known shape into a known table, where planning (even
 * of a kept plan), the SPI call and tuple routing cost more than the insert itself.  This is
 * what the logical replication apply worker does (execReplication.c): an EState, one
 * ResultRelInfo, the relation's indexes, NOT NULL and CHECK constraints checked, index entries
 * made (unique ones enforced).  Rows are visible to the next command of the transaction.
 *
 * The executor state of a relation (EState, ResultRelInfo, slot, IndexInfo of each index with
 * its partial-index predicate, CHECK constraint states) is built once per backend and kept
 * (1.7): a few relations per backend, each entry dropped when a relcache invalidation names
 * the relation or one of its indexes (ALTER, DETACH, DROP, CREATE/DROP INDEX, REINDEX) or
 * when the relation's index list no longer matches.  Only the index relations are opened per
 * call (their locks and relcache references belong to the transaction).
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
	Oid			relid;			/* InvalidOid: free slot */
	bool		valid;			/* false once an invalidation named relid or an index */
	bool		in_use;			/* between direct_begin and direct_end (or transaction end) */
	bool		cached;			/* a kept entry (false: a one-off, freed by direct_end) */
	MemoryContext cxt;			/* everything below */
	Relation	rel;			/* this call's relation (the caller's) */
	EState	   *estate;
	ResultRelInfo *rri;			/* ri_IndexRelationDescs filled per call */
	TupleTableSlot *slot;		/* over a copy of the relation's descriptor */
	int			natts;
	int			nindex;
	Oid		   *indexoids;
	bool		routed;			/* the caller chose this partition by its bounds */
} DirectInsert;

/*
 * True when a row can be inserted into rel without the full executor: a plain (or partitioned)
 * table with no row or statement INSERT trigger, no row-level security, no generated column,
 * in a transaction that may write (not READ ONLY, not in parallel mode).
 */
extern bool direct_usable(Relation rel);

/*
 * Prepares an insert into rel (opened and locked RowExclusiveLock by the caller) and opens its
 * indexes.  routed: the caller chose rel, a partition, by its partition bounds under a lock on
 * the parent, as tuple routing does; the partition constraint is then not checked again (as
 * for routed rows in ExecInsert).  Otherwise a partition's constraint is checked.
 */
extern DirectInsert *direct_begin(Relation rel, bool routed);

/* Inserts one row: NOT NULL and CHECK constraints, heap tuple, index entries. */
extern void direct_insert(DirectInsert *d, Datum *values, bool *isnull);

/* Closes the indexes (locks kept until transaction end); rel stays open: the caller closes it. */
extern void direct_end(DirectInsert *d);

extern void DirectInit(void);

#endif							/* AEAUTH_DIRECT_H */
