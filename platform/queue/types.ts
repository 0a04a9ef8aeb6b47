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
	/**
	 * Fair queues: takes rotate over the groups with ready jobs (for example one per client
	 * account), so a big group cannot hold the others back. Empty or absent: the ungrouped
	 * jobs, which form a group of their own and stay in the waiting list Python reads.
	 */
	group?: string;
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
	/** The job's group, or null for an ungrouped job. */
	group: string | null;
	/** The envelope exactly as stored. */
	envelope: string;
}

export interface TakeOptions {
	visibilityMs?: number;
	/** Max attempts of bare payloads (pushed without an envelope). */
	defaultMaxAttempts?: number;
	/** Per-group limits; every consumer of a queue should pass the same ones (see GroupLimits). */
	groupLimits?: GroupLimits;
}

/**
 * Limits that hold for each group of a queue, the ungrouped jobs included (0 or absent = none).
 * They are options of the taker, checked inside the take script against the queue's shared
 * counts, so any number of consumers that pass the same limits keep them together.
 */
export interface GroupLimits {
	/** At most this many jobs of one group in flight at once. */
	maxInFlight?: number;
	/** At most this many takes from one group per `rateWindowMs` (a sliding window). */
	rateMax?: number;
	rateWindowMs?: number;
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
	/** Named groups with ready jobs. */
	groups: number;
	/** The ungrouped jobs first (group ''), then groups in turn order, at most `Stats`' group limit. */
	byGroup: GroupStats[];
}

export interface GroupStats {
	group: string;
	/** Ready to be taken (prioritised ones included). */
	waiting: number;
	/** Null for the ungrouped jobs, which are only counted in the queue's total. */
	inFlight: number | null;
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
