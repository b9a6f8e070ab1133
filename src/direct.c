/*
 * direct.c: one-row inserts through the executor's simple-relation routines (see direct.h).
 *
 * Modelled on the logical replication apply worker (replication/logical/worker.c,
 * create_edata_for_relation and apply_handle_insert_internal) and on ExecSimpleRelationInsert
 * (executor/execReplication.c), which this follows step by step except for the partition
 * constraint of a routed row, skipped exactly when ExecInsert skips it for routed rows.
 *
 * The executor state of a relation is kept per backend (1.7).  Setting it up per call (EState,
 * range table, ResultRelInfo, BuildIndexInfo of every index, partial-index predicates and CHECK
 * constraints read from their stored text and planned) cost about as much as the rest of
 * log_user_event's own work.  What is kept depends only on the relation's definition, which
 * cannot change while the caller holds RowExclusiveLock on it, and every change of it between
 * calls (ALTER TABLE, CREATE or DROP INDEX, REINDEX, DETACH, DROP) sends a relcache
 * invalidation naming the relation or one of its indexes: the callback marks the entry stale,
 * and the next direct_begin (after the caller's lock, which processes invalidations) builds it
 * again.  The callback only marks: it may run in the middle of a build or an insert (catalog
 * reads process invalidations), so entries are freed only by direct_begin.  As a second guard
 * each call compares the relation's index list (kept by the relcache) and column count with the
 * entry's, and each index's indisready with its IndexInfo.
 *
 * Per call only the indexes are opened (their locks and relcache references belong to the
 * transaction) and closed again by direct_end.  An insert that fails leaves the entry in use
 * until the transaction ends (the transaction callback frees it: it may be half-done).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "storage/lockdefs.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "direct.h"

#define DIRECT_NCACHE 8
static DirectInsert direct_cache[DIRECT_NCACHE];
static int	direct_next = 0;

static void
direct_free(DirectInsert *d)
{
	if (d->estate)
	{
		ExecResetTupleTable(d->estate->es_tupleTable, false);
		FreeExecutorState(d->estate);
	}
	if (d->cxt)
		MemoryContextDelete(d->cxt);
	d->estate = NULL;
	d->cxt = NULL;
	d->rri = NULL;
	d->slot = NULL;
	d->indexoids = NULL;
	d->nindex = 0;
	d->relid = InvalidOid;
	d->valid = false;
	d->in_use = false;
}

static void
direct_relcache_callback(Datum arg, Oid relid)
{
	for (int i = 0; i < DIRECT_NCACHE; i++)
	{
		DirectInsert *d = &direct_cache[i];

		if (!OidIsValid(d->relid))
			continue;
		if (!OidIsValid(relid) || d->relid == relid)
			d->valid = false;
		else
			for (int j = 0; j < d->nindex; j++)
				if (d->indexoids[j] == relid)
					d->valid = false;
	}
}

/*
 * At transaction end no entry is in use any more: the relcache has closed what an insert that
 * failed left open.  Such an entry may be half-built or half-used: it goes.
 */
static void
direct_xact_callback(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_ABORT && event != XACT_EVENT_PARALLEL_ABORT &&
		event != XACT_EVENT_COMMIT && event != XACT_EVENT_PARALLEL_COMMIT &&
		event != XACT_EVENT_PREPARE)
		return;
	for (int i = 0; i < DIRECT_NCACHE; i++)
		if (direct_cache[i].in_use)
			direct_free(&direct_cache[i]);
}

void
DirectInit(void)
{
	CacheRegisterRelcacheCallback(direct_relcache_callback, (Datum) 0);
	RegisterXactCallback(direct_xact_callback, NULL);
}

bool
direct_usable(Relation rel)
{
	TriggerDesc *trig = rel->trigdesc;
	TupleConstr *constr = rel->rd_att->constr;

	/* The executor refuses these (ExecCheckXactReadOnly, parallel mode): let it say so. */
	if (XactReadOnly || IsInParallelMode())
		return false;
	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		return false;
	if (trig && (trig->trig_insert_before_row || trig->trig_insert_after_row ||
				 trig->trig_insert_instead_row || trig->trig_insert_before_statement ||
				 trig->trig_insert_after_statement || trig->trig_insert_new_table))
		return false;
	if (rel->rd_rel->relrowsecurity)
		return false;
	if (constr && constr->has_generated_stored)
		return false;
	return true;
}

/*
 * Builds the executor state of rel into d (empty), in a context of its own under
 * CacheMemoryContext, and leaves rel's indexes open for this call.  What ExecOpenIndices,
 * ExecRelCheck and ExecInsertIndexTuples would set up on first use is set up here.
 */
static void
direct_build(DirectInsert *d, Relation rel)
{
	MemoryContext oldcxt;
	RangeTblEntry *rte;
	TupleConstr *constr = rel->rd_att->constr;

	d->cxt = AllocSetContextCreate(CacheMemoryContext, "aeauth direct insert",
								   ALLOCSET_DEFAULT_SIZES);
	d->relid = RelationGetRelid(rel);
	d->valid = true;			/* from here on the callback may clear it */
	oldcxt = MemoryContextSwitchTo(d->cxt);

	d->estate = CreateExecutorState();
	MemoryContextSwitchTo(d->estate->es_query_cxt);

	/* A range table of one entry: ExecConstraints reports failing rows through it. */
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(rel);
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	rte->requiredPerms = ACL_INSERT;
	ExecInitRangeTable(d->estate, list_make1(rte));

	d->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(d->rri, rel, 1, NULL, 0);
	ExecOpenIndices(d->rri, false);
	d->nindex = d->rri->ri_NumIndices;
	d->indexoids = palloc(Max(d->nindex, 1) * sizeof(Oid));
	for (int i = 0; i < d->nindex; i++)
	{
		IndexInfo  *ii = d->rri->ri_IndexRelationInfo[i];

		d->indexoids[i] = RelationGetRelid(d->rri->ri_IndexRelationDescs[i]);
		/*
		 * Partial indexes: ExecInsertIndexTuples plans each predicate (ExecPrepareQual) unless
		 * its state is set.  The relcache's copy (ii_Predicate) has been through
		 * eval_const_expressions and fix_opfuncids already: only the state is built.
		 */
		if (ii->ii_Predicate != NIL && ii->ii_PredicateState == NULL)
			ii->ii_PredicateState = ExecInitQual(ii->ii_Predicate, NULL);
	}
	/* What ExecRelCheck builds on first use: stringToNode, ExecPrepareExpr's planning. */
	if (constr && constr->num_check > 0)
	{
		ExprState **states = palloc(constr->num_check * sizeof(ExprState *));

		for (int i = 0; i < constr->num_check; i++)
			states[i] = ExecInitExpr(expression_planner(stringToNode(constr->check[i].ccbin)),
									 NULL);
		d->rri->ri_ConstraintExprs = states;
	}
	/* A copy of the descriptor: the relcache's own is reference-counted per transaction. */
	d->natts = RelationGetDescr(rel)->natts;
	d->slot = ExecInitExtraTupleSlot(d->estate, CreateTupleDescCopy(RelationGetDescr(rel)),
									 &TTSOpsVirtual);
	MemoryContextSwitchTo(oldcxt);
}

/* True when d, a kept entry of rel, still describes rel; opens its indexes for this call. */
static bool
direct_reopen(DirectInsert *d, Relation rel)
{
	List	   *indexes;
	ListCell   *lc;
	int			i = 0;
	bool		same = true;

	if (!d->valid || d->natts != RelationGetDescr(rel)->natts)
		return false;
	indexes = RelationGetIndexList(rel);
	if (list_length(indexes) != d->nindex)
		same = false;
	else
		foreach(lc, indexes)
			if (lfirst_oid(lc) != d->indexoids[i++])
				same = false;
	list_free(indexes);
	if (!same)
		return false;

	for (i = 0; i < d->nindex; i++)
	{
		Relation	idx = index_open(d->indexoids[i], RowExclusiveLock);

		d->rri->ri_IndexRelationDescs[i] = idx;
		/* CREATE INDEX CONCURRENTLY: the index takes inserts from its "ready" step on. */
		if (idx->rd_index->indisready != d->rri->ri_IndexRelationInfo[i]->ii_ReadyForInserts)
			same = false;
	}
	if (!same || !d->valid)
	{
		for (i = 0; i < d->nindex; i++)
		{
			index_close(d->rri->ri_IndexRelationDescs[i], NoLock);
			d->rri->ri_IndexRelationDescs[i] = NULL;
		}
		return false;
	}
	return true;
}

DirectInsert *
direct_begin(Relation rel, bool routed)
{
	Oid			relid = RelationGetRelid(rel);
	DirectInsert *d = NULL;

	for (int i = 0; i < DIRECT_NCACHE; i++)
		if (direct_cache[i].relid == relid && !direct_cache[i].in_use)
		{
			d = &direct_cache[i];
			if (!direct_reopen(d, rel))
			{
				direct_free(d);
				direct_build(d, rel);
			}
			break;
		}
	if (d == NULL)
	{
		/* A free slot, or the next one round (never one in use: an insert nested in an insert). */
		for (int n = 0; n < DIRECT_NCACHE && d == NULL; n++)
		{
			DirectInsert *c = &direct_cache[direct_next];

			direct_next = (direct_next + 1) % DIRECT_NCACHE;
			if (!c->in_use)
				d = c;
		}
		if (d != NULL)
		{
			direct_free(d);
			d->cached = true;
		}
		else
		{
			d = MemoryContextAllocZero(CurrentMemoryContext, sizeof(DirectInsert));
			d->cached = false;
		}
		direct_build(d, rel);
	}

	d->in_use = true;
	d->rel = rel;
	d->routed = routed;
	d->rri->ri_RelationDesc = rel;
	d->estate->es_output_cid = GetCurrentCommandId(true);
	return d;
}

void
direct_insert(DirectInsert *d, Datum *values, bool *isnull)
{
	TupleTableSlot *slot = d->slot;
	List	   *recheck;

	ExecClearTuple(slot);
	memcpy(slot->tts_values, values, d->natts * sizeof(Datum));
	memcpy(slot->tts_isnull, isnull, d->natts * sizeof(bool));
	ExecStoreVirtualTuple(slot);

	/* As ExecSimpleRelationInsert: constraints, then the heap tuple, then index entries. */
	if (d->rel->rd_att->constr)
		ExecConstraints(d->rri, slot, d->estate);
	if (d->rel->rd_rel->relispartition && !d->routed)
		ExecPartitionCheck(d->rri, slot, d->estate, true);

	simple_table_tuple_insert(d->rel, slot);
	if (d->nindex > 0)
	{
		recheck = ExecInsertIndexTuples(d->rri, slot, d->estate, false, false, NULL, NIL);
		list_free(recheck);
	}
	/* What the executor does per row: the index datums were made in the per-tuple context. */
	ResetPerTupleExprContext(d->estate);
}

void
direct_end(DirectInsert *d)
{
	for (int i = 0; i < d->nindex; i++)
	{
		index_close(d->rri->ri_IndexRelationDescs[i], NoLock);
		d->rri->ri_IndexRelationDescs[i] = NULL;
	}
	ExecClearTuple(d->slot);
	d->rel = NULL;
	d->rri->ri_RelationDesc = NULL;
	d->in_use = false;
	if (!d->cached)
	{
		direct_free(d);
		pfree(d);
	}
	/* Like SPI after a statement: what was inserted is visible to the next command. */
	CommandCounterIncrement();
}
