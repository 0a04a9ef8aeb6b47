/**
 * Job results on our own queue: the record the settling script writes (completed with its
 * result, or dead with the last error), Get Job Result, Enqueue with Wait for Result, and the
 * queue trigger storing its execution's result, against the real test Redis and n8n-core's
 * engine. Waits are set up by state (a subscriber counted on the server), never by sleeping.
 */
import { runNode } from '../helpers/n8n';
import { startTrigger } from '../helpers/trigger';
import { closeRawClients, rawClient, testConfig, testCredentials, uniquePrefix } from '../helpers/redis';
import { ConnectionPool, sharedPool } from '../../platform/connection-pool';
import { jobResultKey, KeySchema } from '../../platform/keys';
import { JobQueue, QUEUE_DEFAULTS } from '../../platform/queue';
import type { Redis } from '../../platform/redis-driver';
import { ResultWaiter } from '../../platform/result-wait';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const job = (operation: string, fields: Record<string, unknown>) => ({ resource: 'job', operation, ...fields });

function queueFor(name: string): JobQueue {
	return new JobQueue(sharedPool.client(testConfig(), 'queue'), new KeySchema('').queue(name));
}

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 15_000): Promise<void> {
	const end = Date.now() + ms;
	while (!(await check())) {
		if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

/** Resolves once someone is subscribed to the channel of `key` (the waiter is in place). */
async function subscribed(key: string): Promise<void> {
	await until(async () => {
		const [, n] = (await rawClient(3).pubsub('NUMSUB', key)) as [string, number];
		return Number(n) > 0;
	}, `a subscriber on ${key}`);
}

/** Keys of the queue that have no TTL although they should: result records. */
async function resultKeysWithoutTtl(name: string): Promise<string[]> {
	const keys = await rawClient(3).keys(`{queue:${name}}:result:*`);
	const ttls = await Promise.all(keys.map((k) => rawClient(3).pttl(k)));
	return keys.filter((_, i) => ttls[i] < 0);
}

describe('job results', () => {
	it('keeps the result TTL of the Lua side and the TypeScript side equal', () => {
		const lua = readFileSync(join(__dirname, '../../platform/scripts/includes/result.lua'), 'utf8');
		expect(lua).toContain(`local RESULT_TTL_MS = ${QUEUE_DEFAULTS.resultTtlMs}`);
	});

	it('Complete stores the result with a TTL in the same script; Get Job Result reads it', async () => {
		const name = uniquePrefix('rq');
		const queue = queueFor(name);
		const [{ id }] = await queue.enqueue([{ payload: { brief: 'b' } }]);
		const { jobs } = await queue.dequeue();
		const pending = await runNode({ parameters: job('getResult', { queue: name, jobId: id }) });
		expect(pending.outputs[0][0]).toEqual({ queue: name, id, status: 'pending', result: null });
		const done = await runNode({
			parameters: job('complete', { queue: name, jobId: id, options: { lease: jobs[0].lease, result: '{"draft": "Hello", "words": 2}', resultTtl: 600 } }),
		});
		expect(done.outputs[0][0]).toMatchObject({ completed: true });
		const ttl = await rawClient(3).pttl(jobResultKey(queue.keys, id));
		expect(ttl).toBeGreaterThan(590_000);
		expect(ttl).toBeLessThanOrEqual(600_000);
		const got = await runNode({ parameters: job('getResult', { queue: name, jobId: id }) });
		expect(got.outputs[0][0]).toMatchObject({ queue: name, id, status: 'completed', result: { draft: 'Hello', words: 2 } });
		expect(Date.parse(got.outputs[0][0].completedAt as string)).toBeGreaterThan(Date.now() - 60_000);
		// A complete that is refused (stale lease) writes nothing.
		const [{ id: other }] = await queue.enqueue([{ payload: 1 }]);
		await queue.dequeue();
		expect(await queue.complete(other, 'not-this-lease', { result: 'x' })).toBe('stale');
		expect(await rawClient(3).exists(jobResultKey(queue.keys, other))).toBe(0);
	});

	it('a dead-lettered job gives waiters its last error, from Fail and from a visibility timeout', async () => {
		const name = uniquePrefix('rq');
		const queue = queueFor(name);
		const [a, b] = await queue.enqueue([{ payload: 'a', maxAttempts: 1 }, { payload: 'b', maxAttempts: 1 }]);
		const { jobs } = await queue.dequeue({ max: 2 });
		await queue.fail(a.id, 'LinkedIn API returned 503', { lease: jobs[0].lease });
		// b's worker died: its deadline is set in the past, as if the visibility timeout ran out.
		await rawClient(3).zadd(queue.keys.inflight, 1, b.id);
		await queue.recoverStalled();
		const out = await runNode({ parameters: job('getResult', { queue: name, jobId: '={{ $json.id }}' }), items: [{ id: a.id }, { id: b.id }] });
		expect(out.outputs[0][0]).toMatchObject({ id: a.id, status: 'dead', error: 'LinkedIn API returned 503', attempt: 1 });
		expect(out.outputs[0][1]).toMatchObject({ id: b.id, status: 'dead', attempt: 1 });
		expect(out.outputs[0][1].error).toMatch(/^Visibility timeout expired on attempt 1/);
		expect(await resultKeysWithoutTtl(name)).toEqual([]);
		// Retry Dead brings the job back: its dead record no longer speaks for it.
		expect(await queue.retryDead({ id: a.id })).toBe(1);
		expect(await rawClient(3).exists(jobResultKey(queue.keys, a.id))).toBe(0);
	});

	it('an ACL user without pub/sub channels (Redis 7 default) still completes a job and writes its record', async () => {
		const user = uniquePrefix('nochan').replace(':', '');
		const admin = rawClient(0);
		await admin.call('ACL', 'SETUSER', user, 'on', '>nochan-pass-1', '~*', 'resetchannels', '+@all');
		const pool = new ConnectionPool();
		try {
			const name = uniquePrefix('rq');
			const queue = new JobQueue(pool.client(testConfig({ username: user, password: 'nochan-pass-1' }), 'queue'), new KeySchema('').queue(name));
			const [{ id }] = await queue.enqueue([{ payload: 'p' }]);
			const { jobs } = await queue.dequeue();
			// The script settles the job before it publishes; a refused PUBLISH must not fail a done job.
			await expect(queue.complete(id, jobs[0].lease, { result: { ok: 1 } })).resolves.toBe('done');
			expect(JSON.parse((await rawClient(3).get(jobResultKey(queue.keys, id))) ?? 'null')).toMatchObject({ status: 'completed', result: { ok: 1 } });
		} finally {
			await pool.closeAll();
			await admin.call('ACL', 'DELUSER', user);
		}
	});

	it('a cancelled execution ends its wait at once and gives back the SUBSCRIBE connection', async () => {
		const name = uniquePrefix('rq');
		const channel = jobResultKey(queueFor(name).keys, 'never');
		let cancel: (() => void) | undefined;
		// Without the cancel this waits an hour (past the test's timeout).
		const running = runNode({
			parameters: job('getResult', { queue: name, jobId: 'never', options: { waitForResult: 3600, errorOnTimeout: false } }),
			onStart: (stop) => (cancel = stop),
		});
		await subscribed(channel);
		cancel?.();
		await running;
		const [, subscribers] = (await rawClient(3).pubsub('NUMSUB', channel)) as [string, number];
		expect(Number(subscribers)).toBe(0);
	});

	it('Get Job Result waits for the completion (no polling), and a timeout is a per-item error or a timedOut flag', async () => {
		const name = uniquePrefix('rq');
		const queue = queueFor(name);
		const [{ id }] = await queue.enqueue([{ payload: 'w' }]);
		const waiting = runNode({ parameters: job('getResult', { queue: name, jobId: id, options: { waitForResult: 30 } }) });
		await subscribed(jobResultKey(queue.keys, id));
		const { jobs } = await queue.dequeue();
		await queue.complete(id, jobs[0].lease, { result: { ok: true } });
		expect((await waiting).outputs[0][0]).toMatchObject({ id, status: 'completed', result: { ok: true } });

		const late = await runNode({ parameters: job('getResult', { queue: name, jobId: 'never', options: { waitForResult: 0.2 } }) });
		expect(late.error?.message).toMatch(/^"Wait for Result \(Seconds\)" ran out after 0\.2 s: job never is still pending.* \[item 0\]$/);
		const flagged = await runNode({ parameters: job('getResult', { queue: name, jobId: 'never', options: { waitForResult: 0.2, errorOnTimeout: false } }) });
		expect(flagged.outputs[0][0]).toEqual({ queue: name, id: 'never', status: 'pending', result: null, timedOut: true });
		// The wait left nothing behind: no key without a TTL, no subscriber.
		expect(await resultKeysWithoutTtl(name)).toEqual([]);
		const [, subscribers] = (await rawClient(3).pubsub('NUMSUB', jobResultKey(queue.keys, 'never'))) as [string, number];
		expect(Number(subscribers)).toBe(0);
	});

	it('a worker that dies mid-job: the job is redelivered and its result still reaches the waiting Enqueue', async () => {
		const name = uniquePrefix('rq');
		const queue = queueFor(name);
		const producer = runNode({
			parameters: job('enqueue', { queue: name, payload: '{"topic": "seo"}', options: { waitForResult: 60, jobId: 'research-1' } }),
		});
		await subscribed(jobResultKey(queue.keys, 'research-1'));
		const first = (await queue.dequeue({ visibilityMs: 60_000 })).jobs[0];
		expect(first).toMatchObject({ id: 'research-1', attempt: 1 });
		// The first worker died: its deadline passes (set directly), the next take redelivers.
		await rawClient(3).zadd(queue.keys.inflight, 1, first.id);
		const second = (await queue.dequeue()).jobs[0];
		expect(second).toMatchObject({ id: 'research-1', attempt: 2 });
		expect(await queue.complete(first.id, first.lease, { result: 'from the dead worker' })).toBe('stale');
		expect(await queue.complete(second.id, second.lease, { result: { keywords: ['a', 'b'] } })).toBe('done');
		const out = (await producer).outputs[0][0];
		expect(out).toMatchObject({ queue: name, id: 'research-1', enqueued: true, status: 'completed', result: { keywords: ['a', 'b'] } });
	});

	it('Enqueue with Wait for Result on 100 items: a worker workflow completes them, each result paired to its item, on one subscriber connection', async () => {
		const name = uniquePrefix('rq');
		const worker = await startTrigger({
			credentials: testCredentials(),
			parameters: { event: 'jobAvailable', queue: name, maxParallelJobs: 10, visibilityTimeout: 60 },
			// The worker workflow: the trigger's item goes through a node run by n8n-core's engine,
			// whose first output item becomes the job's result.
			execution: async (json) =>
				(
					await runNode({
						nodeType: 'testItems',
						parameters: { items: '={{ JSON.stringify([{ n: $json.payload.n, square: $json.payload.n * $json.payload.n }]) }}' },
						items: [json],
					})
				).run,
		});
		try {
			const items = Array.from({ length: 100 }, (_, n) => ({ n }));
			const producer = runNode({ parameters: job('enqueue', { queue: name, payload: '={{ JSON.stringify({ n: $json.n }) }}', options: { waitForResult: 120 } }), items });
			// Connections this process holds: the waiting items may add one (the subscriber), not 100.
			const before = sharedPool.size;
			let peak = before;
			const sampler = setInterval(() => (peak = Math.max(peak, sharedPool.size)), 5);
			// The queue DB's shared client exists already (the trigger uses it), so any growth is the wait's.
			const result = await producer;
			clearInterval(sampler);
			expect(result.error).toBeUndefined();
			expect(result.outputs[0]).toHaveLength(100);
			result.items[0].forEach((item, i) => {
				expect(item.pairedItem).toEqual({ item: i });
				expect(item.json).toMatchObject({ status: 'completed', result: { n: i, square: i * i } });
			});
			expect(peak - before).toBe(1);
			expect(sharedPool.size).toBe(before);
			expect(worker.errors).toEqual([]);
		} finally {
			await worker.close();
		}
	});

	it('a waiter whose subscriber connection dropped reads the keys again after the reconnect', async () => {
		const key = `${uniquePrefix('rw')}result`;
		let subscriber: Redis | undefined;
		const waiter = new ResultWaiter({
			reader: sharedPool.client(testConfig(), 'queue'),
			openSubscriber: () => (subscriber = sharedPool.dedicated(testConfig(), 'queue', 'subscriber') as Redis),
			release: (c) => sharedPool.release(c),
		});
		try {
			const waiting = waiter.wait(key, 30_000, () => true);
			await subscribed(key);
			// The socket dies; the record is stored without a message (as if it was published meanwhile).
			subscriber!.stream.destroy();
			await rawClient(3).set(key, '{"status":"completed","result":1}', 'EX', 60);
			expect(await waiting).toEqual({ value: '{"status":"completed","result":1}', timedOut: false });
		} finally {
			await waiter.close();
		}
	});

	it('the trigger with Store Result "None" completes jobs without a record', async () => {
		const name = uniquePrefix('rq');
		const queue = queueFor(name);
		const worker = await startTrigger({ credentials: testCredentials(), parameters: { event: 'jobAvailable', queue: name, options: { storeResult: 'none' } } });
		try {
			const [{ id }] = await queue.enqueue([{ payload: 1 }]);
			await until(async () => worker.emitted.length === 1 && (await queue.stats()).inFlight === 0, 'the ack');
			expect(await rawClient(3).exists(jobResultKey(queue.keys, id))).toBe(0);
		} finally {
			await worker.close();
		}
	});
});
