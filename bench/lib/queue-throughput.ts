import { JobQueue, QueueWorker, type Job } from '../../platform/queue';
import type { QueueKeys } from '../../platform/keys';
import type { RedisLike } from '../../platform/scripts';

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
	/** The group of job n (a fair queue); none by default. */
	group?: (n: number) => string;
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
 * Measures our queue on an empty queue `keys` (which it leaves empty): enqueue of `jobs` in
 * one batch; dequeue of all of them by `workers` concurrent takers (no ack); ack of all of
 * them by the same takers; then a full enqueue -> QueueWorker(take, handle, ack) run.
 */
export async function measureQueueThroughput(options: QueueThroughputOptions): Promise<QueueThroughput> {
	const { client, keys, jobs, workers } = options;
	const queue = new JobQueue(client, keys);
	const payload = options.payload ?? { campaign_id: 1, type: 'blog' };
	const inputs = Array.from({ length: jobs }, (_, n) => ({ payload, group: options.group?.(n) }));
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
				const { jobs: [job] } = await q.dequeue({ visibilityMs: 600_000 });
				if (!job) return;
				taken[i].push(job);
			}
		}),
	);
	const dequeueMs = Date.now() - t;
	const dequeued = taken.reduce((n, list) => n + list.length, 0);
	t = Date.now();
	await Promise.all(
		takers.map(async (q, i) => {
			for (const job of taken[i]) await q.complete(job.id, job.lease);
		}),
	);
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
