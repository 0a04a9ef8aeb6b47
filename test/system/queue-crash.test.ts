/**
 * Crash test: 10,000 jobs, worked by QueueWorkers (the trigger's loop) that are killed at random
 * mid-job, then replaced. A kill does what a crashed process does: both of the worker's
 * connections drop at once and its running jobs are never acked. Every job must be worked at
 * least once (lost = 0), and a job may only be worked twice if it was in flight in a killed
 * worker (duplicates <= crashed in-flight jobs). The same test runs again on a fair queue: the
 * jobs spread over groups (one big, many small) and taken under a per-group in-flight limit.
 */
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { JobQueue, QueueWorker, type EnqueueInput, type GroupLimits } from '../../platform/queue';
import type { RedisLike } from '../../platform/scripts';
import { closeRawClients, deleteKeys, rawClient, testConfig, uniquePrefix } from '../helpers/redis';

const JOBS = 10_000;
const WORKERS = 6;
const PARALLEL = 4;
const KILLS = 10;
// Long enough that a busy CI machine never lets a live worker's job time out (heartbeat every 1 s).
const VISIBILITY_MS = 3000;

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

interface LiveWorker {
	worker: QueueWorker;
	clients: RedisLike[];
}

interface Variant {
	label: string;
	group?: (n: number) => string;
	groupLimits?: GroupLimits;
}

async function crashTest({ label, group, groupLimits }: Variant): Promise<void> {
	const config = testConfig();
	const prefix = uniquePrefix('crash');
	const keys = new KeySchema(prefix).queue('jobs');
	const producer = new JobQueue(sharedPool.client(config, 'queue'), keys);
	const worked = new Map<string, number>();
	const inputs = Array.from({ length: JOBS }, (_, n): EnqueueInput => ({ payload: { n }, maxAttempts: 50, group: group?.(n) }));
	const ids = (await producer.enqueue(inputs)).map((r) => r.id);
	expect(new Set(ids).size).toBe(JOBS);

	const handler = async (job: { id: string }) => {
		// The work happens first; a kill during the pause below leaves it done but not acked.
		worked.set(job.id, (worked.get(job.id) ?? 0) + 1);
		await new Promise((r) => setTimeout(r, Math.random() < 0.5 ? 0 : 2));
	};
	const spawn = (): LiveWorker => {
		const main = sharedPool.dedicated(config, 'queue', 'blocking');
		const blocking = sharedPool.dedicated(config, 'queue', 'blocking');
		const worker = new QueueWorker(new JobQueue(main, keys), blocking, handler, {
			concurrency: PARALLEL,
			visibilityMs: VISIBILITY_MS,
			groupLimits,
			onError: () => undefined,
		});
		worker.start();
		return { worker, clients: [main, blocking] };
	};

	const started = Date.now();
	let live = Array.from({ length: WORKERS }, spawn);
	let kills = 0;
	let crashedInFlight = 0;
	while (kills < KILLS) {
		await new Promise((r) => setTimeout(r, 40 + Math.random() * 120));
		const victim = live[Math.floor(Math.random() * live.length)];
		// Counted in the same tick as the kill: jobs taken and not yet settled.
		crashedInFlight += victim.worker.activeCount;
		for (const client of victim.clients) client.disconnect();
		await victim.worker.stop({ abandon: true });
		kills += 1;
		live = live.filter((w) => w !== victim).concat(spawn());
	}

	const deadline = Date.now() + 45_000;
	for (;;) {
		const stats = await producer.stats();
		if (worked.size === JOBS && stats.waiting + stats.inFlight + stats.delayed + stats.prioritized === 0) break;
		if (Date.now() > deadline) throw new Error(`Not drained: ${JSON.stringify(stats)}, worked ${worked.size}`);
		await new Promise((r) => setTimeout(r, 100));
	}
	const elapsedMs = Date.now() - started;
	await Promise.all(live.map((w) => w.worker.stop()));
	await Promise.all(live.flatMap((w) => w.clients.map((c) => sharedPool.release(c))));

	const lost = ids.filter((id) => !worked.has(id)).length;
	const duplicates = [...worked.values()].reduce((sum, n) => sum + (n - 1), 0);
	const stats = await producer.stats();
	console.log(
		`crash test${label}: ${JOBS} jobs, ${WORKERS} workers x ${PARALLEL} parallel, ${kills} kills, ` +
			`${crashedInFlight} jobs in flight in killed workers, lost ${lost}, duplicates ${duplicates}, ` +
			`dead ${stats.dead}, ${elapsedMs} ms`,
	);
	expect(lost).toBe(0);
	expect(duplicates).toBeLessThanOrEqual(crashedInFlight);
	expect(stats).toMatchObject({ waiting: 0, inFlight: 0, delayed: 0, dead: 0 });
	expect(kills).toBe(KILLS);
	await deleteKeys(rawClient(3), `*${prefix}*`);
}

describe('crash test', () => {
	it(`loses none of ${JOBS} jobs when workers are killed mid-job`, async () => {
		await crashTest({ label: '' });
	});

	it(`loses none of ${JOBS} grouped jobs when workers are killed mid-job, under a per-group in-flight limit`, async () => {
		// Half the jobs in one big group, the rest over 50 small ones (the big one is enqueued first).
		await crashTest({
			label: ' (groups)',
			group: (n) => (n < JOBS / 2 ? 'big' : `small${n % 50}`),
			groupLimits: { maxInFlight: 3 },
		});
	});
});
