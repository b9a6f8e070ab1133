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
#include "parser/parsetree.h"
#include "storage/lockdefs.h"
#include "utils/rel.h"

#include "direct.h"

bool
direct_usable(Relation rel)
{
	TriggerDesc *trig = rel->trigdesc;
	TupleConstr *constr = rel->rd_att->constr;

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
