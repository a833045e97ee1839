// The API calls behind bulk changes, each answering `{count, first_ids}`: with
// `dry` what would change, else what did.

import { ApiError, send } from "../api.js";

/// Requeues dead letters: `{ids}`, `{filter}` or `{all: true}`.
export async function requeueDead(selector, dry) {
  const answer = await send("POST", "/v1/dead/requeue", { ...selector, dry_run: dry });
  if (dry) return answer.would_requeue;
  return { count: answer.requeued, first_ids: [] };
}

/// Cancels live jobs of `state`: `{ids}`, `{filter}` or `{all: true}`. The API bounds
/// the work of one request (`more`, `next`); a filter is followed to its end.
export async function cancelJobs(selector, dry, state) {
  const body = selector.ids ? { ids: selector.ids } : { filter: { ...(selector.filter || {}), state } };
  if (dry) {
    const answer = await send("POST", "/v1/jobs/cancel", { ...body, dry_run: true });
    return { ...answer.would_cancel, more: answer.more };
  }
  let count = 0;
  let cursor;
  for (;;) {
    const answer = await send("POST", "/v1/jobs/cancel", cursor ? { ...body, cursor } : body);
    count += answer.cancelled + answer.marked;
    if (!answer.more || !answer.next || selector.ids) return { count, first_ids: [] };
    cursor = answer.next;
  }
}

/// Deletes dead letters one by one; returns how many were deleted (a job gone in the
/// meantime is not an error).
export async function deleteDead(ids) {
  let deleted = 0;
  for (const id of ids) {
    try {
      await send("DELETE", `/v1/dead/${id}`);
      deleted += 1;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
  }
  return deleted;
}
