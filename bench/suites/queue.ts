/**
 * 4. Queue throughput, ours (platform/queue/: Lua per state change, visibility timeout,
 *    at-least-once) against BullMQ (Lua per state change, locks and stalled-job checks,
 *    at-least-once) on the same server, in the same run, with 1 and 4 workers:
 *    - enqueue: N jobs through each library's batch API (our pipelined enqueue, BullMQ addBulk);
 *    - dequeue: N jobs taken without acknowledging (ours: dequeue; BullMQ: Worker.getNextJob);
 *    - ack: those N jobs completed (ours: complete; BullMQ: moveToCompleted, removeOnComplete);
 *    - worker: N jobs through each library's worker loop with a no-op handler, take+handle+ack.
 *    Each worker has its own connection(s). Completed jobs are deleted by both.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Queue, Worker, type Job as BullJob } from 'bullmq';

import { KeySchema } from '../../platform/keys';
import type { Redis } from '../../platform/redis-driver';
import { measureQueueThroughput } from '../lib/queue-throughput';
import type { BenchServer } from '../lib/server';
import { fmtRate, fmtRatio, median, nowMs, ratio } from '../lib/stats';
import type { Section } from '../lib/report';

const QUEUE_DB = 3;
const PAYLOAD = { campaign_id: 1, type: 'blog', topic: 'AI marketing trends' };

export interface QueueFigures {
	system: 'ours' | 'BullMQ';
	workers: number;
	enqueue: number;
	dequeue: number;
	ack: number;
	worker: number;
}

export async function deletePattern(raw: Redis, pattern: string): Promise<void> {
	let cursor = '0';
	do {
		const [next, found] = await raw.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
		cursor = next;
		if (found.length > 0) await raw.unlink(...found);
	} while (cursor !== '0');
}

async function oursOnce(server: BenchServer, jobs: number, workers: number): Promise<QueueFigures> {
	const name = `bench_q_${randomBytes(4).toString('hex')}`;
	const keys = new KeySchema('').queue(name);
	const client = server.raw(QUEUE_DB);
	try {
		const r = await measureQueueThroughput({
			client,
			createClient: () => server.raw(QUEUE_DB),
			close: async (c) => void (await c.quit().catch(() => c.disconnect())),
			keys,
			jobs,
			workers,
			payload: PAYLOAD,
		});
		const left = await client.llen(keys.waiting);
		if (left !== 0) throw new Error(`our queue left ${left} jobs waiting`);
		return { system: 'ours', workers, enqueue: r.enqueuePerSec, dequeue: r.dequeuePerSec, ack: r.ackPerSec, worker: r.workerPerSec };
	} finally {
		await deletePattern(client, `*${name}*`);
		await client.quit();
	}
}

async function bullOnce(server: BenchServer, jobs: number, workers: number): Promise<QueueFigures> {
	const name = `bench_bull_${randomBytes(4).toString('hex')}`;
	const connection = {
		host: server.host,
		port: server.port,
		username: server.username,
		password: server.password,
		db: QUEUE_DB,
		maxRetriesPerRequest: null,
	};
	const queue = new Queue(name, { connection, defaultJobOptions: { removeOnComplete: true } });
	await queue.waitUntilReady();
	const bulk = Array.from({ length: jobs }, () => ({ name: 'job', data: PAYLOAD, opts: { removeOnComplete: true } }));
	const rate = (n: number, ms: number) => (n * 1000) / Math.max(ms, 1e-3);
	const closers: Array<() => Promise<void>> = [() => queue.close()];
	try {
		let t = nowMs();
		await queue.addBulk(bulk);
		const enqueue = rate(jobs, nowMs() - t);

		const takers = Array.from({ length: workers }, () => new Worker(name, null, { connection, autorun: false }));
		for (const w of takers) closers.push(() => w.close());
		await Promise.all(takers.map((w) => w.waitUntilReady()));
		const taken: Array<Array<{ job: BullJob; token: string }>> = takers.map(() => []);
		t = nowMs();
		await Promise.all(
			takers.map(async (w, i) => {
				const token = randomUUID();
				for (;;) {
					const job = await w.getNextJob(token, { block: false });
					if (!job) return;
					taken[i].push({ job, token });
				}
			}),
		);
		const dequeueMs = nowMs() - t;
		const dequeued = taken.reduce((n, list) => n + list.length, 0);
		if (dequeued !== jobs) throw new Error(`BullMQ dequeued ${dequeued} of ${jobs}`);
		t = nowMs();
		await Promise.all(taken.map(async (list) => {
			for (const { job, token } of list) await job.moveToCompleted('ok', token, false);
		}));
		const ack = rate(dequeued, nowMs() - t);

		await queue.addBulk(bulk);
		let done = 0;
		let finished: () => void = () => undefined;
		const allDone = new Promise<void>((resolve) => (finished = resolve));
		t = nowMs();
		const pool = Array.from({ length: workers }, () => {
			const w = new Worker(name, async () => 'ok', { connection, concurrency: 1 });
			w.on('completed', () => {
				done += 1;
				if (done === jobs) finished();
			});
			return w;
		});
		for (const w of pool) closers.push(() => w.close());
		await allDone;
		const worker = rate(jobs, nowMs() - t);
		return { system: 'BullMQ', workers, enqueue, dequeue: rate(dequeued, dequeueMs), ack, worker };
	} finally {
		for (const close of closers.reverse()) await close().catch(() => undefined);
		await queue.obliterate({ force: true }).catch(() => undefined);
		const raw = server.raw(QUEUE_DB);
		await deletePattern(raw, `bull:${name}:*`);
		await raw.quit();
	}
}

function medianFigures(list: QueueFigures[]): QueueFigures {
	return {
		system: list[0].system,
		workers: list[0].workers,
		enqueue: median(list.map((f) => f.enqueue)),
		dequeue: median(list.map((f) => f.dequeue)),
		ack: median(list.map((f) => f.ack)),
		worker: median(list.map((f) => f.worker)),
	};
}

/**
 * BullMQ warns on every connection that the server's eviction policy is not "noeviction". Our
 * redis.conf uses volatile-lru on purpose (only keys with a TTL are evicted; neither queue sets
 * TTLs), so the warning is noted once in the report instead of flooding the console.
 */
export function quietBullWarnings(): () => void {
	const original = console.warn;
	console.warn = (...args: unknown[]) => {
		if (typeof args[0] === 'string' && args[0].startsWith('IMPORTANT! Eviction policy')) return;
		original(...args);
	};
	return () => {
		console.warn = original;
	};
}

export async function runQueueSuite(
	server: BenchServer,
	options: { jobs: number; repeats: number; workers: number[]; log: (line: string) => void },
): Promise<QueueFigures[]> {
	const restore = quietBullWarnings();
	try {
		return await runQueueRounds(server, options);
	} finally {
		restore();
	}
}

async function runQueueRounds(
	server: BenchServer,
	options: { jobs: number; repeats: number; workers: number[]; log: (line: string) => void },
): Promise<QueueFigures[]> {
	const out: QueueFigures[] = [];
	for (const workers of options.workers) {
		const ours: QueueFigures[] = [];
		const bull: QueueFigures[] = [];
		// Interleaved, so that both see the same machine load.
		for (let r = 0; r < options.repeats; r++) {
			ours.push(await oursOnce(server, options.jobs, workers));
			bull.push(await bullOnce(server, options.jobs, workers));
		}
		const o = medianFigures(ours);
		const b = medianFigures(bull);
		out.push(o, b);
		options.log(`  queue, ${workers} worker(s): ours worker ${fmtRate(o.worker)}/s vs BullMQ ${fmtRate(b.worker)}/s`);
	}
	return out;
}

export function queueSection(figures: QueueFigures[], jobs: number): Section {
	const rows: string[][] = [];
	for (const f of figures) {
		rows.push([f.system, String(f.workers), fmtRate(f.enqueue), fmtRate(f.dequeue), fmtRate(f.ack), fmtRate(f.worker)]);
		if (f.system === 'BullMQ') {
			const o = figures.find((x) => x.system === 'ours' && x.workers === f.workers);
			if (o) {
				rows.push([
					'**ours / BullMQ**',
					String(f.workers),
					fmtRatio(ratio(o.enqueue, f.enqueue)),
					fmtRatio(ratio(o.dequeue, f.dequeue)),
					fmtRatio(ratio(o.ack, f.ack)),
					fmtRatio(ratio(o.worker, f.worker)),
				]);
			}
		}
	}
	return {
		title: '4. Queue throughput (jobs/s)',
		intro: `${jobs.toLocaleString('en-US')} jobs per measurement, median of the runs. Enqueue uses each library's batch API (our pipelined enqueue, BullMQ \`addBulk\`); dequeue takes every job without acknowledging (ours \`take\`, BullMQ \`Worker.getNextJob\`); ack completes them (ours \`complete\`, BullMQ \`moveToCompleted\`); "worker" runs each library's own worker loop (our \`QueueWorker\`, the one the queue trigger uses; BullMQ \`Worker\`, concurrency 1 each) with a no-op handler. Both are at-least-once: a job taken and not acknowledged returns after a timeout (ours: visibility timeout; BullMQ: stalled-job check).`,
		head: ['System', 'Workers', 'Enqueue', 'Dequeue', 'Ack', 'Worker (take+handle+ack)'],
		rows,
		notes: [
			'All workers run in the bench process, on a 2-core machine that also runs redis-server, so more workers mostly add contention here; on separate machines they would add throughput.',
			'BullMQ warns that the eviction policy should be "noeviction"; our redis.conf uses volatile-lru, which evicts only keys with a TTL, and neither queue gives its keys a TTL.',
		],
	};
}
