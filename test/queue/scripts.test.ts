import { sharedPool } from '../../platform/connection-pool';
import { KeySchema, type QueueKeys } from '../../platform/keys';
import { JobQueue, type DequeueOptions, type Job } from '../../platform/queue';
import type { RedisLike } from '../../platform/scripts';
import { closeRawClients, rawClient, testConfig, uniquePrefix } from '../helpers/redis';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const config = testConfig();

function newQueue(label = 'q'): { queue: JobQueue; keys: QueueKeys; client: RedisLike } {
	const keys = new KeySchema(uniquePrefix(label)).queue('jobs');
	const client = sharedPool.client(config, 'queue');
	return { queue: new JobQueue(client, keys), keys, client };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The next job, or null: one dequeue of at most one job. */
async function take(queue: JobQueue, options: DequeueOptions = {}): Promise<Job | null> {
	return (await queue.dequeue(options)).jobs[0] ?? null;
}

/** The server time at which a job was taken (its deadline minus the visibility it was taken with). */
const takenAt = (job: Job, visibilityMs: number) => job.visibleAt - visibilityMs;

describe('queue scripts', () => {
	it('enqueues envelopes with LPUSH and takes them oldest-first, payload bytes untouched', async () => {
		const { queue, keys } = newQueue();
		const payload = { campaign_id: 123456789012345678n.toString(), big: 12345678901234567, empty: [], nested: { a: [] }, text: 'é/"\\' };
		const [first] = await queue.enqueue([{ payload }, { payload: { n: 2 } }]);
		const raw = rawClient(3);
		// LPUSH: the newest is at the left, the oldest at the right where consumers take.
		const right = await raw.lindex(keys.waiting, -1);
		expect(JSON.parse(right!)).toMatchObject({ id: first.id, attempt: 0, maxAttempts: 3 });
		const job = await take(queue);
		expect(job?.id).toBe(first.id);
		expect(job?.attempt).toBe(1);
		expect(job?.envelope).toBe(right);
		expect(job?.payload).toEqual(JSON.parse(JSON.stringify(payload)));
		expect(await raw.zscore(keys.inflight, first.id)).not.toBeNull();
		expect(await queue.complete(job!.id, job!.lease)).toBe('done');
		expect(await raw.exists(keys.inflight, keys.jobs, keys.meta)).toBe(0);
		const second = await take(queue);
		expect(second?.payload).toEqual({ n: 2 });
		expect(await take(queue)).toBeNull();
	});

	it('takes several jobs in one pipeline, in order, stopping when the queue runs dry', async () => {
		const { queue } = newQueue();
		await queue.enqueue([0, 1, 2, 3, 4].map((n) => ({ payload: n })));
		expect((await queue.dequeue({ max: 3 })).jobs.map((j) => j.payload)).toEqual([0, 1, 2]);
		expect((await queue.dequeue({ max: 5 })).jobs.map((j) => j.payload)).toEqual([3, 4]);
		expect((await queue.stats()).inFlight).toBe(5);
	});

	it('does not run a delayed job before its time (server clock), then runs it', async () => {
		const { queue } = newQueue();
		const visibilityMs = 30_000;
		const [delayed] = await queue.enqueue([{ payload: { d: 1 }, delayMs: 700 }]);
		const at = Date.now() + 60_000;
		const [scheduled] = await queue.enqueue([{ payload: { d: 2 }, runAt: at }]);
		expect(scheduled.runAt).toBeGreaterThanOrEqual(at);
		expect(await take(queue, { visibilityMs })).toBeNull();
		expect((await queue.stats()).delayed).toBe(2);
		let job: Job | null = null;
		for (let i = 0; i < 100 && !job; i++) {
			job = await take(queue, { visibilityMs });
			if (!job) await sleep(50);
		}
		expect(job?.id).toBe(delayed.id);
		expect(takenAt(job!, visibilityMs)).toBeGreaterThanOrEqual(delayed.runAt!);
		// The run-at job an hour away is still held.
		expect(await take(queue, { visibilityMs })).toBeNull();
		expect((await queue.stats()).delayed).toBe(1);
	});

	it('runs higher priority first, FIFO within a priority, normal jobs last', async () => {
		const { queue } = newQueue();
		await queue.enqueue([
			{ payload: 'normal-1' },
			{ payload: 'p5-a', priority: 5 },
			{ payload: 'p10', priority: 10 },
			{ payload: 'p5-b', priority: 5 },
			{ payload: 'normal-2' },
		]);
		const order: unknown[] = [];
		for (let job = await take(queue); job; job = await take(queue)) order.push(job.payload);
		expect(order).toEqual(['p10', 'p5-a', 'p5-b', 'normal-1', 'normal-2']);
		// Same priority, same millisecond (one pipeline): still first in, first out.
		const many = Array.from({ length: 50 }, (_, n) => n);
		await queue.enqueue(many.map((n) => ({ payload: n, priority: 7 })));
		const taken: unknown[] = [];
		for (let job = await take(queue); job; job = await take(queue)) taken.push(job.payload);
		expect(taken).toEqual(many);
	});

	it('retries with exponential backoff, then dead-letters with the last error kept', async () => {
		const { queue, keys } = newQueue();
		const [{ id }] = await queue.enqueue([{ payload: { x: 1 }, maxAttempts: 3, backoffMs: 200 }]);
		const first = (await take(queue))!;
		const r1 = await queue.fail(id, 'boom 1', { lease: first.lease });
		expect(r1).toMatchObject({ status: 'retry', attempt: 1 });
		const s = await queue.stats();
		expect(s.delayed).toBe(1);
		expect(s.inFlight).toBe(0);
		expect(await take(queue)).toBeNull();
		let second: Job | null = null;
		while (!second) second = (await take(queue)) ?? (await sleep(40), null);
		expect(second.attempt).toBe(2);
		expect(second.lastError).toBe('boom 1');
		expect(takenAt(second, 60_000)).toBeGreaterThanOrEqual((r1 as { runAt: number }).runAt);
		const r2 = await queue.fail(id, 'boom 2');
		// Backoff doubles: 200 ms after the first failure, 400 ms after the second.
		expect(r2.status).toBe('retry');
		let third: Job | null = null;
		while (!third) third = (await take(queue)) ?? (await sleep(40), null);
		expect(third.attempt).toBe(3);
		expect(await queue.fail(id, 'boom 3: final', { lease: third.lease })).toMatchObject({ status: 'dead', attempt: 3 });
		const stats = await queue.stats();
		expect(stats).toMatchObject({ waiting: 0, delayed: 0, inFlight: 0, dead: 1 });
		const [dead] = await queue.listDead();
		expect(dead).toMatchObject({ id, error: 'boom 3: final', attempt: 3, maxAttempts: 3 });
		expect(JSON.parse(dead.job)).toMatchObject({ id, payload: { x: 1 } });
		expect(await rawClient(3).exists(keys.jobs, keys.meta)).toBe(0);
	});

	it('fail without retry dead-letters at once; retry dead brings the job back with fresh attempts', async () => {
		const { queue } = newQueue();
		const [{ id }] = await queue.enqueue([{ payload: { y: 1 }, maxAttempts: 5 }]);
		await take(queue);
		expect(await queue.fail(id, 'invalid input', { retry: false })).toMatchObject({ status: 'dead', attempt: 1 });
		expect(await take(queue)).toBeNull();
		expect(await queue.retryDead()).toBe(1);
		const back = await take(queue);
		expect(back).toMatchObject({ id, attempt: 1, payload: { y: 1 } });
		expect((await queue.stats()).dead).toBe(0);
	});

	it('retries one dead job by id and purges the rest, freeing their ids', async () => {
		const { queue } = newQueue();
		const ids = ['a', 'b', 'c'];
		await queue.enqueue(ids.map((id) => ({ id, payload: id, maxAttempts: 1 })));
		for (let job = await take(queue); job; job = await take(queue)) await queue.fail(job.id, `bad ${job.id}`);
		expect((await queue.stats()).dead).toBe(3);
		// Dead ids stay reserved: a duplicate enqueue is refused.
		expect((await queue.enqueue([{ id: 'a', payload: 'again' }]))[0].enqueued).toBe(false);
		expect(await queue.retryDead({ id: 'b' })).toBe(1);
		expect(await queue.retryDead({ id: 'nope' })).toBe(0);
		expect((await take(queue))?.id).toBe('b');
		expect(await queue.purgeDead()).toBe(2);
		expect((await queue.stats()).dead).toBe(0);
		expect((await queue.enqueue([{ id: 'a', payload: 'again' }]))[0].enqueued).toBe(true);
	});

	it('de-duplicates by job id while the job is live, and frees the id once completed', async () => {
		const { queue } = newQueue();
		const results = await queue.enqueue([
			{ id: 'order-1', payload: 1 },
			{ id: 'order-1', payload: 2 },
			{ id: 'order-2', payload: 3, delayMs: 60_000 },
			{ id: 'order-2', payload: 4 },
		]);
		expect(results.map((r) => r.enqueued)).toEqual([true, false, true, false]);
		const job = (await take(queue))!;
		expect(job.payload).toBe(1);
		expect((await queue.enqueue([{ id: 'order-1', payload: 5 }]))[0].enqueued).toBe(false);
		await queue.complete(job.id);
		expect((await queue.enqueue([{ id: 'order-1', payload: 6 }]))[0].enqueued).toBe(true);
	});

	it('returns a job whose visibility timeout expired; the old lease can no longer ack it', async () => {
		const { queue } = newQueue();
		const [{ id }] = await queue.enqueue([{ payload: 'slow' }]);
		const first = (await take(queue, { visibilityMs: 200 }))!;
		expect(await take(queue, { visibilityMs: 200 })).toBeNull();
		await sleep(300);
		expect((await queue.stats()).stalled).toBe(1);
		const second = (await take(queue, { visibilityMs: 30_000 }))!;
		expect(second.id).toBe(id);
		expect(second.attempt).toBe(2);
		expect(second.lastError).toMatch(/Visibility timeout expired/);
		expect(await queue.complete(id, first.lease)).toBe('stale');
		expect((await queue.fail(id, 'late', { lease: first.lease })).status).toBe('stale');
		expect(await queue.complete(id, second.lease)).toBe('done');
		expect(await queue.complete(id, second.lease)).toBe('missing');
	});

	it('Recover Stalled returns expired jobs, and dead-letters those out of attempts', async () => {
		const { queue } = newQueue();
		await queue.enqueue([{ id: 'once', payload: 1, maxAttempts: 1 }, { id: 'twice', payload: 2, maxAttempts: 2 }]);
		await take(queue, { visibilityMs: 100 });
		await take(queue, { visibilityMs: 100 });
		await sleep(200);
		expect(await queue.recoverStalled()).toEqual({ promoted: 0, recovered: 1, dead: 1 });
		const stats = await queue.stats();
		expect(stats).toMatchObject({ waiting: 1, inFlight: 0, dead: 1 });
		expect((await queue.listDead())[0]).toMatchObject({ id: 'once', error: expect.stringMatching(/Visibility timeout/) });
	});

	it('extends a running job and releases a job without counting the attempt', async () => {
		const { queue, keys } = newQueue();
		await queue.enqueue([{ payload: 'x', maxAttempts: 1 }]);
		const job = (await take(queue, { visibilityMs: 200 }))!;
		expect(await queue.extend(job.id, job.lease, 60_000)).toBe(true);
		expect(await queue.extend(job.id, 'other-lease', 60_000)).toBe(false);
		await sleep(300);
		expect(await take(queue)).toBeNull();
		expect(Number(await rawClient(3).zscore(keys.inflight, job.id))).toBeGreaterThan(Date.now() + 30_000);
		expect(await queue.release(job.id, job.lease)).toBe('released');
		const again = (await take(queue))!;
		expect(again).toMatchObject({ id: job.id, attempt: 1 });
	});

	it('reports stats with the oldest waiting age', async () => {
		const { queue, keys } = newQueue();
		await queue.enqueue([{ payload: 1 }, { payload: 2, priority: 3 }, { payload: 3, delayMs: 60_000 }]);
		await sleep(50);
		await queue.enqueue([{ payload: 4 }]);
		await rawClient(3).lpush(keys.waiting, '{"bare": true}');
		await take(queue);
		const stats = await queue.stats();
		expect(stats).toMatchObject({ waiting: 3, prioritized: 0, delayed: 1, inFlight: 1, dead: 0, stalled: 0 });
		expect(stats.oldestWaitingAgeMs).toBeGreaterThanOrEqual(40);
		expect(stats.nextRunAt).toBeGreaterThan(stats.now);
	});

	it('wraps a bare JSON payload in an envelope that keeps its generated id across retries', async () => {
		const { queue, keys } = newQueue();
		await rawClient(3).lpush(keys.waiting, '{"campaign_id": 1, "type": "blog"}', 'not json at all');
		const job = (await take(queue))!;
		expect(job).toMatchObject({ bare: true, payload: { campaign_id: 1, type: 'blog' }, attempt: 1, enqueuedAt: null });
		await queue.fail(job.id, 'retry me', { backoffMs: 0 });
		const again = (await take(queue))!;
		// The raw string comes first (it was older); the retried job follows.
		expect(again).toMatchObject({ bare: true, payload: 'not json at all' });
		const retried = (await take(queue))!;
		expect(retried).toMatchObject({ id: job.id, attempt: 2, payload: { campaign_id: 1, type: 'blog' } });
	});

	it('blocks until a job arrives (dedicated client), and returns null when the wait times out', async () => {
		const { queue, keys } = newQueue();
		const blocking = sharedPool.dedicated(config, 'queue', 'blocking');
		try {
			expect(await take(queue, { timeoutMs: 300, blocking })).toBeNull();
			const waiting = take(queue, { timeoutMs: 10_000, blocking });
			await sleep(100);
			await rawClient(3).lpush(keys.waiting, '{"late": 1}');
			const job = await waiting;
			expect(job?.payload).toEqual({ late: 1 });
			expect(await rawClient(3).llen(keys.claim)).toBe(0);
		} finally {
			await sharedPool.release(blocking);
		}
	});

	it('a job moved to the claim list by a consumer that then died is taken by the next consumer', async () => {
		const { queue, keys } = newQueue();
		await queue.enqueue([{ payload: 'stranded' }]);
		await rawClient(3).lmove(keys.waiting, keys.claim, 'RIGHT', 'LEFT');
		expect((await queue.stats()).waiting).toBe(1);
		const result = await take(queue);
		expect(result?.payload).toBe('stranded');
	});
});
