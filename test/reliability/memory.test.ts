/**
 * 2. Memory pressure, on a redis-server with our redis.conf (maxmemory-policy volatile-lru)
 * and a 20 MB maxmemory. Everything is written through the node, as workflows would.
 */
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { JobQueue } from '../../platform/queue';
import { runNode, type RunNodeResult, type RunNodeOptions } from '../helpers/n8n';
import type { RedisServerHandle } from '../helpers/redis-server';
import { credentialsFor, raw, report, scanKeys, sleep, startServer, stopAll } from './support';

let server: RedisServerHandle;

beforeAll(async () => {
	server = await startServer({ args: ['--maxmemory', '20mb'] });
});

afterAll(async () => {
	await sharedPool.closeAll();
	await stopAll();
});

/** Runs the node, and turns a run that does not settle within 30 s into a failure (a hang). */
async function run(options: Omit<RunNodeOptions, 'credentials'>): Promise<RunNodeResult> {
	return Promise.race([
		runNode({ ...options, credentials: credentialsFor(server) }),
		sleep(30_000).then(() => {
			throw new Error('the execution hung under memory pressure');
		}),
	]);
}

async function info(field: string): Promise<number> {
	const text = await raw(server).info();
	const match = new RegExp(`^${field}:(\\d+)`, 'm').exec(text);
	return match ? Number(match[1]) : NaN;
}

const BLOB = '"x".repeat(2000)';
let batch = 0;

/** 500 content, 500 search and 500 API cache entries of ~2 KB each, all with TTLs. */
async function cacheBatch(): Promise<void> {
	const n = batch++;
	const items = Array.from({ length: 500 }, (_, i) => ({ id: `${n}-${i}` }));
	const results = await Promise.all([
		run({ items, parameters: { resource: 'content', operation: 'cache', contentId: '={{ $json.id }}', valueType: 'text', text: `={{ ${BLOB} }}`, ttl: 86400 } }),
		run({ items, parameters: { resource: 'search', operation: 'cacheResults', query: '={{ "query " + $json.id }}', results: `={{ JSON.stringify([{ body: ${BLOB} }]) }}`, ttl: 3600 } }),
		run({ items, parameters: { resource: 'apiCache', operation: 'set', namespace: 'competitors', cacheKey: '={{ $json.id }}', value: `={{ JSON.stringify({ body: ${BLOB} }) }}`, ttl: 3600 } }),
	]);
	for (const result of results) expect(result.error).toBeUndefined();
}

async function enqueue(count: number, payloadBytes: number): Promise<RunNodeResult> {
	return run({
		items: Array.from({ length: count }, (_, n) => ({ n })),
		parameters: { resource: 'job', operation: 'enqueue', queue: 'pressure', payload: `={{ JSON.stringify({ n: $json.n, pad: "p".repeat(${payloadBytes}) }) }}` },
	});
}

async function enqueueReporting(count: number, payloadBytes: number): Promise<{ stored: number; errors: string[] }> {
	const result = await run({
		continueOnFail: true,
		items: Array.from({ length: count }, (_, n) => ({ n })),
		parameters: { resource: 'job', operation: 'enqueue', queue: 'pressure', payload: `={{ JSON.stringify({ n: $json.n, pad: "p".repeat(${payloadBytes}) }) }}` },
	});
	expect(result.error).toBeUndefined();
	const out = result.outputs[0];
	return { stored: out.filter((o) => o.enqueued === true).length, errors: out.filter((o) => o.error).map((o) => String(o.error)) };
}

/** What the first test measured about the 50 locks it acquired, for the lock test below. */
const lockCounts = { acquired: 0, afterCaching: -1, atOom: -1, falseReleases: -1 };

describe('under a 20 MB maxmemory with volatile-lru', () => {
	it('evicts cache entries but never queued or in-flight jobs, then fails writes with a readable OOM error', async () => {
		const queue = new JobQueue(raw(server, 3), new KeySchema().queue('pressure'));
		const total = async () => {
			const s = await queue.stats();
			return s.waiting + s.prioritized + s.delayed + s.inFlight;
		};
		// State that must survive: 2,000 queued jobs, 200 of them taken (in flight), 50 locks.
		expect((await enqueue(2000, 200)).error).toBeUndefined();
		const taken = await run({ parameters: { resource: 'job', operation: 'dequeue', queue: 'pressure', timeout: 0, visibilityTimeout: 3600, options: { maxJobs: 200 } } });
		expect(taken.outputs[0]).toHaveLength(200);
		const locks = await run({
			items: Array.from({ length: 50 }, (_, n) => ({ n })),
			parameters: { resource: 'lock', operation: 'acquire', lockName: '={{ "campaign-" + $json.n }}', lockTtl: 3600 },
		});
		expect(locks.error).toBeUndefined();
		lockCounts.acquired = locks.outputs[0].filter((o) => o.acquired === true).length;
		let acknowledged = 2000;

		// Cache far more than fits, interleaved with more jobs: the cache must give way.
		for (let round = 0; round < 12; round++) {
			await cacheBatch();
			expect((await enqueue(100, 200)).error).toBeUndefined();
			acknowledged += 100;
		}
		const evicted = await info('evicted_keys');
		const cached = (await scanKeys(raw(server, 1), 'content:*')).length + (await scanKeys(raw(server, 2))).length;
		const afterCaching = await total();
		const inFlightAfterCaching = (await queue.stats()).inFlight;
		lockCounts.afterCaching = (await scanKeys(raw(server, 0), 'lock:*')).length;
		const cacheWritten = batch * 1500;

		// Now only non-evictable data: jobs until the server refuses them. Per item, so the count is exact.
		let oomError: string | undefined;
		for (let round = 0; round < 200 && !oomError; round++) {
			const { stored, errors } = await enqueueReporting(500, 2000);
			acknowledged += stored;
			oomError = errors[0];
		}
		// The big batch's own query buffer counted towards maxmemory and is freed now, so a little
		// room may be back: single-item executions must also hit the wall, with the same message.
		let singleError: string | undefined;
		let singles = 0;
		while (!singleError && singles < 3000) {
			const one = await run({ parameters: { resource: 'job', operation: 'enqueue', queue: 'pressure', payload: `={{ JSON.stringify({ pad: "s".repeat(2000) }) }}` } });
			if (one.error) singleError = one.error.message;
			else singles++;
		}
		acknowledged += singles;
		const atOom = await queue.stats();
		lockCounts.atOom = (await scanKeys(raw(server, 0), 'lock:*')).length;
		const cachedAtEnd = (await scanKeys(raw(server, 1), 'content:*')).length + (await scanKeys(raw(server, 2))).length;
		// A holder whose lock was evicted must learn it on release, never get a false "released".
		const release = await run({
			items: locks.outputs[0].map((o) => ({ name: o.lock, token: o.token })),
			parameters: { resource: 'lock', operation: 'release', lockName: '={{ $json.name }}', lockToken: '={{ $json.token }}' },
		});
		const releases = release.outputs[0] ?? [];
		// Acks free memory, so they must still work at OOM: complete the 200 in-flight jobs.
		const completed = await run({
			items: taken.outputs[0].map((o) => ({ id: o.id })),
			parameters: { resource: 'job', operation: 'complete', queue: 'pressure', jobId: '={{ $json.id }}' },
		});
		const afterAcks = await queue.stats();
		lockCounts.falseReleases = releases.filter((o) => o.released === true).length - lockCounts.atOom;

		report('Memory pressure: maxmemory 20 MB, volatile-lru', ['figure', 'value'], [
			['cache entries written (content + search + API, ~2 KB, with TTL)', cacheWritten],
			['cache entries left after the caching rounds', cached],
			['keys evicted by Redis (INFO evicted_keys)', evicted],
			['jobs acknowledged after caching / present', `${3200} / ${afterCaching}`],
			['jobs acknowledged in total / present at OOM', `${acknowledged} / ${atOom.waiting + atOom.prioritized + atOom.delayed + atOom.inFlight}`],
			['in-flight jobs (200 taken) after caching / at OOM', `${inFlightAfterCaching} / ${atOom.inFlight}`],
			['lock keys (50 held) after caching / at OOM', `${lockCounts.afterCaching} / ${lockCounts.atOom}`],
			['cache entries left at OOM', cachedAtEnd],
			['first refused write', oomError ?? 'none'],
			['single-item executions accepted after the batch OOM, then refused', singles],
			['in-flight jobs completed (acked) while at OOM', 200 - afterAcks.inFlight],
		]);
		expect(evicted).toBeGreaterThan(0);
		expect(cached).toBeLessThan(cacheWritten);
		expect(afterCaching).toBe(3200);
		expect(inFlightAfterCaching).toBe(200);
		expect(atOom.waiting + atOom.prioritized + atOom.delayed + atOom.inFlight).toBe(acknowledged);
		expect(atOom.inFlight).toBe(200);
		expect(oomError).toMatch(/^Enqueue Job failed: Redis is out of memory \(maxmemory reached and nothing left to evict\) \[item \d+\]$/);
		expect(singleError).toMatch(/^Enqueue Job failed: Redis is out of memory.* \[item 0\]$/);
		expect(release.error).toBeUndefined();
		expect(completed.error).toBeUndefined();
		expect(afterAcks.inFlight).toBe(0);
		expect(lockCounts.falseReleases).toBe(0);
	});

	/*
	 * Was a known fault: locks used to be `SET lock:{name} token NX PX ttl`, keys with a TTL,
	 * which volatile-lru evicts first (a held lock nobody touched since acquiring is among the
	 * least recently used keys), so another contender could take a lock still held. Locks now
	 * carry no Redis TTL: the lease end lives in the value and the scripts judge it by the
	 * server clock (platform/lock.ts), so they are as non-evictable as queue state.
	 */
	it('never evicts a held lock (leases live in the value, the keys have no TTL)', () => {
		expect(lockCounts.acquired).toBe(50);
		expect(lockCounts.afterCaching).toBe(50);
		expect(lockCounts.atOom).toBe(50);
	});
});
