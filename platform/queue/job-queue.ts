import { randomBytes, randomUUID } from 'node:crypto';

import { DEFAULT_MAX_VALUE_BYTES, encodeJson } from './codec';
import type { QueueKeys } from './keys';
import type { ChainableCommander } from './redis-driver';
import { defineComposedScript, defineScript, installScripts, queueScript, runScript, type RedisLike } from './scripts';

/**
 * The at-least-once job queue (n8n-free, so the bench and the reliability tests use it too).
 *
 * A job is a JSON envelope `{"id","payload","attempt","maxAttempts","backoffMs","enqueuedAt"}`.
 * Normal jobs wait in the list `queue:<name>` (producers LPUSH, consumers take from the right,
 * so a plain Python `BRPOP queue:<name>` still works, at most once). Taking a job is one Lua
 * script that moves it into flight (a sorted set by visibility deadline plus the envelope in a
 * hash); Complete deletes it, Fail schedules a retry with backoff or dead-letters it, and any
 * later take returns jobs whose deadline passed. Every state change is one script over the
 * ten keys of one queue, which share a Cluster hash tag.
 */

// Every queue script receives all ten keys, in this order.
const KEY_COUNT = 10;
export const QUEUE_ENQUEUE = defineScript('queueEnqueue', 'queue-enqueue.lua', KEY_COUNT);
export const QUEUE_TAKE = defineScript('queueTake', 'queue-take.lua', KEY_COUNT);
export const QUEUE_COMPLETE = defineScript('queueComplete', 'queue-complete.lua', KEY_COUNT);
export const QUEUE_FAIL = defineScript('queueFail', 'queue-fail.lua', KEY_COUNT);
export const QUEUE_EXTEND = defineScript('queueExtend', 'queue-extend.lua', KEY_COUNT);
export const QUEUE_RELEASE = defineScript('queueRelease', 'queue-release.lua', KEY_COUNT);
export const QUEUE_RETRY_DEAD = defineScript('queueRetryDead', 'queue-retry-dead.lua', KEY_COUNT);
export const QUEUE_PURGE_DEAD = defineScript('queuePurgeDead', 'queue-purge-dead.lua', KEY_COUNT);
export const QUEUE_STATS = defineScript('queueStats', 'queue-stats.lua', KEY_COUNT);
/**
 * Complete then take in one call: the worker's ack of a finished job also fetches its next one,
 * one round trip per job instead of two. Built from the two files unchanged, so the lease check
 * of the ack and the housekeeping and lease of the take are exactly those of the single scripts.
 * ARGV: complete's 2 arguments, then take's 6; reply {completeReply, takeReply}.
 */
export const QUEUE_COMPLETE_TAKE = defineComposedScript(
	'queueCompleteTake',
	[
		{ file: 'queue-complete.lua', argCount: 2 },
		{ file: 'queue-take.lua', argCount: 6 },
	],
	KEY_COUNT,
);

export const QUEUE_DEFAULTS = {
	maxAttempts: 3,
	backoffMs: 1000,
	maxBackoffMs: 3_600_000,
	visibilityMs: 60_000,
	/** Jobs moved per housekeeping step of one take, so one script never runs long. */
	moveLimit: 500,
	/** Longest single block of a blocking take, so delayed and prioritised jobs are noticed. */
	blockSliceMs: 1000,
};

export const MAX_PRIORITY = 100;

export function queueKeyList(keys: QueueKeys): string[] {
	return [keys.waiting, keys.claim, keys.priority, keys.delayed, keys.inflight, keys.jobs, keys.meta, keys.dead, keys.ids, keys.seq];
}

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
	defaultMaxAttempts?: number;
}

export interface TakeEmpty {
	/** Epoch ms of the next delayed job, or null. */
	nextRunAt: number | null;
	now: number;
	promoted: number;
	recovered: number;
	buried: number;
}

export type CompleteOutcome = 'done' | 'missing' | 'stale';

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

function wholeNumber(value: number | undefined, field: string, min: number, max: number, fallback: number): number {
	if (value === undefined) return fallback;
	if (!Number.isInteger(value) || value < min || value > max) {
		throw new QueueInputError(field, `must be a whole number from ${min} to ${max}, got ${String(value)}`);
	}
	return value;
}

export function newJobId(): string {
	return randomUUID();
}

function newLease(): string {
	return randomBytes(9).toString('base64url');
}

/** Validates one job and builds the script arguments; throws QueueInputError before anything is sent. */
export function prepareEnqueue(input: EnqueueInput): { id: string; args: Array<string | number> } {
	const dedup = input.id !== undefined && input.id !== '';
	const id = dedup ? String(input.id) : newJobId();
	const maxAttempts = wholeNumber(input.maxAttempts, 'maxAttempts', 1, 1000, QUEUE_DEFAULTS.maxAttempts);
	const priority = wholeNumber(input.priority, 'priority', 0, MAX_PRIORITY, 0);
	const backoffMs = wholeNumber(input.backoffMs, 'backoffMs', 0, QUEUE_DEFAULTS.maxBackoffMs, QUEUE_DEFAULTS.backoffMs);
	const delayMs = wholeNumber(input.delayMs, 'delayMs', 0, 10 * 365 * 86_400_000, 0);
	const runAt = input.runAt === undefined ? 0 : input.runAt;
	if (!Number.isFinite(runAt) || runAt < 0) throw new QueueInputError('runAt', `must be a time, got ${String(input.runAt)}`);
	if (input.payload === undefined) throw new QueueInputError('payload', 'is empty');
	// `payload` stays last, and the counters the scripts read stay small numbers.
	const envelope: Record<string, unknown> = {
		id,
		attempt: 0,
		maxAttempts,
		backoffMs,
		enqueuedAt: Date.now(),
	};
	if (priority > 0) envelope.priority = priority;
	envelope.payload = input.payload;
	const text = encodeJson(envelope, input.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES);
	return { id, args: [id, text, dedup ? '1' : '0', delayMs, Math.floor(runAt), priority] };
}

export function readEnqueueReply(id: string, reply: unknown): EnqueueResult {
	const [ok, runAt] = reply as [number, number];
	return { id, enqueued: ok === 1, runAt: ok === 1 ? Number(runAt) : null };
}

/** Queues the enqueue of one prepared job on a pipeline (the node pipelines all items). */
export function pipelineEnqueue(pipeline: ChainableCommander, keys: QueueKeys, prepared: { args: Array<string | number> }): void {
	queueScript(pipeline, QUEUE_ENQUEUE, queueKeyList(keys), prepared.args);
}

function parseJob(reply: unknown[]): Job {
	const [, id, envelope, attempt, maxAttempts, lease, deadline, , lastError] = reply as [
		string, string, string, number, number, string, number, number, string,
	];
	let payload: unknown = null;
	let enqueuedAt: number | null = null;
	let bare = false;
	try {
		const parsed = JSON.parse(envelope) as Record<string, unknown>;
		payload = parsed.payload ?? null;
		enqueuedAt = typeof parsed.enqueuedAt === 'number' ? parsed.enqueuedAt : null;
		bare = parsed.source === 'bare';
		// A bare payload's enqueue time is unknown: the wrapper only records when it was taken.
		if (bare) enqueuedAt = null;
	} catch {
		payload = envelope;
	}
	return {
		id,
		payload,
		attempt: Number(attempt),
		maxAttempts: Number(maxAttempts),
		enqueuedAt,
		lease,
		visibleAt: Number(deadline),
		lastError: lastError === '' ? null : lastError,
		bare,
		envelope,
	};
}

function parseEmpty(reply: unknown[]): TakeEmpty {
	const [, next, now, promoted, recovered, buried] = reply as [string, number, number, number, number, number];
	return {
		nextRunAt: Number(next) >= 0 ? Number(next) : null,
		now: Number(now),
		promoted: Number(promoted),
		recovered: Number(recovered),
		buried: Number(buried),
	};
}

/** One queue on one client. The client must not be used for blocking commands elsewhere. */
export class JobQueue {
	private readonly keyList: string[];

	constructor(
		readonly client: RedisLike,
		readonly keys: QueueKeys,
	) {
		this.keyList = queueKeyList(keys);
		installScripts(client);
	}

	/** Enqueues many jobs in one pipeline; results are in input order. */
	async enqueue(inputs: EnqueueInput[]): Promise<EnqueueResult[]> {
		const prepared = inputs.map(prepareEnqueue);
		const results: EnqueueResult[] = [];
		for (let start = 0; start < prepared.length; start += 5000) {
			const chunk = prepared.slice(start, start + 5000);
			const pipeline = this.client.pipeline();
			for (const p of chunk) queueScript(pipeline, QUEUE_ENQUEUE, this.keyList, p.args);
			const replies = ((await pipeline.exec()) ?? []) as Array<[Error | null, unknown]>;
			chunk.forEach((p, i) => {
				const [error, reply] = replies[i] ?? [new Error('Connection is closed.'), null];
				if (error) throw error;
				results.push(readEnqueueReply(p.id, reply));
			});
		}
		return results;
	}

	async enqueueOne(input: EnqueueInput): Promise<EnqueueResult> {
		const prepared = prepareEnqueue(input);
		return readEnqueueReply(prepared.id, await runScript(this.client, QUEUE_ENQUEUE, this.keyList, prepared.args));
	}

	/** Takes the next job without blocking; null (with when to look again) when there is none. */
	async tryTake(options: TakeOptions = {}): Promise<Job | TakeEmpty> {
		const reply = (await runScript(this.client, QUEUE_TAKE, this.keyList, this.takeArgs(options))) as unknown[];
		return reply[0] === 'job' ? parseJob(reply) : parseEmpty(reply);
	}

	/** Takes up to `count` jobs in one pipeline (fewer when the queue runs dry). */
	async takeMany(count: number, options: TakeOptions = {}): Promise<Job[]> {
		if (count <= 0) return [];
		installScripts(this.client);
		const pipeline = this.client.pipeline();
		for (let i = 0; i < count; i++) queueScript(pipeline, QUEUE_TAKE, this.keyList, this.takeArgs(options));
		const replies = ((await pipeline.exec()) ?? []) as Array<[Error | null, unknown]>;
		const jobs: Job[] = [];
		for (const [error, reply] of replies) {
			if (error) throw error;
			if ((reply as unknown[])[0] === 'job') jobs.push(parseJob(reply as unknown[]));
		}
		return jobs;
	}

	private takeArgs(options: TakeOptions): Array<string | number> {
		return [
			'1',
			options.visibilityMs ?? QUEUE_DEFAULTS.visibilityMs,
			newJobId(),
			newLease(),
			options.defaultMaxAttempts ?? QUEUE_DEFAULTS.maxAttempts,
			QUEUE_DEFAULTS.moveLimit,
		];
	}

	async take(options: TakeOptions = {}): Promise<Job | null> {
		const result = await this.tryTake(options);
		return isJob(result) ? result : null;
	}

	/**
	 * Takes the next job, waiting up to `timeoutMs` for one. The wait runs on `blocking`, a
	 * dedicated client: BLMOVE moves the next waiting job into the queue's claim list, and the
	 * take script claims it from there (a crash in between leaves it in the claim list, which
	 * every take drains first). Each block is capped, so delayed and prioritised jobs that
	 * become due meanwhile are not missed. `shouldStop` ends the wait early.
	 */
	async takeBlocking(
		blocking: RedisLike,
		timeoutMs: number,
		options: TakeOptions & { shouldStop?: () => boolean } = {},
	): Promise<Job | null> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const result = await this.tryTake(options);
			if (isJob(result)) return result;
			const left = deadline - Date.now();
			if (left <= 0 || options.shouldStop?.()) return null;
			let slice = Math.min(left, QUEUE_DEFAULTS.blockSliceMs);
			if (result.nextRunAt !== null) slice = Math.min(slice, Math.max(10, result.nextRunAt - result.now));
			await blocking.blmove(this.keys.waiting, this.keys.claim, 'RIGHT', 'LEFT', Math.max(0.01, slice / 1000));
		}
	}

	async complete(id: string, lease = ''): Promise<CompleteOutcome> {
		return (await runScript(this.client, QUEUE_COMPLETE, this.keyList, [id, lease])) as CompleteOutcome;
	}

	/**
	 * Completes a job and takes the next one without blocking, in one script call. The take
	 * happens whatever the ack's outcome ('stale' or 'missing' only mean the finished job is
	 * no longer ours; the next job is unaffected).
	 */
	async completeAndTake(
		id: string,
		lease: string,
		options: TakeOptions = {},
	): Promise<{ outcome: CompleteOutcome; next: Job | TakeEmpty }> {
		const [outcome, reply] = (await runScript(this.client, QUEUE_COMPLETE_TAKE, this.keyList, [
			id,
			lease,
			...this.takeArgs(options),
		])) as [CompleteOutcome, unknown[]];
		return { outcome, next: reply[0] === 'job' ? parseJob(reply) : parseEmpty(reply) };
	}

	async fail(id: string, error: string, options: FailOptions = {}): Promise<FailOutcome> {
		return readFailReply(await runScript(this.client, QUEUE_FAIL, this.keyList, failArgs(id, error, options)));
	}

	/** Pushes a job's visibility deadline out (heartbeat); false when the job is no longer ours. */
	async extend(id: string, lease: string, visibilityMs: number): Promise<boolean> {
		const reply = (await runScript(this.client, QUEUE_EXTEND, this.keyList, [id, lease, visibilityMs])) as unknown[];
		return reply[0] === 'ok';
	}

	/** Returns a job in flight to the head of the queue without counting the attempt. */
	async release(id: string, lease = ''): Promise<CompleteOutcome | 'released'> {
		return (await runScript(this.client, QUEUE_RELEASE, this.keyList, [id, lease])) as 'released';
	}

	async stats(): Promise<QueueStats> {
		return readStatsReply(await runScript(this.client, QUEUE_STATS, this.keyList, []));
	}

	/** Returns expired in-flight jobs and due delayed jobs to waiting, until none are left. */
	async recoverStalled(defaultMaxAttempts = QUEUE_DEFAULTS.maxAttempts): Promise<RecoverResult> {
		const total: RecoverResult = { promoted: 0, recovered: 0, dead: 0 };
		for (;;) {
			const reply = (await runScript(this.client, QUEUE_TAKE, this.keyList, [
				'0', 0, '', '', defaultMaxAttempts, QUEUE_DEFAULTS.moveLimit,
			])) as unknown[];
			const step = parseEmpty(reply);
			total.promoted += step.promoted;
			total.recovered += step.recovered;
			total.dead += step.buried;
			if (step.promoted + step.recovered + step.buried < QUEUE_DEFAULTS.moveLimit) return total;
		}
	}

	/** Moves dead jobs back to the queue: one by id, or up to `limit` oldest. Returns how many moved. */
	async retryDead(options: { id?: string; limit?: number } = {}): Promise<number> {
		if (options.id) return Number(await runScript(this.client, QUEUE_RETRY_DEAD, this.keyList, [1, options.id]));
		const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
		let moved = 0;
		while (moved < limit) {
			const step = Math.min(1000, limit - moved);
			const n = Number(await runScript(this.client, QUEUE_RETRY_DEAD, this.keyList, [step, '']));
			moved += n;
			if (n < step) break;
		}
		return moved;
	}

	/** Deletes dead jobs (all by default). Returns how many were deleted. */
	async purgeDead(limit = Number.MAX_SAFE_INTEGER): Promise<number> {
		let deleted = 0;
		while (deleted < limit) {
			const step = Math.min(1000, limit - deleted);
			const n = Number(await runScript(this.client, QUEUE_PURGE_DEAD, this.keyList, [step]));
			deleted += n;
			if (n < step) break;
		}
		return deleted;
	}

	/** The newest dead jobs (read only). */
	async listDead(count = 100): Promise<DeadJob[]> {
		const entries = await this.client.lrange(this.keys.dead, 0, Math.max(0, count - 1));
		return entries.map((e) => JSON.parse(e) as DeadJob);
	}
}

export function isJob(value: Job | TakeEmpty | null): value is Job {
	return value !== null && 'id' in value;
}

export function failArgs(id: string, error: string, options: FailOptions = {}): Array<string | number> {
	return [
		id,
		options.lease ?? '',
		error.slice(0, 10_000),
		options.backoffMs ?? -1,
		options.retry === false ? '0' : '1',
		options.maxBackoffMs ?? QUEUE_DEFAULTS.maxBackoffMs,
		QUEUE_DEFAULTS.maxAttempts,
		QUEUE_DEFAULTS.backoffMs,
	];
}

export function readFailReply(reply: unknown): FailOutcome {
	const [status, attempt, at] = reply as [string, number, number];
	if (status === 'retry') return { status, attempt: Number(attempt), runAt: Number(at) };
	if (status === 'dead') return { status, attempt: Number(attempt), failedAt: Number(at) };
	return { status: status as 'missing' | 'stale' };
}

export function readStatsReply(reply: unknown): QueueStats {
	const [waiting, prioritized, delayed, inFlight, dead, stalled, due, oldest, now, next] = (reply as number[]).map(Number);
	return {
		waiting,
		prioritized,
		delayed,
		inFlight,
		dead,
		stalled,
		due,
		oldestWaitingAgeMs: oldest >= 0 ? Math.max(0, now - oldest) : null,
		nextRunAt: next >= 0 ? next : null,
		now,
	};
}

/** Per-call wrappers for pipelines (the node's pipelined operations). */
export const queueCommands = {
	complete(pipeline: ChainableCommander, keys: QueueKeys, id: string, lease = ''): void {
		queueScript(pipeline, QUEUE_COMPLETE, queueKeyList(keys), [id, lease]);
	},
	fail(pipeline: ChainableCommander, keys: QueueKeys, id: string, error: string, options: FailOptions = {}): void {
		queueScript(pipeline, QUEUE_FAIL, queueKeyList(keys), failArgs(id, error, options));
	},
	stats(pipeline: ChainableCommander, keys: QueueKeys): void {
		queueScript(pipeline, QUEUE_STATS, queueKeyList(keys), []);
	},
};

// ---------------------------------------------------------------------------------------------
// Worker: the consuming loop shared by the queue-worker trigger, the crash test and the bench.

/**
 * Resolves when the job's work succeeded and rejects when it failed. It resolves with a
 * `HandBack` when the work never started (its consumer could not take it): the job then goes
 * back to the head of its queue untouched and the delivery is not counted as an attempt, so a
 * consumer-side fault can neither dead-letter nor lose it.
 */
export type JobHandler = (job: Job) => Promise<void | HandBack>;

export interface HandBack {
	handBack: string;
}

/** What became of a job after its handler: acked, failed, or handed back. */
export type SettledOutcome = CompleteOutcome | FailOutcome | 'released';

export interface WorkerOptions {
	/** Jobs handled at the same time. */
	concurrency?: number;
	visibilityMs?: number;
	/** Max attempts of bare payloads (pushed without an envelope). */
	defaultMaxAttempts?: number;
	/** Extend the deadline of running jobs every visibility/3 (on by default). */
	heartbeat?: boolean;
	/** Called with each error of the loop (it keeps retrying with backoff). */
	onError?: (error: Error) => void;
	/** Called once when Redis stayed unreachable this long; the worker then stops. */
	giveUpAfterMs?: number;
	onGiveUp?: (error: Error) => void;
	/** Outcome of each job after its ack or fail, for metrics and tests. */
	onSettled?: (job: Job, outcome: SettledOutcome) => void;
	/** Error text stored with a failed job, from the handler's rejection. */
	describeError?: (error: unknown) => string;
}

/**
 * Takes jobs with at most `concurrency` running, calls the handler for each, completes the job
 * when the handler resolves and fails it (retry, then dead letter) when it rejects. Non-blocking
 * takes run on `queue.client`; waits for new jobs run on the dedicated `blocking` client.
 * While a job runs its deadline is extended, so only a worker that stops (crash, kill, n8n
 * shutdown) lets the job return after its visibility timeout.
 */
export class QueueWorker {
	private running = false;

	private loopDone: Promise<void> = Promise.resolve();

	private readonly active = new Map<string, Job>();

	private slotFreed: (() => void) | undefined;

	private heartbeatTimer: ReturnType<typeof setInterval> | undefined;

	private readonly concurrency: number;

	private readonly visibilityMs: number;

	constructor(
		private readonly queue: JobQueue,
		private readonly blocking: RedisLike,
		private readonly handler: JobHandler,
		private readonly options: WorkerOptions = {},
	) {
		this.concurrency = Math.max(1, options.concurrency ?? 1);
		this.visibilityMs = options.visibilityMs ?? QUEUE_DEFAULTS.visibilityMs;
	}

	get activeCount(): number {
		return this.active.size;
	}

	get isRunning(): boolean {
		return this.running;
	}

	start(): void {
		if (this.running) return;
		this.running = true;
		if (this.options.heartbeat !== false) {
			const every = Math.max(50, Math.floor(this.visibilityMs / 3));
			this.heartbeatTimer = setInterval(() => void this.beat(), every);
			this.heartbeatTimer.unref?.();
		}
		this.loopDone = this.loop();
	}

	/**
	 * Stops taking jobs and ends the wait on the blocking client (the caller releases it).
	 * Jobs already running keep their heartbeat and are acked when they finish, unless
	 * `abandon` is set: then they are left in flight and return after their visibility timeout
	 * (what a crash does; used by the crash test).
	 */
	async stop(options: { abandon?: boolean } = {}): Promise<void> {
		this.running = false;
		this.slotFreed?.();
		if (options.abandon) {
			this.active.clear();
			this.stopHeartbeat();
		}
		// Interrupt a BLMOVE in progress; the caller releases (closes) the client afterwards.
		this.blocking.disconnect();
		await this.loopDone;
		if (this.active.size === 0) this.stopHeartbeat();
	}

	/** Resolves when no job is running (after stop(), to wait for a graceful drain). */
	async idle(timeoutMs: number): Promise<boolean> {
		const until = Date.now() + timeoutMs;
		while (this.active.size > 0 && Date.now() < until) await delay(20);
		return this.active.size === 0;
	}

	private async loop(): Promise<void> {
		let failingSince: number | undefined;
		let backoff = 100;
		while (this.running) {
			if (this.active.size >= this.concurrency) {
				await new Promise<void>((resolve) => (this.slotFreed = resolve));
				this.slotFreed = undefined;
				continue;
			}
			try {
				const job = await this.queue.takeBlocking(this.blocking, QUEUE_DEFAULTS.blockSliceMs, {
					visibilityMs: this.visibilityMs,
					defaultMaxAttempts: this.options.defaultMaxAttempts,
					shouldStop: () => !this.running,
				});
				failingSince = undefined;
				backoff = 100;
				if (!job) continue;
				if (!this.running) {
					// Stopped while the take was on its way: hand the job straight back.
					await this.queue.release(job.id, job.lease).catch(() => undefined);
					continue;
				}
				this.active.set(job.id, job);
				void this.run(job);
			} catch (error) {
				if (!this.running) break;
				const err = error instanceof Error ? error : new Error(String(error));
				this.options.onError?.(err);
				failingSince ??= Date.now();
				const giveUp = this.options.giveUpAfterMs;
				if (giveUp !== undefined && Date.now() - failingSince >= giveUp) {
					this.running = false;
					this.options.onGiveUp?.(err);
					break;
				}
				await delay(backoff);
				backoff = Math.min(backoff * 2, 5000);
			}
		}
	}

	/** Runs a job in a slot; while each ack also fetches a next job, the slot keeps running them. */
	private async run(first: Job): Promise<void> {
		let job: Job | undefined = first;
		while (job) job = await this.runOne(job);
	}

	/** Runs and settles one job; returns the next job when the ack took one for this slot. */
	private async runOne(job: Job): Promise<Job | undefined> {
		let outcome: SettledOutcome | undefined;
		let next: Job | undefined;
		let kept = false;
		try {
			let failure: unknown;
			let failed = false;
			let handBack: HandBack | void = undefined;
			try {
				handBack = await this.handler(job);
			} catch (error) {
				failed = true;
				failure = error;
			}
			// An abandoned job (stop with abandon) is not ours to settle any more.
			if (!this.active.has(job.id)) return undefined;
			if (handBack) {
				outcome = await this.queue.release(job.id, job.lease);
			} else if (failed) {
				outcome = await this.queue.fail(job.id, this.describe(failure), { lease: job.lease });
			} else if (this.running) {
				// One round trip: the ack also takes the next job (non-blocking; an empty queue
				// frees the slot and the loop's blocking wait takes over).
				const settled = await this.queue.completeAndTake(job.id, job.lease, {
					visibilityMs: this.visibilityMs,
					defaultMaxAttempts: this.options.defaultMaxAttempts,
				});
				outcome = settled.outcome;
				if (isJob(settled.next)) next = settled.next;
			} else {
				outcome = await this.queue.complete(job.id, job.lease);
			}
		} catch (error) {
			// The ack could not reach Redis: the job returns after its visibility timeout.
			this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
		} finally {
			if (this.active.get(job.id) === job) this.active.delete(job.id);
			// The slot passes straight to the next job (so the heartbeat covers it at once),
			// unless the worker stopped meanwhile.
			kept = next !== undefined && this.running;
			if (kept && next) this.active.set(next.id, next);
			else this.slotFreed?.();
			if (!this.running && this.active.size === 0) this.stopHeartbeat();
		}
		if (outcome !== undefined) this.options.onSettled?.(job, outcome);
		if (next && !kept) {
			// Stopped while the ack was on its way: hand the job straight back, as the loop does.
			await this.queue.release(next.id, next.lease).catch(() => undefined);
			return undefined;
		}
		return kept ? next : undefined;
	}

	private describe(error: unknown): string {
		if (this.options.describeError) return this.options.describeError(error);
		return error instanceof Error ? error.message : String(error);
	}

	private async beat(): Promise<void> {
		const jobs = [...this.active.values()];
		if (jobs.length === 0) return;
		try {
			installScripts(this.queue.client);
			const pipeline = this.queue.client.pipeline();
			const keyList = queueKeyList(this.queue.keys);
			for (const job of jobs) queueScript(pipeline, QUEUE_EXTEND, keyList, [job.id, job.lease, this.visibilityMs]);
			await pipeline.exec();
		} catch (error) {
			this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
		}
	}

	private stopHeartbeat(): void {
		if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
		this.heartbeatTimer = undefined;
	}
}

function delay(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// Bench entry point.

export interface QueueThroughputOptions {
	/** Client for enqueue and the workers' takes/acks (shared, non-blocking). */
	client: RedisLike;
	/** Creates one dedicated client per worker; each is closed by the caller via `close`. */
	createClient: () => RedisLike;
	close: (client: RedisLike) => Promise<void>;
	keys: QueueKeys;
	jobs: number;
	workers: number;
	payload?: unknown;
}

export interface QueueThroughput {
	jobs: number;
	workers: number;
	enqueuePerSec: number;
	dequeuePerSec: number;
	ackPerSec: number;
	/** Take + ack together, through QueueWorker (the trigger's path). */
	workerPerSec: number;
}

/**
 * Measures the queue on an empty queue `keys` (which it leaves empty): enqueue of `jobs` in one
 * pipelined batch; dequeue of all of them by `workers` concurrent takers (no ack); ack of all
 * of them by the same takers; then a full enqueue -> QueueWorker(take, handle, ack) run.
 */
export async function measureQueueThroughput(options: QueueThroughputOptions): Promise<QueueThroughput> {
	const { client, keys, jobs, workers } = options;
	const queue = new JobQueue(client, keys);
	const payload = options.payload ?? { campaign_id: 1, type: 'blog' };
	const inputs = Array.from({ length: jobs }, () => ({ payload }));
	const rate = (n: number, ms: number) => Math.round((n * 1000) / Math.max(1, ms));

	let t = Date.now();
	await queue.enqueue(inputs);
	const enqueuePerSec = rate(jobs, Date.now() - t);

	// Each taker uses its own connection, as separate workers would.
	const takerClients = Array.from({ length: workers }, () => options.createClient());
	const takers = takerClients.map((c) => new JobQueue(c, keys));
	const taken: Job[][] = takers.map(() => []);
	t = Date.now();
	await Promise.all(
		takers.map(async (q, i) => {
			for (;;) {
				const job = await q.take({ visibilityMs: 600_000 });
				if (!job) return;
				taken[i].push(job);
			}
		}),
	);
	const dequeueMs = Date.now() - t;
	const dequeued = taken.reduce((n, list) => n + list.length, 0);
	t = Date.now();
	await Promise.all(takers.map(async (q, i) => {
		for (const job of taken[i]) await q.complete(job.id, job.lease);
	}));
	const ackPerSec = rate(dequeued, Date.now() - t);

	await queue.enqueue(inputs);
	let done = 0;
	let finished: () => void = () => undefined;
	const allDone = new Promise<void>((resolve) => (finished = resolve));
	const blockers = Array.from({ length: workers }, () => options.createClient());
	const pool = takers.map(
		(q, i) =>
			new QueueWorker(q, blockers[i], async () => undefined, {
				visibilityMs: 600_000,
				heartbeat: false,
				onSettled: () => {
					done += 1;
					if (done === jobs) finished();
				},
			}),
	);
	t = Date.now();
	pool.forEach((w) => w.start());
	await allDone;
	const workerPerSec = rate(jobs, Date.now() - t);
	await Promise.all(pool.map((w) => w.stop()));
	await Promise.all([...takerClients, ...blockers].map((c) => options.close(c)));
	return { jobs, workers, enqueuePerSec, dequeuePerSec: rate(dequeued, dequeueMs), ackPerSec, workerPerSec };
}
