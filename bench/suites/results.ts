/**
 * 4c. Request and reply: the latency from enqueueing one job to having its result back, ours
 *    (JobQueue.enqueue, the worker loop behind the queue trigger completing with a result,
 *    the ResultWaiter behind Enqueue's Wait for Result: SUBSCRIBE, then the record) against
 *    BullMQ (`queue.add`, a `Worker` returning the value, `job.waitUntilFinished(queueEvents)`),
 *    on the same server, one job at a time, interleaved in rounds.
 */
import { randomBytes } from 'node:crypto';
import { Queue, QueueEvents, Worker } from 'bullmq';

import { KeySchema } from '../../platform/keys';
import { JobQueue, QueueWorker, waitForJobResult } from '../../platform/queue';
import { ResultWaiter } from '../../platform/result-wait';
import type { BenchServer } from '../lib/server';
import { fmtMs, nowMs, percentileSorted } from '../lib/stats';
import type { Section } from '../lib/report';
import { quietBullWarnings } from './queue';

const QUEUE_DB = 3;
const PAYLOAD = { campaign_id: 1, topic: 'AI marketing trends' };

export interface RoundTrip {
	system: 'ours' | 'BullMQ';
	jobs: number;
	p50: number;
	p99: number;
	max: number;
}

function summary(system: RoundTrip['system'], samples: number[]): RoundTrip {
	const sorted = [...samples].sort((a, b) => a - b);
	return { system, jobs: sorted.length, p50: percentileSorted(sorted, 50), p99: percentileSorted(sorted, 99), max: sorted[sorted.length - 1] };
}

interface Side {
	samples: number[];
	run(n: number): Promise<void>;
	close(): Promise<void>;
}

/** A side whose `roundTrip` is timed `n` times in a row per run. */
function side(roundTrip: () => Promise<void>, close: () => Promise<void>): Side {
	const samples: number[] = [];
	return {
		samples,
		async run(n: number) {
			for (let i = 0; i < n; i++) {
				const t = nowMs();
				await roundTrip();
				samples.push(nowMs() - t);
			}
		},
		close,
	};
}

async function oursSide(server: BenchServer, log: (line: string) => void): Promise<Side> {
	const keys = new KeySchema('').queue(`bench_rr_${randomBytes(4).toString('hex')}`);
	const client = server.raw(QUEUE_DB);
	const blocking = server.raw(QUEUE_DB);
	const queue = new JobQueue(client, keys);
	const worker = new QueueWorker(queue, blocking, async (job) => ({ result: job.payload }), { onError: (e) => log(`  ours: ${e.message}`) });
	const waiter = new ResultWaiter({ reader: client, openSubscriber: () => server.raw(QUEUE_DB), release: async (c) => void (await c.quit()) });
	worker.start();
	return side(
		async () => {
			const [{ id }] = await queue.enqueue([{ payload: PAYLOAD }]);
			const { result } = await waitForJobResult(waiter, keys, id, 10_000);
			if (result.status !== 'completed') throw new Error(`our job ${id} ended ${result.status}`);
		},
		async () => {
			await worker.stop();
			await waiter.close();
			await blocking.quit().catch(() => undefined);
			const left = await client.keys(`{${keys.waiting}}:*`);
			if (left.length > 0) await client.unlink(...left);
			await client.quit();
		},
	);
}

async function bullSide(server: BenchServer): Promise<Side> {
	const name = `bench_rr_bull_${randomBytes(4).toString('hex')}`;
	const connection = { host: server.host, port: server.port, username: server.username, password: server.password, db: QUEUE_DB, maxRetriesPerRequest: null };
	const queue = new Queue(name, { connection, defaultJobOptions: { removeOnComplete: 1000 } });
	const events = new QueueEvents(name, { connection });
	const worker = new Worker(name, async (job) => job.data as unknown, { connection, concurrency: 1 });
	await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
	return side(
		async () => {
			const job = await queue.add('job', PAYLOAD);
			await job.waitUntilFinished(events, 10_000);
		},
		async () => {
			await worker.close();
			await events.close();
			await queue.obliterate({ force: true }).catch(() => undefined);
			await queue.close();
		},
	);
}

/** `jobs` round trips per system, in rounds of `round` alternating between the two. */
export async function runResultSuite(server: BenchServer, options: { jobs: number; round: number; log: (line: string) => void }): Promise<RoundTrip[]> {
	const restore = quietBullWarnings();
	const a = await oursSide(server, options.log);
	const b = await bullSide(server);
	try {
		// Warm-up: connections, scripts, JIT.
		await a.run(10);
		await b.run(10);
		a.samples.length = 0;
		b.samples.length = 0;
		for (let done = 0; done < options.jobs; done += options.round) {
			const n = Math.min(options.round, options.jobs - done);
			await a.run(n);
			await b.run(n);
		}
	} finally {
		await a.close();
		await b.close();
		restore();
	}
	return [summary('ours', a.samples), summary('BullMQ', b.samples)];
}

export function resultSection(figures: RoundTrip[]): Section {
	return {
		title: '4c. Request and reply: enqueue to result (ms)',
		intro:
			'One job at a time: enqueue, a worker in the same process takes it and returns its payload as the result, the producer waits for that result. Ours: `JobQueue.enqueue`, `QueueWorker` (the queue trigger\'s loop) completing with a result, and the `ResultWaiter` of Enqueue\'s Wait for Result (one SUBSCRIBE connection, then a read of the record). BullMQ: `queue.add`, a `Worker`, `job.waitUntilFinished(queueEvents)`. Interleaved rounds on the same server.',
		head: ['System', 'Jobs', 'p50', 'p99', 'max'],
		rows: figures.map((f) => [f.system, f.jobs.toLocaleString('en-US'), fmtMs(f.p50), fmtMs(f.p99), fmtMs(f.max)]),
		notes: ['The worker waits for jobs with a blocking call on its own connection in both systems, so neither side polls.'],
	};
}
