import { execChunked } from '../cluster-pipeline';
import type { QueueKeys } from '../keys';
import type { RedisLike } from '../scripts';
import {
	parseComplete,
	parseCount,
	parseEnqueue,
	parseExtend,
	parseFail,
	parseRecover,
	parseRelease,
	parseStats,
	prepareEnqueue,
	sendComplete,
	sendEnqueue,
	sendExtend,
	sendFail,
	sendPurgeDead,
	sendRecover,
	sendRelease,
	sendRetryDead,
	sendStats,
} from './commands';
import { dequeue, type DequeueOptions, type Dequeued } from './dequeue';
import {
	QUEUE_DEFAULTS,
	type CompleteOutcome,
	type CompleteResult,
	type DeadJob,
	type EnqueueInput,
	type EnqueueResult,
	type FailOptions,
	type FailOutcome,
	type QueueStats,
	type RecoverResult,
} from './types';

/** Dead jobs moved or deleted per script call, so one call never runs long. */
const DEAD_STEP = 1000;

/**
 * One queue on one client (n8n-free, so the bench and the reliability tests use it too): the
 * producer's operations, the settling of taken jobs, and the dead-letter operations. Taking
 * jobs is `dequeue` (dequeue.ts); the consuming loop is QueueWorker (worker.ts). The client
 * must come from platform/redis-client.ts (the pool's do), which gives it the scripts, and
 * must not be used for blocking commands elsewhere.
 */
export class JobQueue {
	constructor(
		readonly client: RedisLike,
		readonly keys: QueueKeys,
	) {}

	/** Enqueues many jobs, pipelined; results are in input order. Nothing is sent when one input is invalid. */
	async enqueue(inputs: EnqueueInput[]): Promise<EnqueueResult[]> {
		const jobs = inputs.map(prepareEnqueue);
		const replies = await execChunked(
			this.client,
			jobs.map((job) => ({ send: (pipeline) => void sendEnqueue(pipeline, this.keys, job) })),
		);
		return jobs.map((job, i) => {
			const [error, reply] = replies[i][0];
			if (error) throw error;
			return parseEnqueue(job.id, reply);
		});
	}

	/** Takes up to `max` jobs, waiting up to `timeoutMs` for the first (see dequeue.ts). */
	dequeue(options: DequeueOptions = {}): Promise<Dequeued> {
		return dequeue(this.client, this.keys, options);
	}

	/** Acknowledges a job; with a result (or a result TTL) its result record is written in the same script. */
	async complete(id: string, lease = '', done: CompleteResult = {}): Promise<CompleteOutcome> {
		return parseComplete(await sendComplete(this.client, this.keys, id, lease, done));
	}

	async fail(id: string, error: string, options: FailOptions = {}): Promise<FailOutcome> {
		return parseFail(await sendFail(this.client, this.keys, id, error, options));
	}

	/** Pushes a job's visibility deadline out (heartbeat); false when the job is no longer ours. */
	async extend(id: string, lease: string, visibilityMs: number): Promise<boolean> {
		return parseExtend(await sendExtend(this.client, this.keys, id, lease, visibilityMs));
	}

	/** Returns a job in flight to the head of the queue without counting the attempt. */
	async release(id: string, lease = ''): Promise<CompleteOutcome | 'released'> {
		return parseRelease(await sendRelease(this.client, this.keys, id, lease));
	}

	/** Counts, with up to `maxGroups` groups listed one by one. */
	async stats(maxGroups?: number): Promise<QueueStats> {
		return parseStats(await sendStats(this.client, this.keys, maxGroups));
	}

	/** Returns expired in-flight jobs and due delayed jobs to waiting, until none are left. */
	async recoverStalled(defaultMaxAttempts = QUEUE_DEFAULTS.maxAttempts): Promise<RecoverResult> {
		const total: RecoverResult = { promoted: 0, recovered: 0, dead: 0 };
		for (;;) {
			const step = parseRecover(await sendRecover(this.client, this.keys, defaultMaxAttempts));
			total.promoted += step.promoted;
			total.recovered += step.recovered;
			total.dead += step.dead;
			if (step.promoted + step.recovered + step.dead < QUEUE_DEFAULTS.moveLimit) return total;
		}
	}

	/** Moves dead jobs back to the queue: one by id, or up to `limit` oldest. Returns how many moved. */
	async retryDead(options: { id?: string; limit?: number } = {}): Promise<number> {
		if (options.id) return parseCount(await sendRetryDead(this.client, this.keys, 1, options.id));
		return this.inSteps(options.limit, async (step) => parseCount(await sendRetryDead(this.client, this.keys, step)));
	}

	/** Deletes dead jobs (all by default). Returns how many were deleted. */
	async purgeDead(limit?: number): Promise<number> {
		return this.inSteps(limit, async (step) => parseCount(await sendPurgeDead(this.client, this.keys, step)));
	}

	/** The newest dead jobs (read only). */
	async listDead(count = 100): Promise<DeadJob[]> {
		const entries = await this.client.lrange(this.keys.dead, 0, Math.max(0, count - 1));
		return entries.map((e) => JSON.parse(e) as DeadJob);
	}

	private async inSteps(limit = Number.MAX_SAFE_INTEGER, run: (step: number) => Promise<number>): Promise<number> {
		let done = 0;
		while (done < limit) {
			const step = Math.min(DEAD_STEP, limit - done);
			const n = await run(step);
			done += n;
			if (n < step) break;
		}
		return done;
	}
}
