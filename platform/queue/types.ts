/**
 * The shapes of the at-least-once job queue, shared by the producer (job-queue.ts), the take
 * path (dequeue.ts), the worker (worker.ts) and the script layer (commands.ts).
 *
 * A job is a JSON envelope `{"id","attempt","maxAttempts","backoffMs","enqueuedAt","payload"}`
 * (`priority` too when above 0). Normal jobs wait in the list `queue:<name>` (producers LPUSH,
 * consumers take from the right, so a plain Python `BRPOP queue:<name>` still works, at most
 * once). Taking a job is one Lua script that moves it into flight (a sorted set by visibility
 * deadline plus the envelope in a hash); Complete deletes it, Fail schedules a retry with
 * backoff or dead-letters it, and any later take returns jobs whose deadline passed. Every
 * state change is one script over the keys of one queue it uses, which share a Cluster hash tag.
 */

export const QUEUE_DEFAULTS = {
	maxAttempts: 3,
	backoffMs: 1000,
	maxBackoffMs: 3_600_000,
	visibilityMs: 60_000,
	/** Jobs moved per housekeeping step of one take, so one script never runs long. */
	moveLimit: 500,
	/** Longest single block of a blocking take, so delayed and prioritised jobs are noticed. */
	blockSliceMs: 1000,
	/** How long a result record lives; the same number as RESULT_TTL_MS in platform/scripts/includes/result.lua. */
	resultTtlMs: 86_400_000,
};

/** The same number as MAX_PRIORITY in platform/scripts/includes/priority.lua. */
export const MAX_PRIORITY = 100;

export interface EnqueueInput {
	payload: unknown;
	/** Caller-chosen id: a second enqueue with the same id is refused while the job is live or dead. */
	id?: string;
	delayMs?: number;
	/** Epoch ms; the job does not run before this. */
	runAt?: number;
	/** 0 (normal) to 100; higher runs first. */
	priority?: number;
	maxAttempts?: number;
	/** Base of the exponential retry backoff. */
	backoffMs?: number;
	maxValueBytes?: number;
}

export interface EnqueueResult {
	id: string;
	/** False when the id was a duplicate and nothing was written. */
	enqueued: boolean;
	/** Epoch ms (server clock) from when the job may run. */
	runAt: number | null;
}

export interface Job {
	id: string;
	payload: unknown;
	/** 1 on the first delivery. */
	attempt: number;
	maxAttempts: number;
	/** Epoch ms, or null for a bare payload from a producer that sent no envelope. */
	enqueuedAt: number | null;
	/** Token of this delivery; Complete/Fail with it are refused once another delivery owns the job. */
	lease: string;
	/** Epoch ms (server clock) when the job returns to the queue unless completed or extended. */
	visibleAt: number;
	/** The error of the previous attempt, if any. */
	lastError: string | null;
	/** True when a producer pushed plain JSON without an envelope (the id was generated). */
	bare: boolean;
	/** The envelope exactly as stored. */
	envelope: string;
}

export interface TakeOptions {
	visibilityMs?: number;
	/** Max attempts of bare payloads (pushed without an envelope). */
	defaultMaxAttempts?: number;
}

export type CompleteOutcome = 'done' | 'missing' | 'stale';

/** What a completion stores for waiters (see results.ts); without either field nothing is stored. */
export interface CompleteResult {
	/** Any JSON value (undefined stores null when a TTL is given). */
	result?: unknown;
	/** Lifetime of the record; QUEUE_DEFAULTS.resultTtlMs when only `result` is given. */
	resultTtlMs?: number;
}

export interface FailOptions {
	lease?: string;
	/** Overrides the job's base backoff (ms). */
	backoffMs?: number;
	/** False dead-letters the job now, whatever attempts are left. */
	retry?: boolean;
	maxBackoffMs?: number;
}

export type FailOutcome =
	| { status: 'retry'; attempt: number; runAt: number }
	| { status: 'dead'; attempt: number; failedAt: number }
	| { status: 'missing' | 'stale' };

export interface QueueStats {
	waiting: number;
	prioritized: number;
	delayed: number;
	inFlight: number;
	dead: number;
	/** In flight past their visibility deadline: returned by the next take. */
	stalled: number;
	/** Delayed jobs already due: moved to waiting by the next take. */
	due: number;
	oldestWaitingAgeMs: number | null;
	nextRunAt: number | null;
	now: number;
}

export interface RecoverResult {
	promoted: number;
	recovered: number;
	dead: number;
}

export interface DeadJob {
	id: string;
	error: string;
	attempt: number;
	maxAttempts: number;
	failedAt: number;
	/** The job's envelope, as a JSON string. */
	job: string;
}

export class QueueInputError extends Error {
	constructor(
		readonly field: string,
		message: string,
	) {
		super(message);
		this.name = 'QueueInputError';
	}
}
