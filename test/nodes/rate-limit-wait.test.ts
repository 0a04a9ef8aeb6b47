/**
 * Waiting for a rate-limit slot: the ticket queue of includes/waiters.lua and the waiting loop of
 * platform/rate-limit-wait.ts. Order and the limit are checked without timing: the limit's state is
 * set directly (requests aged out of the window, a bucket refilled, a lease ended) and the waiters
 * are polled in an order of the test's choosing; the waits that really sleep assert only order and
 * outcome. Rates per second and wait accuracy are measured by the bench (bench/suites/rate-limit-wait.ts).
 */
import Redis from 'ioredis';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, serverNowMs, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';
import {
	checkRateLimit,
	leaveRateLimitQueue,
	newWaiterTicket,
	rateLimitWaiterKeys,
	type RateLimitRule,
	type WaiterTicket,
} from '../../platform/rate-limit';
import { keySlot } from '../../platform/cluster-slot';
import { RateLimitWaitCancelled, waitForRateLimit } from '../../platform/rate-limit-wait';

const RATE_DB = 4;

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

/** Ages every request of a sliding window out of it, as if the window had passed. */
async function ageWindow(raw: Redis, key: string, windowMs: number): Promise<void> {
	const members = await raw.zrange(key, 0, -1);
	const past = (await serverNowMs(raw)) - windowMs - 1;
	for (const member of members) await raw.zadd(key, 'XX', past, member);
}

function tickets(count: number): WaiterTicket[] {
	return Array.from({ length: count }, () => newWaiterTicket(60_000));
}

describe('Waiter queue (fixed state, no timing)', () => {
	it('serves sliding-window waiters in arrival order whatever order they poll in, never past the limit', async () => {
		const raw = rawClient(RATE_DB);
		const key = `ratelimit:${uniquePrefix('wq')}sw`;
		const { waiters, leases } = rateLimitWaiterKeys(key);
		const rule: RateLimitRule = { maxRequests: 3, windowMs: 60_000 };
		for (let i = 0; i < 3; i++) expect((await checkRateLimit(raw, key, rule)).allowed).toBe(true);
		const t = tickets(10);
		const first = [];
		for (const ticket of t) first.push(await checkRateLimit(raw, key, rule, { ticket }));
		expect(first.every((r) => !r.allowed)).toBe(true);
		expect(first.map((r) => r.waiting)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
		// Each waiter is promised a later slot than the one before it; the 4th waits a window more.
		const promised = first.map((r) => r.checkedAtMs + r.retryAfterMs);
		expect(promised).toEqual([...promised].sort((a, b) => a - b));
		expect(promised[3] - promised[0]).toBe(60_000);
		expect(await raw.zrange(waiters, 0, -1)).toEqual(t.map((x) => x.id));

		await ageWindow(raw, key, rule.windowMs);
		// Three slots are free, but all are owed to waiters: a check without a ticket cannot overtake them.
		expect(await checkRateLimit(raw, key, rule)).toMatchObject({ allowed: false, remaining: 0, waiting: 10 });
		const polled = [];
		for (const ticket of [...t].reverse()) polled.push({ ticket, result: await checkRateLimit(raw, key, rule, { ticket }) });
		const admitted = polled.filter((p) => p.result.allowed).map((p) => p.ticket.id);
		expect(admitted.sort()).toEqual([t[0].id, t[1].id, t[2].id].sort());
		expect(await raw.zcard(key)).toBe(3);
		expect(await raw.zrange(waiters, 0, -1)).toEqual(t.slice(3).map((x) => x.id));

		// t3 gives up; t4 crashed (its lease ended): both leave, and t5, t6, t7 are next.
		expect(await leaveRateLimitQueue(raw, key, t[3])).toBe(true);
		expect(await leaveRateLimitQueue(raw, key, t[3])).toBe(false);
		await raw.zadd(leases, 'XX', (await serverNowMs(raw)) - 1, t[4].id);
		await ageWindow(raw, key, rule.windowMs);
		const next = [];
		for (const i of [9, 8, 7, 6, 5]) next.push({ i, allowed: (await checkRateLimit(raw, key, rule, { ticket: t[i] })).allowed });
		expect(next.filter((n) => n.allowed).map((n) => n.i).sort()).toEqual([5, 6, 7]);
		expect(await raw.zcard(key)).toBe(3);
		expect(await raw.zrange(waiters, 0, -1)).toEqual([t[8].id, t[9].id]);
		expect(await raw.zscore(leases, t[4].id)).toBeNull();
		// The queue's keys expire with their last lease.
		const pttl = await raw.pttl(waiters);
		expect(pttl).toBeGreaterThan(0);
		expect(Math.abs((await raw.pttl(leases)) - pttl)).toBeLessThan(1000);
	});

	it.each([
		['token bucket', { algorithm: 'tokenBucket', capacity: 4, refillPerSecond: 0.0001 } as RateLimitRule],
		['fixed window', { algorithm: 'fixedWindow', maxRequests: 4, windowMs: 86_400_000 } as RateLimitRule],
	])('serves %s waiters in arrival order when two slots free up', async (_name, rule) => {
		const raw = rawClient(RATE_DB);
		const key = `ratelimit:${uniquePrefix('wq')}alg`;
		for (let i = 0; i < 4; i++) expect((await checkRateLimit(raw, key, rule)).allowed).toBe(true);
		const t = tickets(5);
		for (const ticket of t) expect((await checkRateLimit(raw, key, rule, { ticket })).allowed).toBe(false);
		// Two requests' worth comes back: two tokens in the bucket, or two fewer counted in the window.
		if (rule.algorithm === 'tokenBucket') await raw.hset(key, 'tokens', 2, 'at', await serverNowMs(raw));
		else await raw.hincrby(key, 'count', -2);
		expect((await checkRateLimit(raw, key, rule)).allowed).toBe(false);
		const allowed: number[] = [];
		for (const i of [4, 3, 2, 1, 0]) if ((await checkRateLimit(raw, key, rule, { ticket: t[i] })).allowed) allowed.push(i);
		expect(allowed.sort()).toEqual([0, 1]);
		expect(await checkRateLimit(raw, key, rule, { consume: false })).toMatchObject({ allowed: false, remaining: 0, used: 4, waiting: 3 });
	});

	it('keeps the queue keys in the limit key\'s Cluster slot, hash tag or not', () => {
		for (const key of ['ratelimit:api_x', 'ratelimit:{acct}:api', 'staging:ratelimit:api_x', 'ratelimit:x}{y}']) {
			const { waiters, leases } = rateLimitWaiterKeys(key);
			expect([keySlot(waiters), keySlot(leases)]).toEqual([keySlot(key), keySlot(key)]);
		}
		expect(rateLimitWaiterKeys('ratelimit:api_x')).toEqual({ waiters: 'ratelimit:api_x:waiters:{ratelimit:api_x}', leases: 'ratelimit:api_x:leases:{ratelimit:api_x}' });
		expect(rateLimitWaiterKeys('ratelimit:{acct}:api')).toEqual({ waiters: 'ratelimit:{acct}:api:waiters', leases: 'ratelimit:{acct}:api:leases' });
		// Braces without a hash tag: plain suffixes, one server only.
		expect(rateLimitWaiterKeys('ratelimit:a}b').waiters).toBe('ratelimit:a}b:waiters');
		expect(rateLimitWaiterKeys('ratelimit:a{b').leases).toBe('ratelimit:a{b:leases');
	});
});

describe('waitForRateLimit', () => {
	it('admits concurrent waiters on one key in arrival order, all of them', async () => {
		const client = rawClient(RATE_DB);
		const key = `ratelimit:${uniquePrefix('ww')}flow`;
		// One token every 5 ms: the 20 waiters take about 100 ms in all.
		const rule: RateLimitRule = { algorithm: 'tokenBucket', capacity: 1, refillPerSecond: 200 };
		// On one connection the first checks reach Redis in the order they are sent.
		const results = await Promise.all(Array.from({ length: 20 }, () => waitForRateLimit(client, key, rule, { maxWaitMs: 60_000 })));
		expect(results.every((r) => r.allowed)).toBe(true);
		const admittedAt = results.map((r) => r.checkedAtMs);
		expect(admittedAt).toEqual([...admittedAt].sort((a, b) => a - b));
		expect(results[0]).toMatchObject({ checks: 1, waitedMs: 0 });
		expect(results.slice(1).every((r) => r.checks >= 2 && r.promisedWaitMs > 0)).toBe(true);
		expect(await client.exists(...Object.values(rateLimitWaiterKeys(key)))).toBe(0);
	});

	it('gives up after the maximum wait and leaves the queue', async () => {
		const client = rawClient(RATE_DB);
		const key = `ratelimit:${uniquePrefix('ww')}max`;
		const rule: RateLimitRule = { maxRequests: 1, windowMs: 60_000 };
		expect((await checkRateLimit(client, key, rule)).allowed).toBe(true);
		const waited = await waitForRateLimit(client, key, rule, { maxWaitMs: 30 });
		expect(waited.allowed).toBe(false);
		expect(waited.waitedMs).toBeGreaterThanOrEqual(30);
		expect(waited.retryAfterMs).toBeGreaterThan(0);
		expect(await client.exists(...Object.values(rateLimitWaiterKeys(key)))).toBe(0);
	});

	it('stops at once when its signal aborts and frees its place', async () => {
		const client = rawClient(RATE_DB);
		const key = `ratelimit:${uniquePrefix('ww')}abort`;
		const rule: RateLimitRule = { algorithm: 'fixedWindow', maxRequests: 1, windowMs: 86_400_000 };
		expect((await checkRateLimit(client, key, rule)).allowed).toBe(true);
		const controller = new AbortController();
		controller.abort();
		await expect(waitForRateLimit(client, key, rule, { maxWaitMs: 60_000, signal: controller.signal })).rejects.toBeInstanceOf(
			RateLimitWaitCancelled,
		);
		expect(await client.exists(...Object.values(rateLimitWaiterKeys(key)))).toBe(0);
	});
});

describe('Rate Limit > Check, When Limited: Wait Until Allowed', () => {
	const waitCheck = (key: string, extra: Record<string, unknown>) => ({
		resource: 'rateLimit',
		operation: 'check',
		limitKey: key,
		whenLimited: 'wait',
		...extra,
	});

	it('waits items that share a key in item order, and items on other keys not behind them', async () => {
		const p = uniquePrefix('wn');
		const result = await runNode({
			parameters: waitCheck(`={{ "${p}" + $json.k }}`, { algorithm: 'tokenBucket', burst: 1, refillPerSecond: 20, maxWaitSeconds: 30 }),
			items: [{ k: 'a' }, { k: 'a' }, { k: 'a' }, { k: 'b' }],
		});
		expect(result.error).toBeUndefined();
		const out = result.outputs[0];
		expect(out.map((o) => o.allowed)).toEqual([true, true, true, true]);
		expect(result.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }, { item: 3 }]);
		expect(out[0].waitedMs).toBe(0);
		expect(out[3].waitedMs).toBe(0);
		expect(out[1].waitedMs as number).toBeGreaterThan(0);
		expect(out[2].waitedMs as number).toBeGreaterThanOrEqual(out[1].waitedMs as number);
	});

	it('after Max Wait routes the item to Limited, or fails it naming the item', async () => {
		const p = uniquePrefix('wn');
		const raw = rawClient(RATE_DB);
		const base = { maxRequests: 1, windowSeconds: 60, maxWaitSeconds: 0.05, routeOutputs: true };
		const routed = await runNode({ parameters: waitCheck(`${p}r`, base), items: [{}, {}] });
		expect(routed.error).toBeUndefined();
		expect(routed.outputs[0]).toEqual([expect.objectContaining({ allowed: true, waitedMs: 0 })]);
		expect(routed.outputs[1]).toEqual([expect.objectContaining({ allowed: false, used: 1, remaining: 0 })]);
		expect(routed.outputs[1][0].waitedMs as number).toBeGreaterThanOrEqual(50);
		expect(await raw.exists(...Object.values(rateLimitWaiterKeys(`ratelimit:${p}r`)))).toBe(0);

		const failed = await runNode({ parameters: waitCheck(`${p}e`, { ...base, afterMaxWait: 'error' }), items: [{}, {}] });
		expect(failed.error?.message).toMatch(/^Check Rate Limit failed: still limited after waiting the Max Wait of 0\.05 s; .* \[item 1\]$/);
		const continued = await runNode({
			continueOnFail: true,
			parameters: waitCheck(`${p}e`, { ...base, afterMaxWait: 'error' }),
			items: [{}],
		});
		expect(continued.outputs[1][0].error).toMatch(/still limited .* \[item 0\]$/);
		expect(await raw.zcard(`ratelimit:${p}e`)).toBe(1);
	});

	it('rejects bad wait settings naming item and field, before anything is counted', async () => {
		const p = uniquePrefix('wn');
		const bad = await runNode({
			continueOnFail: true,
			parameters: waitCheck(`={{ "${p}" + $json.k }}`, { maxRequests: 5, windowSeconds: 60, whenLimited: '={{ $json.when }}', maxWaitSeconds: '={{ $json.max }}' }),
			items: [
				{ k: 'a', when: 'sleep', max: 1 },
				{ k: 'b', when: 'wait', max: -1 },
				{ k: 'c', when: 'wait', max: 2 },
			],
		});
		expect(bad.outputs[0][0].error).toMatch(/^"When Limited" must be one of "route", "wait", got "sleep" \[item 0\]$/);
		expect(bad.outputs[0][1].error).toMatch(/^"Max Wait \(Seconds\)" must be a number of seconds from 0 to 86400, got -1 \[item 1\]$/);
		expect(bad.outputs[0][2]).toMatchObject({ allowed: true, waitedMs: 0 });
		expect(await rawClient(RATE_DB).exists(`ratelimit:${p}a`, `ratelimit:${p}b`)).toBe(0);
	});

	it('stops waiting when the execution is cancelled, and frees the place in the queue', async () => {
		const p = uniquePrefix('wn');
		const raw = rawClient(RATE_DB);
		const key = `ratelimit:${p}c`;
		const { waiters } = rateLimitWaiterKeys(key);
		let cancel: (() => void) | undefined;
		const running = runNode({
			parameters: waitCheck(`${p}c`, { maxRequests: 1, windowSeconds: 3600, maxWaitSeconds: 3600 }),
			items: [{}, {}],
			onStart: (stop) => (cancel = stop),
		});
		// Item 1 holds a ticket once it waits; without the cancel it would wait for an hour.
		while ((await raw.zcard(waiters)) === 0) await new Promise((resolve) => setImmediate(resolve));
		cancel?.();
		await running;
		expect(await raw.exists(waiters)).toBe(0);
		expect(await raw.zcard(key)).toBe(1);
	});
});
