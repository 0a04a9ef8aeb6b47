import { jobResultKey, type QueueKeys } from '../keys';
import type { ResultWaiter } from '../result-wait';
import type { RedisLike } from '../scripts';

/**
 * Job results: the record the settling script writes to `{queue:<name>}:result:<id>` (with a
 * TTL, and PUBLISHed on a channel of that name). Complete writes
 * `{"id","status":"completed","result","completedAt"}`; a job that goes dead (Fail with no
 * attempts left, or a visibility timeout on its last attempt) gets
 * `{"id","status":"dead","error","attempt","failedAt"}`. A job with no record yet is pending:
 * waiting, delayed, in flight, retrying, or completed without a result.
 */

export type JobResult =
	| { id: string; status: 'completed'; result: unknown; completedAt: number }
	| { id: string; status: 'dead'; error: string; attempt: number; failedAt: number }
	| { id: string; status: 'pending' };

export function parseJobResult(id: string, text: string | null): JobResult {
	if (text === null) return { id, status: 'pending' };
	const record = JSON.parse(text) as Record<string, unknown>;
	if (record.status === 'dead') {
		return { id, status: 'dead', error: String(record.error ?? ''), attempt: Number(record.attempt), failedAt: Number(record.failedAt) };
	}
	return { id, status: 'completed', result: record.result ?? null, completedAt: Number(record.completedAt) };
}

/** The job's result now, without waiting. */
export async function readJobResult(client: RedisLike, keys: QueueKeys, id: string): Promise<JobResult> {
	return parseJobResult(id, await client.get(jobResultKey(keys, id)));
}

/** Waits up to `timeoutMs` for the job's record; `timedOut` with a pending result when none came. */
export async function waitForJobResult(
	waiter: ResultWaiter,
	keys: QueueKeys,
	id: string,
	timeoutMs: number,
): Promise<{ result: JobResult; timedOut: boolean }> {
	const outcome = await waiter.wait(jobResultKey(keys, id), timeoutMs, () => true);
	return { result: parseJobResult(id, outcome.value), timedOut: outcome.timedOut };
}
