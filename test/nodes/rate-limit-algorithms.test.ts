/**
 * Token bucket and fixed window (platform/scripts/rate-limit-token-bucket.lua and
 * rate-limit-fixed-window.lua): exact under concurrency, their figures computed from state set
 * directly (a bucket emptied 2 s ago, a window counted in the past) instead of waiting for the
 * clock, and Status / Reset through the node for every algorithm.
 */

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, serverNowMs, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';
import { checkRateLimit, resetRateLimit, type RateLimitRule } from '../../platform/rate-limit';

const RATE_DB = 4;

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

/** 100 concurrent clients, each on its own connection, one check each. */
async function hundredClients(key: string, rule: RateLimitRule) {
	const pool = Array.from({ length: 10 }, () => rawClient(RATE_DB));
	return Promise.all(Array.from({ length: 100 }, (_, i) => checkRateLimit(pool[i % pool.length], key, rule)));
}

describe('Token bucket', () => {
	it('admits exactly the burst under 100 concurrent clients, then refuses with the refill time', async () => {
		const key = `ratelimit:${uniquePrefix('tb')}burst`;
		// A token every 10,000 s: nothing refills during the test.
		const rule: RateLimitRule = { algorithm: 'tokenBucket', capacity: 37, refillPerSecond: 0.0001 };
		const results = await hundredClients(key, rule);
		const allowed = results.filter((r) => r.allowed);
		expect(allowed).toHaveLength(37);
		expect(allowed.map((r) => r.used).sort((a, b) => a - b)).toEqual(Array.from({ length: 37 }, (_, i) => i + 1));
		const refused = results.filter((r) => !r.allowed);
		expect(refused.every((r) => r.remaining === 0 && r.algorithm === 'tokenBucket')).toBe(true);
		// An empty bucket (tokens may be a hair above 0 from the refill meanwhile) waits close to one token's time.
		expect(refused.every((r) => r.retryAfterMs > 9_990_000 && r.retryAfterMs <= 10_000_000)).toBe(true);
		const raw = rawClient(RATE_DB);
		expect(await raw.type(key)).toBe('hash');
		expect(Number(await raw.hget(key, 'tokens'))).toBeLessThan(1);
	});

	it('refills from the stored state at the given rate, caps at the capacity, and expires when full', async () => {
		const raw = rawClient(RATE_DB);
		const key = `ratelimit:${uniquePrefix('tb')}refill`;
		const rule: RateLimitRule = { algorithm: 'tokenBucket', capacity: 10, refillPerSecond: 0.5 };
		// Emptied 8 s ago at half a token a second: 4 tokens now (the 5th needs 2 s more).
		await raw.hset(key, 'tokens', 0, 'at', (await serverNowMs(raw)) - 8000);
		const status = await checkRateLimit(raw, key, rule, { consume: false });
		expect(status).toMatchObject({ allowed: true, limit: 10, used: 6, remaining: 4, retryAfterMs: 0, windowMs: 20_000 });
		// Full again once the missing 6 tokens have dripped in: 12 s.
		expect(status.resetAtMs - status.checkedAtMs).toBeGreaterThan(10_000);
		expect(status.resetAtMs - status.checkedAtMs).toBeLessThanOrEqual(12_000);
		for (let i = 0; i < 4; i++) expect((await checkRateLimit(raw, key, rule)).allowed).toBe(true);
		const refused = await checkRateLimit(raw, key, rule);
		expect(refused.allowed).toBe(false);
		expect(refused.retryAfterMs).toBeGreaterThan(0);
		expect(refused.retryAfterMs).toBeLessThanOrEqual(2000);
		const pttl = await raw.pttl(key);
		expect(pttl).toBeGreaterThan(16_000);
		expect(pttl).toBeLessThanOrEqual(20_000);
		// Long idle: the bucket holds the capacity, never more.
		await raw.hset(key, 'tokens', 3, 'at', (await serverNowMs(raw)) - 3_600_000);
		expect(await checkRateLimit(raw, key, rule, { consume: false })).toMatchObject({ remaining: 10, used: 0 });
	});
});

describe('Fixed window', () => {
	it('admits exactly the limit under 100 concurrent clients, in a window aligned to the clock', async () => {
		const key = `ratelimit:${uniquePrefix('fw')}burst`;
		const rule: RateLimitRule = { algorithm: 'fixedWindow', maxRequests: 42, windowMs: 86_400_000 };
		const results = await hundredClients(key, rule);
		const allowed = results.filter((r) => r.allowed);
		expect(allowed).toHaveLength(42);
		expect(allowed.map((r) => r.used).sort((a, b) => a - b)).toEqual(Array.from({ length: 42 }, (_, i) => i + 1));
		const refused = results.filter((r) => !r.allowed);
		// Refused until the day ends at 00:00 UTC, which is also when the full limit is back.
		for (const r of refused) {
			expect(r.resetAtMs % 86_400_000).toBe(0);
			expect(r.checkedAtMs + r.retryAfterMs).toBe(r.resetAtMs);
			expect(r.resetAtMs - r.checkedAtMs).toBeLessThanOrEqual(86_400_000);
		}
		const raw = rawClient(RATE_DB);
		expect(await raw.type(key)).toBe('hash');
		expect(await raw.hget(key, 'count')).toBe('42');
		expect(Number(await raw.hget(key, 'start')) % 86_400_000).toBe(0);
	});

	it('starts from zero when the stored count belongs to an earlier window', async () => {
		const raw = rawClient(RATE_DB);
		const key = `ratelimit:${uniquePrefix('fw')}old`;
		const rule: RateLimitRule = { algorithm: 'fixedWindow', maxRequests: 5, windowMs: 60_000 };
		const now = await serverNowMs(raw);
		const previous = now - (now % 60_000) - 60_000;
		await raw.hset(key, 'start', previous, 'count', 5);
		const first = await checkRateLimit(raw, key, rule);
		expect(first).toMatchObject({ allowed: true, used: 1, remaining: 4, algorithm: 'fixedWindow' });
		const start = first.checkedAtMs - (first.checkedAtMs % 60_000);
		expect(first.resetAtMs).toBe(start + 60_000);
		expect(await raw.hget(key, 'start')).toBe(String(start));
		const pttl = await raw.pttl(key);
		expect(pttl).toBeGreaterThan(0);
		expect(pttl).toBeLessThanOrEqual(60_000);
	});
});

describe('Rate Limit node with each algorithm', () => {
	const params = (key: string, extra: Record<string, unknown>) => ({ resource: 'rateLimit', limitKey: key, ...extra });

	it('Check, Status and Reset work for the token bucket and the fixed window', async () => {
		const p = uniquePrefix('alg');
		const raw = rawClient(RATE_DB);
		for (const [name, rule] of [
			['tb', { algorithm: 'tokenBucket', burst: 2, refillPerSecond: 0.001 }],
			['fw', { algorithm: 'fixedWindow', maxRequests: 2, windowSeconds: 3600 }],
		] as const) {
			const key = `${p}${name}`;
			const checked = await runNode({ parameters: params(key, { operation: 'check', routeOutputs: true, ...rule }), items: [{}, {}, {}] });
			expect(checked.error).toBeUndefined();
			expect(checked.outputs[0].map((o) => o.remaining)).toEqual([1, 0]);
			expect(checked.outputs[1]).toEqual([expect.objectContaining({ allowed: false, algorithm: rule.algorithm, limit: 2 })]);
			expect(checked.items[1][0].pairedItem).toEqual({ item: 2 });
			const status = await runNode({ parameters: params(key, { operation: 'status', ...rule }) });
			expect(status.outputs[0][0]).toMatchObject({ allowed: false, used: 2, remaining: 0 });
			expect(await raw.type(`ratelimit:${key}`)).toBe('hash');
			const reset = await runNode({ parameters: params(key, { operation: 'reset' }) });
			expect(reset.outputs[0][0]).toMatchObject({ reset: true, hadRequests: true });
			const again = await runNode({ parameters: params(key, { operation: 'status', ...rule }) });
			expect(again.outputs[0][0]).toMatchObject({ allowed: true, used: 0, remaining: 2 });
		}
		const bucket = await runNode({ parameters: params(`${p}tb2`, { operation: 'check', algorithm: 'tokenBucket', burst: 4, refillPerSecond: 0.5 }) });
		expect(bucket.outputs[0][0]).toMatchObject({ refillPerSecond: 0.5, windowSeconds: 8, limit: 4 });
	});

	it('rejects a bad token-bucket rate naming item and field', async () => {
		const p = uniquePrefix('alg');
		const result = await runNode({
			parameters: params(`${p}bad`, { operation: 'check', algorithm: 'tokenBucket', burst: 3, refillPerSecond: '={{ $json.rate }}' }),
			items: [{ rate: 1 }, { rate: 0 }],
		});
		expect(result.error?.message).toMatch(/^"Refill Rate \(Per Second\)" must be a number of requests per second from 0.0001 to 1000000, got 0 \[item 1\]$/);
		expect(await rawClient(RATE_DB).exists(`ratelimit:${p}bad`)).toBe(0);
	});

	it('a key switched to another algorithm fails with a readable error until it is reset', async () => {
		const p = uniquePrefix('alg');
		await runNode({ parameters: params(`${p}x`, { operation: 'check', maxRequests: 3, windowSeconds: 60 }) });
		const switched = await runNode({ parameters: params(`${p}x`, { operation: 'check', algorithm: 'fixedWindow', maxRequests: 3, windowSeconds: 60 }) });
		expect(switched.error?.message).toMatch(/^Check Rate Limit failed: .*different kind of value.* \[item 0\]$/);
		expect(await resetRateLimit(rawClient(RATE_DB), `ratelimit:${p}x`)).toBe(true);
	});
});
