/*
 * direct.c: one-row inserts through the executor's simple-relation routines (see direct.h).
 *
 * Modelled on the logical replication apply worker (replication/logical/worker.c,
 * create_edata_for_relation and apply_handle_insert_internal) and on ExecSimpleRelationInsert
 * (executor/execReplication.c), which this follows step by step except for the partition
 * constraint of a routed row, skipped exactly when ExecInsert skips it for routed rows.
 */
#include "postgres.h"

#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "storage/lockdefs.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "direct.h"

/*
 * CHECK constraints, read and planned once per relation and backend.  The executor reads each
 * one from its stored text (stringToNode) and runs the planner's constant folding over it
 * every time it sets up an insert: per row here, since every call is its own statement.
 * Entries are dropped by the relcache callback (adding or dropping a constraint sends an
 * invalidation for its relation).  An entry is built in a context of its own that is put in
 * its slot only when complete (building reads the catalogs, which can run the callback), and
 * each insert uses a copy made in its EState (copying reads no catalog), so the callback may
 * free an entry at any time.
 */
typedef struct DirectChecks
{
	Oid			relid;			/* InvalidOid: free slot */
	MemoryContext cxt;
	int			ncheck;
	Expr	  **exprs;
} DirectChecks;

#define DIRECT_NCHECKS 8
static DirectChecks direct_checks[DIRECT_NCHECKS];
static int	direct_next_checks = 0;

static void
direct_forget(DirectChecks *c)
{
	if (c->cxt)
		MemoryContextDelete(c->cxt);
	c->cxt = NULL;
	c->relid = InvalidOid;
}

static void
direct_relcache_callback(Datum arg, Oid relid)
{
	for (int i = 0; i < DIRECT_NCHECKS; i++)
		if (OidIsValid(direct_checks[i].relid) &&
			(!OidIsValid(relid) || direct_checks[i].relid == relid))
			direct_forget(&direct_checks[i]);
}

void
DirectInit(void)
{
	CacheRegisterRelcacheCallback(direct_relcache_callback, (Datum) 0);
}

/*
 * Expression states for the CHECK constraints of rel, in the order of rel->rd_att->constr->check
 * (what ExecRelCheck would build), allocated in the current memory context.
 */
static ExprState **
direct_check_states(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	TupleConstr *constr = rel->rd_att->constr;
	DirectChecks *c = NULL;
	ExprState **states;
	Expr	  **copies;
	int			i;

	for (i = 0; i < DIRECT_NCHECKS; i++)
		if (direct_checks[i].relid == relid && direct_checks[i].ncheck == constr->num_check)
			c = &direct_checks[i];
	if (c == NULL)
	{
		MemoryContext cxt = AllocSetContextCreate(CacheMemoryContext, "aeauth direct checks",
												  ALLOCSET_SMALL_SIZES);
		MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
		Expr	  **exprs = palloc(constr->num_check * sizeof(Expr *));

		/* What ExecRelCheck does for each one: stringToNode, then ExecPrepareExpr's planning. */
		for (i = 0; i < constr->num_check; i++)
			exprs[i] = expression_planner(stringToNode(constr->check[i].ccbin));
		MemoryContextSwitchTo(oldcxt);

		c = &direct_checks[direct_next_checks];
		direct_next_checks = (direct_next_checks + 1) % DIRECT_NCHECKS;
		direct_forget(c);
		c->cxt = cxt;
		c->ncheck = constr->num_check;
		c->exprs = exprs;
		c->relid = relid;
	}
	copies = palloc(constr->num_check * sizeof(Expr *));
	for (i = 0; i < constr->num_check; i++)
		copies[i] = copyObject(c->exprs[i]);
	/* From here on the cache entry is not used: ExecInitExpr may read the catalogs. */
	states = palloc(constr->num_check * sizeof(ExprState *));
	for (i = 0; i < constr->num_check; i++)
		states[i] = ExecInitExpr(copies[i], NULL);
	return states;
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

DirectInsert *
direct_begin(Relation rel, bool routed)
{
	DirectInsert *d = palloc0(sizeof(DirectInsert));
	RangeTblEntry *rte;
	MemoryContext oldcxt;

	d->rel = rel;
	d->routed = routed;
	d->estate = CreateExecutorState();

	/* Everything below lives as long as the EState (freed by direct_end). */
	oldcxt = MemoryContextSwitchTo(d->estate->es_query_cxt);

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
	d->estate->es_output_cid = GetCurrentCommandId(true);
	ExecOpenIndices(d->rri, false);
	/*
	 * Partial indexes: ExecInsertIndexTuples plans each predicate again (ExecPrepareQual) unless
	 * its state is set.  The relcache's copy (RelationGetIndexPredicate, in ii_Predicate) has
	 * been through eval_const_expressions and fix_opfuncids already: only the state is built.
	 */
	for (int i = 0; i < d->rri->ri_NumIndices; i++)
	{
		IndexInfo  *ii = d->rri->ri_IndexRelationInfo[i];

		if (ii->ii_Predicate != NIL && ii->ii_PredicateState == NULL)
			ii->ii_PredicateState = ExecInitQual(ii->ii_Predicate, NULL);
	}
	/* ExecConstraints uses ri_ConstraintExprs when set; set it from the planned cache. */
	if (rel->rd_att->constr && rel->rd_att->constr->num_check > 0)
		d->rri->ri_ConstraintExprs = direct_check_states(rel);
	d->slot = ExecInitExtraTupleSlot(d->estate, RelationGetDescr(rel), &TTSOpsVirtual);

	MemoryContextSwitchTo(oldcxt);
	return d;
}

void
direct_insert(DirectInsert *d, Datum *values, bool *isnull)
{
	TupleTableSlot *slot = d->slot;
	int			natts = RelationGetDescr(d->rel)->natts;
	List	   *recheck;

	ExecClearTuple(slot);
	memcpy(slot->tts_values, values, natts * sizeof(Datum));
	memcpy(slot->tts_isnull, isnull, natts * sizeof(bool));
	ExecStoreVirtualTuple(slot);

	/* As ExecSimpleRelationInsert: constraints, then the heap tuple, then index entries. */
	if (d->rel->rd_att->constr)
		ExecConstraints(d->rri, slot, d->estate);
	if (d->rel->rd_rel->relispartition && !d->routed)
		ExecPartitionCheck(d->rri, slot, d->estate, true);

	simple_table_tuple_insert(d->rel, slot);
	if (d->rri->ri_NumIndices > 0)
	{
		recheck = ExecInsertIndexTuples(d->rri, slot, d->estate, false, false, NULL, NIL);
		list_free(recheck);
	}
}

void
direct_end(DirectInsert *d)
{
	ExecCloseIndices(d->rri);
	ExecResetTupleTable(d->estate->es_tupleTable, false);
	FreeExecutorState(d->estate);
	pfree(d);
	/* Like SPI after a statement: what was inserted is visible to the next command. */
	CommandCounterIncrement();
}
