/*
 * identity.c: the user that validate_session accepted in this transaction (current_user_id()).
 *
 * It vouches for identity, so it lives in this backend's C memory and not in a GUC (which any
 * role could SET).  It is transaction-local: cleared at commit, abort and prepare.  Inside
 * savepoints it follows the data: an identity set in a subtransaction that is rolled back
 * is forgotten and the one before it is back; one set in a released subtransaction stays.
 * For that it is a small stack of (subtransaction, identity), at most as deep as the nesting.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "aeauth.h"
#include "session_internal.h"

typedef struct IdentityEntry
{
	SubTransactionId subid;		/* the subtransaction that set it */
	bool		valid;			/* false: "nobody" (a failed validation) */
	pg_uuid_t	user_id;
	pg_uuid_t	session_id;
} IdentityEntry;

static IdentityEntry *stack = NULL;
static int	depth = 0;
static int	capacity = 0;

static IdentityEntry *
identity_top_for_write(void)
{
	SubTransactionId cur = GetCurrentSubTransactionId();

	if (depth > 0 && stack[depth - 1].subid == cur)
		return &stack[depth - 1];
	if (depth == capacity)
	{
		int			newcap = capacity ? capacity * 2 : 4;

		if (stack == NULL)
			stack = MemoryContextAlloc(TopMemoryContext, newcap * sizeof(IdentityEntry));
		else
			stack = repalloc(stack, newcap * sizeof(IdentityEntry));
		capacity = newcap;
	}
	stack[depth].subid = cur;
	return &stack[depth++];
}

void
identity_set(const pg_uuid_t *user_id, const pg_uuid_t *session_id)
{
	IdentityEntry *e = identity_top_for_write();

	e->valid = true;
	e->user_id = *user_id;
	e->session_id = *session_id;
}

void
identity_clear(void)
{
	if (depth == 0)
		return;
	identity_top_for_write()->valid = false;
}

/* After logout of the session the identity came from, nobody is logged in any more. */
void
identity_forget_session(const pg_uuid_t *session_id)
{
	if (depth > 0 && stack[depth - 1].valid &&
		memcmp(&stack[depth - 1].session_id, session_id, sizeof(pg_uuid_t)) == 0)
		identity_clear();
}

static void
identity_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			depth = 0;
			break;
		default:
			break;
	}
}

static void
identity_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	if (depth == 0)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		/* Everything set in it or in its children (which have later ids) goes. */
		while (depth > 0 && stack[depth - 1].subid >= mySubid)
			depth--;
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB && stack[depth - 1].subid == mySubid)
	{
		/* Released: the identity now belongs to the parent. */
		if (depth > 1 && stack[depth - 2].subid == parentSubid)
		{
			stack[depth - 2] = stack[depth - 1];
			depth--;
		}
		stack[depth - 1].subid = parentSubid;
	}
}

void
IdentityInit(void)
{
	RegisterXactCallback(identity_xact_callback, NULL);
	RegisterSubXactCallback(identity_subxact_callback, NULL);
}

PG_FUNCTION_INFO_V1(aeauth_current_user_id);

Datum
aeauth_current_user_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *out;

	if (depth == 0 || !stack[depth - 1].valid)
		PG_RETURN_NULL();
	out = palloc(sizeof(pg_uuid_t));
	*out = stack[depth - 1].user_id;
	PG_RETURN_UUID_P(out);
}
