import type { KeySchema } from './keys';
import type { ResultWaiter } from './result-wait';
import type { RedisLike } from './scripts';

/**
 * Celery task results as its Redis result backend stores them: `celery-task-meta-<task id>`
 * (in the backend's DB, with Celery's `result_expires` TTL), JSON with `status`, `result`,
 * `traceback`, `date_done`, `task_id`, ..., and the same JSON PUBLISHed on a channel named
 * like the key each time the state is stored. An exception is stored as
 * `{"exc_type", "exc_message": [args], "exc_module"}`. No key means PENDING, as in Celery:
 * unknown, or not run yet.
 * https://docs.celeryq.dev/en/stable/userguide/tasks.html#built-in-states
 */

/** Celery's READY_STATES: the task will not change state again. */
export const CELERY_READY_STATES: readonly string[] = ['SUCCESS', 'FAILURE', 'REVOKED'];

/** States whose `result` is an exception. */
const EXCEPTION_STATES = new Set(['FAILURE', 'RETRY', 'REVOKED']);

export interface CeleryResult {
	taskId: string;
	/** PENDING, STARTED, RETRY, SUCCESS, FAILURE or REVOKED (or a custom state a task set). */
	status: string;
	/** The task's return value on SUCCESS (null otherwise, and for an exception state). */
	result: unknown;
	/** For FAILURE, RETRY and REVOKED: the exception's class name and message. */
	errorType?: string;
	errorMessage?: string;
	traceback: string | null;
	/** ISO time the state was stored, or null for PENDING. */
	dateDone: string | null;
}

function exceptionMessage(message: unknown): string {
	if (Array.isArray(message)) {
		if (message.length === 1 && typeof message[0] === 'string') return message[0];
		return message.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(', ');
	}
	return typeof message === 'string' ? message : JSON.stringify(message ?? '');
}

export function parseCeleryMeta(taskId: string, text: string | null): CeleryResult {
	if (text === null) return { taskId, status: 'PENDING', result: null, traceback: null, dateDone: null };
	const meta = JSON.parse(text) as Record<string, unknown>;
	const status = String(meta.status ?? 'PENDING');
	const out: CeleryResult = {
		taskId,
		status,
		result: meta.result ?? null,
		traceback: typeof meta.traceback === 'string' ? meta.traceback : null,
		dateDone: typeof meta.date_done === 'string' ? meta.date_done : null,
	};
	const exc = meta.result as Record<string, unknown> | null;
	if (EXCEPTION_STATES.has(status) && exc && typeof exc === 'object' && 'exc_type' in exc) {
		out.errorType = String(exc.exc_type);
		out.errorMessage = exceptionMessage(exc.exc_message);
		out.result = null;
	}
	return out;
}

/** The task's state now (PENDING when the backend has no record). */
export async function readCeleryResult(client: RedisLike, keys: KeySchema, taskId: string): Promise<CeleryResult> {
	return parseCeleryMeta(taskId, await client.get(keys.celeryResult(taskId)));
}

/** Waits up to `timeoutMs` for a ready state; on timeout the last state seen, with `timedOut`. */
export async function waitForCeleryResult(
	waiter: ResultWaiter,
	keys: KeySchema,
	taskId: string,
	timeoutMs: number,
): Promise<{ result: CeleryResult; timedOut: boolean }> {
	const ready = (text: string) => CELERY_READY_STATES.includes(parseCeleryMeta(taskId, text).status);
	const outcome = await waiter.wait(keys.celeryResult(taskId), timeoutMs, ready);
	return { result: parseCeleryMeta(taskId, outcome.value), timedOut: outcome.timedOut };
}
