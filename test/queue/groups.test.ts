/**
 * Fair queues: takes rotate over the groups with ready jobs (the ungrouped jobs, plain Python
 * LPUSHes included, being one more group), priorities and delays keep working inside a group,
 * and the per-group limits of the takers hold however many consumers there are.
 */
import { KeySchema, type QueueKeys } from '../../platform/keys';
import { JobQueue, QueueInputError, QueueWorker, type Job } from '../../platform/queue';
import type { Redis } from '../../platform/redis-driver';
import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, testConfig, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const config = testConfig();

function newQueue(): { queue: JobQueue; client: Redis; keys: QueueKeys } {
	const client = rawClient(config.dbs.queue);
	const keys = new KeySchema(uniquePrefix('grp')).queue('jobs');
	return { queue: new JobQueue(client, keys), client, keys };
}

async function takeAll(queue: JobQueue, options: Parameters<JobQueue['dequeue']>[0] = {}): Promise<Job[]> {
	return (await queue.dequeue({ max: 1000, ...options })).jobs;
}

describe('fair queues', () => {
	it("a group's in-flight set expires after the longest visibility timeout, so an idle group leaves no key forever", async () => {
		const { queue, client, keys } = newQueue();
		await queue.enqueue([{ payload: 1, group: 'idle-account' }]);
		const [taken] = await takeAll(queue);
		await queue.complete(taken.id, taken.lease);
		const ttl = await client.pttl(`${keys.groupflight}idle-account`);
		// Longer than the 7-day maximum visibility timeout, and set (not -1: no TTL).
		expect(ttl).toBeGreaterThan(7 * 86_400_000);
		expect(ttl).toBeLessThanOrEqual(8 * 86_400_000);
	});

	it('takes every job of two small groups within the first 30 takes behind a group of 10,000', async () => {
		const { queue } = newQueue();
		await queue.enqueue(Array.from({ length: 10_000 }, (_, n) => ({ payload: n, group: 'A' })));
		await queue.enqueue(['B', 'C'].flatMap((group) => Array.from({ length: 10 }, (_, n) => ({ payload: n, group }))));
		const first = (await queue.dequeue({ max: 30 })).jobs;
		expect(first).toHaveLength(30);
		const small = first.filter((j) => j.group !== 'A');
		expect(small).toHaveLength(20);
		// First in, first out inside each group.
		expect(small.filter((j) => j.group === 'B').map((j) => j.payload)).toEqual([...Array(10).keys()]);
		expect(first.filter((j) => j.group === 'A').map((j) => j.payload)).toEqual([...Array(10).keys()]);
		const stats = await queue.stats();
		expect(stats).toMatchObject({ waiting: 10_000 - 10, inFlight: 30, groups: 1 });
		expect(stats.byGroup).toEqual([{ group: 'A', waiting: 9990, inFlight: 10 }]);
	});

	it('serves the ungrouped jobs (a plain LPUSH too) as one more group, in turn', async () => {
		const { queue, client, keys } = newQueue();
		await queue.enqueue([1, 2, 3].map((n) => ({ payload: `a${n}`, group: 'a' })));
		await queue.enqueue([{ payload: 'u1' }]);
		await client.lpush(keys.waiting, JSON.stringify({ from: 'python' }));
		await queue.enqueue([1, 2].map((n) => ({ payload: `b${n}`, group: 'b' })));
		const stats = await queue.stats();
		expect(stats.byGroup).toEqual([
			{ group: '', waiting: 2, inFlight: null },
			{ group: 'a', waiting: 3, inFlight: 0 },
			{ group: 'b', waiting: 2, inFlight: 0 },
		]);
		expect(stats).toMatchObject({ waiting: 7, groups: 2 });
		// The ungrouped jobs join the rotation when a take first finds them (a plain LPUSH tells
		// nobody), so behind the groups already there.
		const order = (await takeAll(queue)).map((j) => j.payload);
		expect(order).toEqual(['a1', 'b1', 'u1', 'a2', 'b2', { from: 'python' }, 'a3']);
		expect(await client.exists(keys.groups, `${keys.group}a`, `${keys.group}b`)).toBe(0);
	});

	it('keeps priorities and delays inside a group, and retries, hand-backs and dead jobs return to their group', async () => {
		const { queue, client, keys } = newQueue();
		const [late] = await queue.enqueue([{ payload: 'late', group: 'g', delayMs: 60_000 }]);
		await queue.enqueue([{ payload: 'low', group: 'g' }, { payload: 'high', group: 'g', priority: 5 }, { payload: 'other', group: 'h' }]);
		// The delayed job becomes due (its run-at set in the past, not waited for).
		await client.zadd(keys.delayed, 0, late.id);
		const jobs = await takeAll(queue, { visibilityMs: 60_000 });
		expect(jobs.map((j) => [j.group, j.payload])).toEqual([
			['g', 'high'],
			['h', 'other'],
			['g', 'low'],
			['g', 'late'],
		]);
		const [high, , low, lateJob] = jobs;
		expect(await queue.release(low.id, low.lease)).toBe('released');
		expect((await queue.fail(high.id, 'boom', { lease: high.lease, backoffMs: 0 })).status).toBe('retry');
		expect((await queue.fail(lateJob.id, 'fatal', { lease: lateJob.lease, retry: false })).status).toBe('dead');
		expect(await queue.retryDead()).toBe(1);
		await client.zadd(keys.delayed, 0, high.id);
		const again = await takeAll(queue);
		// The retried job keeps its priority; the hand-back runs before the job back from the dead list.
		expect(again.map((j) => [j.group, j.payload, j.attempt])).toEqual([
			['g', 'high', 2],
			['g', 'low', 1],
			['g', 'late', 1],
		]);
	});

	it('returns a grouped job whose worker died to the head of its group, and counts it in flight until then', async () => {
		const { queue, client, keys } = newQueue();
		await queue.enqueue([1, 2, 3].map((n) => ({ payload: n, group: 'g' })));
		const limits = { maxInFlight: 1 };
		const [first] = await takeAll(queue, { groupLimits: limits });
		expect(first.payload).toBe(1);
		expect(await takeAll(queue, { groupLimits: limits })).toEqual([]);
		// Its visibility deadline passes (set, not waited for): the next take returns it first.
		await client.zadd(keys.inflight, 0, first.id);
		const [again] = await takeAll(queue, { groupLimits: limits });
		expect([again.id, again.attempt]).toEqual([first.id, 2]);
		expect(await queue.complete(again.id, again.lease)).toBe('done');
		expect((await takeAll(queue, { groupLimits: limits })).map((j) => j.payload)).toEqual([2]);
	});

	it('lets a group at its in-flight limit pass its turn, and frees it when a job is settled', async () => {
		const { queue } = newQueue();
		await queue.enqueue(Array.from({ length: 6 }, (_, n) => ({ payload: `a${n}`, group: 'a' })));
		await queue.enqueue([{ payload: 'b0', group: 'b' }, { payload: 'u0' }]);
		const groupLimits = { maxInFlight: 2 };
		const taken = await takeAll(queue, { groupLimits });
		expect(taken.map((j) => j.payload)).toEqual(['a0', 'u0', 'b0', 'a1']);
		const stats = await queue.stats();
		expect(stats.byGroup).toEqual([{ group: 'a', waiting: 4, inFlight: 2 }]);
		await queue.complete(taken[0].id, taken[0].lease);
		expect((await takeAll(queue, { groupLimits })).map((j) => j.payload)).toEqual(['a2']);
		// Without limits (another taker's choice) the group is not held back.
		expect((await takeAll(queue)).map((j) => j.payload)).toEqual(['a3', 'a4', 'a5']);
	});

	it('waits without draining the waiting list while the ungrouped group is at its limit', async () => {
		const { queue, client, keys } = newQueue();
		await queue.enqueue([1, 2, 3].map((n) => ({ payload: n })));
		const groupLimits = { maxInFlight: 1 };
		expect((await takeAll(queue, { groupLimits })).map((j) => j.payload)).toEqual([1]);
		const waited = await queue.dequeue({ groupLimits, timeoutMs: 300, blocking: rawClient(config.dbs.queue) });
		expect(waited.jobs).toEqual([]);
		// A BLMOVE each round would have moved the waiting jobs to the claim list one by one.
		expect([await client.llen(keys.waiting), await client.llen(keys.claim)]).toEqual([2, 0]);
	});

	it('holds a group to its rate and says when it frees; the window slides', async () => {
		const { queue, client, keys } = newQueue();
		await queue.enqueue(Array.from({ length: 4 }, (_, n) => ({ payload: n, group: 'r' })));
		const groupLimits = { rateMax: 2, rateWindowMs: 60_000 };
		const first = await queue.dequeue({ max: 5, groupLimits });
		expect(first.jobs.map((j) => j.payload)).toEqual([0, 1]);
		const blocked = await queue.dequeue({ groupLimits });
		expect(blocked.jobs).toEqual([]);
		const takenAt = Number((await client.zrange(`${keys.grouprate}r`, 0, 0, 'WITHSCORES'))[1]);
		expect(blocked.nextRunAt).toBe(takenAt + 60_000);
		expect(await client.pttl(`${keys.grouprate}r`)).toBeGreaterThan(0);
		// Both takes leave the window (their times set an hour back, not waited for).
		const members = await client.zrange(`${keys.grouprate}r`, 0, -1);
		for (const member of members) await client.zadd(`${keys.grouprate}r`, takenAt - 3_600_000, member);
		expect((await queue.dequeue({ max: 5, groupLimits })).jobs.map((j) => j.payload)).toEqual([2, 3]);
	});

	it('never has more than the in-flight limit of a group running under 8 consumers', async () => {
		const { queue, keys } = newQueue();
		const GROUPS = ['x', 'y', 'z'];
		const PER_GROUP = 60;
		const LIMIT = 2;
		await queue.enqueue(GROUPS.flatMap((group) => Array.from({ length: PER_GROUP }, (_, n) => ({ payload: n, group }))));
		const running = new Map<string, number>();
		const peak = new Map<string, number>();
		let done = 0;
		let allDone: () => void = () => undefined;
		const finished = new Promise<void>((resolve) => (allDone = resolve));
		const handler = async (job: Job) => {
			const group = job.group ?? '';
			const now = (running.get(group) ?? 0) + 1;
			running.set(group, now);
			peak.set(group, Math.max(peak.get(group) ?? 0, now));
			await new Promise((r) => setTimeout(r, Math.random() * 3));
			running.set(group, (running.get(group) ?? 1) - 1);
		};
		const workers = Array.from({ length: 8 }, () => {
			const worker = new QueueWorker(new JobQueue(rawClient(config.dbs.queue), keys), rawClient(config.dbs.queue), handler, {
				concurrency: 2,
				visibilityMs: 30_000,
				groupLimits: { maxInFlight: LIMIT },
				onSettled: () => {
					done += 1;
					if (done === GROUPS.length * PER_GROUP) allDone();
				},
			});
			worker.start();
			return worker;
		});
		await finished;
		await Promise.all(workers.map((w) => w.stop()));
		for (const group of GROUPS) expect({ group, peak: peak.get(group) }).toEqual({ group, peak: expect.any(Number) });
		expect(Math.max(...peak.values())).toBeLessThanOrEqual(LIMIT);
		expect(await queue.stats()).toMatchObject({ waiting: 0, inFlight: 0, groups: 0 });
	});

	it('refuses limits that are not whole numbers, and a rate without a window', async () => {
		const { queue } = newQueue();
		await expect(queue.dequeue({ groupLimits: { maxInFlight: 1.5 } })).rejects.toThrow(QueueInputError);
		await expect(queue.dequeue({ groupLimits: { rateMax: 3 } })).rejects.toMatchObject({ field: 'rateWindowMs' });
	});

	it('takes the node\'s Group per item (trimmed), and its Dequeue keeps Max In Flight per Group; Stats lists the groups', async () => {
		const queue = uniquePrefix('ng');
		const enqueued = await runNode({
			parameters: { resource: 'job', operation: 'enqueue', queue, payload: '={{ JSON.stringify({ n: $json.n }) }}', options: { group: '={{ $json.account }}' } },
			items: [
				{ n: 1, account: ' acme ' },
				{ n: 2, account: 'acme' },
				{ n: 3, account: 'acme' },
				{ n: 4, account: 42 },
				{ n: 5, account: '' },
			],
		});
		expect(enqueued.error).toBeUndefined();
		expect(enqueued.outputs[0].map((o) => o.group)).toEqual(['acme', 'acme', 'acme', '42', null]);
		const dequeue = (options: Record<string, unknown>) =>
			runNode({ parameters: { resource: 'job', operation: 'dequeue', queue, timeout: 0, visibilityTimeout: 60, whenEmpty: 'noItem', options } });
		const taken = await dequeue({ maxJobs: 10, maxInFlightPerGroup: 1 });
		expect(taken.error).toBeUndefined();
		expect(taken.outputs[0].map((o) => [o.group, (o.payload as { n: number }).n])).toEqual([
			['acme', 1],
			[null, 5],
			['42', 4],
		]);
		const stats = await runNode({ parameters: { resource: 'job', operation: 'stats', queue } });
		expect(stats.outputs[0][0]).toMatchObject({ waiting: 2, inFlight: 3, groups: 1, byGroup: [{ group: 'acme', waiting: 2, inFlight: 1 }] });
		const bad = await dequeue({ maxInFlightPerGroup: 1.5 });
		expect(bad.error?.message).toMatch(/^"Max In Flight per Group" must be a whole number of at least 0, got 1\.5.* \[item 0\]$/);
	});
});
