/**
 * 4b. Fair queues (Enqueue's Group): what rotating over groups costs, and what it buys.
 *    - throughput: the queue suite's four figures with the jobs spread over 100 groups, next to
 *      the same run without groups, so the price of the group path shows as a ratio;
 *    - fairness: a group of N jobs enqueued first, then two groups of 10: how many takes it
 *      needs until every job of the two small groups is taken (round robin: at most 30; first
 *      in, first out across everyone would need N + 20).
 */
import { randomBytes } from 'node:crypto';

import { KeySchema } from '../../platform/keys';
import { JobQueue } from '../../platform/queue';
import type { Redis } from '../../platform/redis-driver';
import { measureQueueThroughput, type QueueThroughput } from '../lib/queue-throughput';
import type { Section } from '../lib/report';
import type { BenchServer } from '../lib/server';
import { fmtRate, fmtRatio, median, ratio } from '../lib/stats';
import { deletePattern } from './queue';

const QUEUE_DB = 3;
const GROUPS = 100;

export interface FairQueueFigures {
	workers: number;
	plain: QueueThroughput;
	grouped: QueueThroughput;
	bigGroup: number;
	/** Takes until the last job of the two small groups was taken. */
	takesForSmallGroups: number;
}

const cleanup = (raw: Redis, name: string): Promise<void> => deletePattern(raw, `*${name}*`);

async function throughput(server: BenchServer, jobs: number, workers: number, grouped: boolean): Promise<QueueThroughput> {
	const name = `bench_fair_${randomBytes(4).toString('hex')}`;
	const client = server.raw(QUEUE_DB);
	try {
		return await measureQueueThroughput({
			client,
			createClient: () => server.raw(QUEUE_DB),
			close: async (c) => void (await c.quit().catch(() => c.disconnect())),
			keys: new KeySchema('').queue(name),
			jobs,
			workers,
			group: grouped ? (n) => `account_${n % GROUPS}` : undefined,
		});
	} finally {
		await cleanup(client, name);
		await client.quit();
	}
}

async function fairness(server: BenchServer, big: number): Promise<number> {
	const name = `bench_fair_${randomBytes(4).toString('hex')}`;
	const client = server.raw(QUEUE_DB);
	try {
		const queue = new JobQueue(client, new KeySchema('').queue(name));
		await queue.enqueue(Array.from({ length: big }, (_, n) => ({ payload: n, group: 'A' })));
		await queue.enqueue(['B', 'C'].flatMap((group) => Array.from({ length: 10 }, (_, n) => ({ payload: n, group }))));
		let small = 0;
		for (let takes = 1; ; takes++) {
			const [job] = (await queue.dequeue()).jobs;
			if (!job) throw new Error('the fair queue ran dry before the small groups were taken');
			if (job.group !== 'A') small += 1;
			if (small === 20) return takes;
		}
	} finally {
		await cleanup(client, name);
		await client.quit();
	}
}

function medianOf(list: QueueThroughput[]): QueueThroughput {
	const pick = (f: (t: QueueThroughput) => number) => median(list.map(f));
	return {
		jobs: list[0].jobs,
		workers: list[0].workers,
		enqueuePerSec: pick((t) => t.enqueuePerSec),
		dequeuePerSec: pick((t) => t.dequeuePerSec),
		ackPerSec: pick((t) => t.ackPerSec),
		workerPerSec: pick((t) => t.workerPerSec),
	};
}

export async function runFairQueueSuite(
	server: BenchServer,
	options: { jobs: number; repeats: number; workers: number[]; log: (line: string) => void },
): Promise<FairQueueFigures[]> {
	const out: FairQueueFigures[] = [];
	const takesForSmallGroups = await fairness(server, options.jobs);
	for (const workers of options.workers) {
		const plain: QueueThroughput[] = [];
		const grouped: QueueThroughput[] = [];
		for (let r = 0; r < options.repeats; r++) {
			plain.push(await throughput(server, options.jobs, workers, false));
			grouped.push(await throughput(server, options.jobs, workers, true));
		}
		const figures = { workers, plain: medianOf(plain), grouped: medianOf(grouped), bigGroup: options.jobs, takesForSmallGroups };
		out.push(figures);
		options.log(
			`  fair queue, ${workers} worker(s): grouped worker ${fmtRate(figures.grouped.workerPerSec)}/s vs plain ${fmtRate(figures.plain.workerPerSec)}/s`,
		);
	}
	return out;
}

export function fairQueueSection(figures: FairQueueFigures[], jobs: number): Section {
	const rows: string[][] = [];
	for (const f of figures) {
		const row = (label: string, t: QueueThroughput) => [label, String(f.workers), fmtRate(t.enqueuePerSec), fmtRate(t.dequeuePerSec), fmtRate(t.ackPerSec), fmtRate(t.workerPerSec)];
		rows.push(row('no groups', f.plain), row(`${GROUPS} groups`, f.grouped));
		rows.push([
			'**groups / none**',
			String(f.workers),
			fmtRatio(ratio(f.grouped.enqueuePerSec, f.plain.enqueuePerSec)),
			fmtRatio(ratio(f.grouped.dequeuePerSec, f.plain.dequeuePerSec)),
			fmtRatio(ratio(f.grouped.ackPerSec, f.plain.ackPerSec)),
			fmtRatio(ratio(f.grouped.workerPerSec, f.plain.workerPerSec)),
		]);
	}
	const takes = figures[0]?.takesForSmallGroups;
	return {
		title: '4b. Fair queues (jobs/s)',
		intro: `${jobs.toLocaleString('en-US')} jobs per measurement, median of the runs, measured as in section 4, with every job in one of ${GROUPS} groups (Enqueue's Group) against the same run without groups.`,
		head: ['Jobs', 'Workers', 'Enqueue', 'Dequeue', 'Ack', 'Worker (take+handle+ack)'],
		rows,
		notes: [
			`Fairness: a group of ${jobs.toLocaleString('en-US')} jobs enqueued first, then two groups of 10: every job of the two small groups was taken within the first ${takes ?? '?'} takes (round robin allows 30; first in, first out across everyone would take ${(jobs + 20).toLocaleString('en-US')}).`,
		],
	};
}
