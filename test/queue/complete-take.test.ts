/**
 * The combined ack + take script (queueCompleteTake) and the worker path that uses it: the ack
 * half must behave exactly like Complete (lease check included) and the take half exactly like
 * Take (housekeeping, new lease, visibility deadline), whatever the ack's outcome.
 */
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema, type QueueKeys } from '../../platform/keys';
import { JobQueue, QueueWorker, type Job, type SettledOutcome, type TakeOptions } from '../../platform/queue';
import type { Redis } from '../../platform/redis-driver';
import type { RedisLike } from '../../platform/scripts';
import { closeRawClients, rawClient, testConfig, uniquePrefix } from '../helpers/redis';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const config = testConfig();

function newQueue(label = 'ct'): { queue: JobQueue; keys: QueueKeys; client: RedisLike } {
	const keys = new KeySchema(uniquePrefix(label)).queue('jobs');
	const client = sharedPool.client(config, 'queue');
	return { queue: new JobQueue(client, keys), keys, client };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectJob(value: unknown): Job {
	expect(value).toMatchObject({ id: expect.any(String), lease: expect.any(String) });
	return value as Job;
}

async function take(queue: JobQueue, options: TakeOptions = {}): Promise<Job | null> {
	return (await queue.dequeue(options)).jobs[0] ?? null;
}

/** The worker's ack: complete one job and take the next in the same call. */
async function completeAndTake(queue: JobQueue, id: string, lease: string, options: TakeOptions = {}) {
	const { completed, jobs, nextRunAt } = await queue.dequeue({ ...options, completing: { id, lease } });
	return { outcome: completed, next: jobs[0], nextRunAt };
}

describe('complete and take next (one script call)', () => {
	it('acks the finished job and takes the next one under a new lease and deadline', async () => {
		const { queue, keys } = newQueue();
		const [a, b] = await queue.enqueue([{ payload: { n: 1 }, id: 'job-a' }, { payload: { n: 2 } }]);
		const first = (await take(queue, { visibilityMs: 30_000 }))!;
		expect(first.id).toBe(a.id);
		const { outcome, next } = await completeAndTake(queue, first.id, first.lease, { visibilityMs: 45_000 });
		expect(outcome).toBe('done');
		const second = expectJob(next);
		expect(second.id).toBe(b.id);
		expect(second.payload).toEqual({ n: 2 });
		expect(second.attempt).toBe(1);
		expect(second.lease).not.toBe(first.lease);
		const raw = rawClient(3);
		// The first job is gone for good (its de-duplication id too); the second is in flight.
		expect(await raw.zscore(keys.inflight, first.id)).toBeNull();
		expect(await raw.hexists(keys.jobs, first.id)).toBe(0);
		expect(await raw.hexists(keys.meta, first.id)).toBe(0);
		expect(await raw.sismember(keys.ids, first.id)).toBe(0);
		expect(Number(await raw.zscore(keys.inflight, second.id))).toBe(second.visibleAt);
		expect(JSON.parse((await raw.hget(keys.meta, second.id))!)).toMatchObject({ a: 1, l: second.lease });
		// The visibility asked for is the one applied (deadline = server now + visibility).
		expect(second.visibleAt - first.visibleAt).toBeGreaterThanOrEqual(15_000);
		expect(second.visibleAt - first.visibleAt).toBeLessThan(25_000);
		const taken = await completeAndTake(queue, second.id, second.lease);
		expect(taken.outcome).toBe('done');
		expect(taken.next).toBeUndefined();
		expect((await queue.enqueue([{ payload: 1, id: 'job-a' }]))[0].enqueued).toBe(true);
	});

	it('refuses the ack under a stale lease but still takes the next job', async () => {
		const { queue, keys } = newQueue();
		await queue.enqueue([{ payload: 'x' }, { payload: 'y' }]);
		const x = (await take(queue))!;
		const { outcome, next } = await completeAndTake(queue, x.id, 'not-the-lease');
		expect(outcome).toBe('stale');
		expect(expectJob(next).payload).toBe('y');
		// x is untouched: still in flight under its own lease, and its real lease still acks it.
		expect(await rawClient(3).zscore(keys.inflight, x.id)).not.toBeNull();
		expect(await queue.complete(x.id, x.lease)).toBe('done');
	});

	it('reports a missing job and an empty queue with the next delayed run time', async () => {
		const { queue } = newQueue();
		const [later] = await queue.enqueue([{ payload: 'later', delayMs: 60_000 }]);
		const { outcome, next, nextRunAt } = await completeAndTake(queue, 'no-such-job', '');
		expect(outcome).toBe('missing');
		expect(next).toBeUndefined();
		expect(nextRunAt).toBe(later.runAt);
	});

	it('does the take housekeeping: recovers a stalled job and promotes a due delayed one', async () => {
		const { queue } = newQueue();
		const [stalledJob] = await queue.enqueue([{ payload: 'stalled' }]);
		const lost = (await take(queue, { visibilityMs: 50 }))!;
		expect(lost.id).toBe(stalledJob.id);
		await queue.enqueue([{ payload: 'delayed', delayMs: 50 }, { payload: 'current' }]);
		const current = (await take(queue, { visibilityMs: 30_000 }))!;
		expect(current.payload).toBe('current');
		await sleep(150);
		const { outcome, next } = await completeAndTake(queue, current.id, current.lease);
		expect(outcome).toBe('done');
		// The stalled job returns to the head (it runs next, attempt 2, with why it came back).
		const again = expectJob(next);
		expect(again.id).toBe(stalledJob.id);
		expect(again.attempt).toBe(2);
		expect(again.lastError).toMatch(/Visibility timeout expired on attempt 1/);
		// The old delivery's lease no longer acks it.
		expect(await queue.complete(lost.id, lost.lease)).toBe('stale');
		const then = await completeAndTake(queue, again.id, again.lease);
		expect(then.outcome).toBe('done');
		expect(expectJob(then.next).payload).toBe('delayed');
	});
});

describe('QueueWorker on the combined path', () => {
	it('handles every job once, taking each next job with the ack of the previous one', async () => {
		const { keys } = newQueue('ctw');
		const main = sharedPool.dedicated(config, 'queue', 'blocking');
		const blocking = sharedPool.dedicated(config, 'queue', 'blocking');
		const queue = new JobQueue(main, keys);
		const jobs = 50;
		await queue.enqueue(Array.from({ length: jobs }, (_, n) => ({ payload: n })));
		// The scripts each call runs: the combined ack + take, and the plain take of the loop.
		const combined = jest.spyOn(main as Redis, 'queueCompleteTake');
		const takes = jest.spyOn(main as Redis, 'queueTake');
		const seen: unknown[] = [];
		const outcomes: Array<SettledOutcome> = [];
		let finished: () => void = () => undefined;
		const allDone = new Promise<void>((resolve) => (finished = resolve));
		const worker = new QueueWorker(queue, blocking, async (job) => void seen.push(job.payload), {
			onSettled: (_job, outcome) => {
				outcomes.push(outcome);
				if (outcomes.length === jobs) finished();
			},
		});
		worker.start();
		await allDone;
		await worker.stop();
		expect(seen).toEqual(Array.from({ length: jobs }, (_, n) => n));
		expect(outcomes.every((o) => o === 'done')).toBe(true);
		// The first job came from the loop's take; every later one from the previous job's ack.
		expect(combined).toHaveBeenCalledTimes(jobs);
		expect(takes.mock.calls.length).toBeLessThan(jobs / 5);
		const stats = await queue.stats();
		expect(stats.waiting + stats.inFlight + stats.dead).toBe(0);
		sharedPool.release(main);
		sharedPool.release(blocking);
	});

	it('takes nothing more once stopped: the finished job is acked alone, the rest stay waiting', async () => {
		const { keys } = newQueue('cts');
		const main = sharedPool.dedicated(config, 'queue', 'blocking');
		const blocking = sharedPool.dedicated(config, 'queue', 'blocking');
		const queue = new JobQueue(main, keys);
		await queue.enqueue([{ payload: 1 }, { payload: 2 }, { payload: 3 }]);
		const settled: Array<[unknown, SettledOutcome]> = [];
		let stopping: Promise<void> | undefined;
		const worker = new QueueWorker(queue, blocking, async () => {
			stopping ??= worker.stop();
		}, { onSettled: (job, outcome) => void settled.push([job.payload, outcome]) });
		worker.start();
		while (!stopping) await sleep(10);
		await stopping;
		expect(await worker.idle(5000)).toBe(true);
		expect(settled).toEqual([[1, 'done']]);
		const stats = await queue.stats();
		expect(stats.inFlight).toBe(0);
		expect(stats.waiting).toBe(2);
		sharedPool.release(main);
		sharedPool.release(blocking);
	});
});
