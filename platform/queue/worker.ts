import type { RedisLike } from '../scripts';
import { sleep } from '../timing';
import { sendExtend } from './commands';
import type { JobQueue } from './job-queue';
import { QUEUE_DEFAULTS, type CompleteOutcome, type CompleteResult, type FailOutcome, type GroupLimits, type Job } from './types';

/**
 * The consuming loop shared by the queue-worker trigger, the crash test and the bench.
 *
 * Resolves when the job's work succeeded and rejects when it failed. It resolves with a
 * `HandBack` when the work never started (its consumer could not take it): the job then goes
 * back to the head of its queue untouched and the delivery is not counted as an attempt, so a
 * consumer-side fault can neither dead-letter nor lose it.
 */
export type JobHandler = (job: Job) => Promise<void | HandBack | JobDone>;

export interface HandBack {
	handBack: string;
}

/** A handler's result, stored for waiters by the script that completes the job. */
export type JobDone = CompleteResult & { handBack?: undefined };

/** What became of a job after its handler: acked, failed, or handed back. */
export type SettledOutcome = CompleteOutcome | FailOutcome | 'released';

export interface WorkerOptions {
	/** Jobs handled at the same time. */
	concurrency?: number;
	visibilityMs?: number;
	/** Max attempts of bare payloads (pushed without an envelope). */
	defaultMaxAttempts?: number;
	/** Per-group limits of every take (fair queues). */
	groupLimits?: GroupLimits;
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

function asError(error: unknown): Error {
	return error instanceof Error ? error : new Error(String(error));
}

/**
 * Takes jobs with at most `concurrency` running, calls the handler for each, completes the job
 * when the handler resolves and fails it (retry, then dead letter) when it rejects. Takes and
 * acks run on `queue.client`; waits for new jobs run on the dedicated `blocking` client.
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
		while (this.active.size > 0 && Date.now() < until) await sleep(20);
		return this.active.size === 0;
	}

	private takeOptions() {
		return { visibilityMs: this.visibilityMs, defaultMaxAttempts: this.options.defaultMaxAttempts, groupLimits: this.options.groupLimits };
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
				const {
					jobs: [job],
				} = await this.queue.dequeue({
					...this.takeOptions(),
					timeoutMs: QUEUE_DEFAULTS.blockSliceMs,
					blocking: this.blocking,
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
				const err = asError(error);
				this.options.onError?.(err);
				failingSince ??= Date.now();
				const giveUp = this.options.giveUpAfterMs;
				if (giveUp !== undefined && Date.now() - failingSince >= giveUp) {
					this.running = false;
					this.options.onGiveUp?.(err);
					break;
				}
				await sleep(backoff);
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
			let handBack: HandBack | undefined;
			let done: CompleteResult = {};
			try {
				const returned = await this.handler(job);
				if (returned?.handBack !== undefined) handBack = returned as HandBack;
				else if (returned) done = returned as JobDone;
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
				// One round trip: the ack also takes the next job (without waiting; an empty
				// queue frees the slot and the loop's blocking wait takes over).
				const settled = await this.queue.dequeue({ ...this.takeOptions(), completing: { id: job.id, lease: job.lease, ...done } });
				outcome = settled.completed;
				next = settled.jobs[0];
			} else {
				outcome = await this.queue.complete(job.id, job.lease, done);
			}
		} catch (error) {
			// The ack could not reach Redis: the job returns after its visibility timeout.
			this.options.onError?.(asError(error));
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
			const pipeline = this.queue.client.pipeline();
			for (const job of jobs) sendExtend(pipeline, this.queue.keys, job.id, job.lease, this.visibilityMs);
			await pipeline.exec();
		} catch (error) {
			this.options.onError?.(asError(error));
		}
	}

	private stopHeartbeat(): void {
		if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
		this.heartbeatTimer = undefined;
	}
}
