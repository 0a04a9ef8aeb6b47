import Redis from 'ioredis';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, serverNowMs, testCredentials, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';
import { checkRateLimit, resetRateLimit } from '../../platform/rate-limit';

const RATE_DB = 4;

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

/** Separate connections, as separate workers would have. */
function clients(count: number): Redis[] {
	return Array.from({ length: count }, () => rawClient(RATE_DB));
}

const check = (key: string, extra: Record<string, unknown> = {}) => ({
	resource: 'rateLimit',
	operation: 'check',
	limitKey: key,
	maxRequests: 3,
	windowSeconds: 60,
	...extra,
});

describe('Rate Limit resource', () => {
	it('checks several items with per-item keys from expressions, one request each', async () => {
		const p = uniquePrefix('rl');
		const result = await runNode({
			parameters: check(`={{ "${p}" + $json.api }}`, { maxRequests: '={{ $json.max }}' }),
			items: [
				{ api: 'linkedin', max: 2 },
				{ api: 'twitter', max: 5 },
			],
		});
		expect(result.error).toBeUndefined();
		expect(result.outputs).toHaveLength(1);
		expect(result.outputs[0]).toEqual([
			expect.objectContaining({ key: `${p}linkedin`, allowed: true, limit: 2, used: 1, remaining: 1, retryAfterMs: 0 }),
			expect.objectContaining({ key: `${p}twitter`, allowed: true, limit: 5, used: 1, remaining: 4, retryAfterMs: 0 }),
		]);
		expect(result.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		const raw = rawClient(RATE_DB);
		const key = `ratelimit:${p}linkedin`;
		expect(await raw.type(key)).toBe('zset');
		expect(await raw.zcard(key)).toBe(1);
		// The key expires with its newest request, so an idle limit is evictable and cleaned up.
		const pttl = await raw.pttl(key);
		expect(pttl).toBeGreaterThan(0);
		expect(pttl).toBeLessThanOrEqual(60_000);
		// resetAt is documented as ISO-8601 UTC, with resetAtMs as the same instant in epoch ms.
		const out = result.outputs[0][0];
		expect(new Date(out.resetAt as string).getTime()).toBe(out.resetAtMs);
		const [, score] = await raw.zrange(key, 0, 0, 'WITHSCORES');
		expect(out.resetAtMs).toBe(Number(score) + 60_000);
	});

	it('lets items of one batch that share a key consume in item order, and does not count limited ones', async () => {
		const p = uniquePrefix('rl');
		const result = await runNode({
			parameters: check(`${p}shared`),
			items: [{}, {}, {}, {}, {}],
		});
		expect(result.error).toBeUndefined();
		const outs = result.outputs[0];
		expect(outs.map((o) => o.allowed)).toEqual([true, true, true, false, false]);
		expect(outs.map((o) => o.remaining)).toEqual([2, 1, 0, 0, 0]);
		expect(outs[3].retryAfterMs).toBeGreaterThan(0);
		expect(outs[3].retryAfterMs).toBeLessThanOrEqual(60_000);
		// Limited requests are not counted: the window holds exactly the 3 allowed ones.
		expect(await rawClient(RATE_DB).zcard(`ratelimit:${p}shared`)).toBe(3);
	});

	it('routes allowed items to output 0 and limited items to output 1 when "Route to Two Outputs" is on', async () => {
		const p = uniquePrefix('rl');
		const result = await runNode({
			parameters: check(`${p}route`, { maxRequests: 2, routeOutputs: true }),
			items: [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }],
		});
		expect(result.error).toBeUndefined();
		expect(result.outputs).toHaveLength(2);
		expect(result.outputs[0].map((o) => o.allowed)).toEqual([true, true]);
		expect(result.outputs[1].map((o) => o.allowed)).toEqual([false, false]);
		expect(result.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(result.items[1].map((i) => i.pairedItem)).toEqual([{ item: 2 }, { item: 3 }]);
	});

	it('fails closed: with two outputs and continueOnFail, an item whose check failed goes to "Limited"', async () => {
		const p = uniquePrefix('rl');
		// A string where the window should be: the script fails with WRONGTYPE for that item only.
		await rawClient(RATE_DB).set(`ratelimit:${p}broken`, 'not a window');
		const result = await runNode({
			continueOnFail: true,
			parameters: check(`={{ "${p}" + $json.k }}`, { routeOutputs: true, maxRequests: '={{ $json.max }}' }),
			items: [
				{ k: 'ok', max: 3 },
				{ k: 'broken', max: 3 },
				{ k: 'ok', max: 'many' },
			],
		});
		expect(result.error).toBeUndefined();
		expect(result.outputs[0]).toEqual([expect.objectContaining({ key: `${p}ok`, allowed: true })]);
		expect(result.outputs[1]).toHaveLength(2);
		expect(result.outputs[1][0].error).toMatch(/^Check Rate Limit failed: .*different kind of value.* \[item 1\]$/);
		expect(result.outputs[1][1].error).toMatch(/^"Max Requests" must be a positive whole number.* \[item 2\]$/);
		expect(result.items[1].map((i) => i.pairedItem)).toEqual([{ item: 1 }, { item: 2 }]);
		expect(await rawClient(RATE_DB).get(`ratelimit:${p}broken`)).toBe('not a window');
	});

	it('Status looks without consuming, Reset forgets every request', async () => {
		const p = uniquePrefix('rl');
		const raw = rawClient(RATE_DB);
		await runNode({ parameters: check(`${p}s`), items: [{}, {}] });
		const status = await runNode({
			parameters: { resource: 'rateLimit', operation: 'status', limitKey: `${p}s`, maxRequests: 3, windowSeconds: 60 },
			items: [{}, {}, {}],
		});
		expect(status.error).toBeUndefined();
		expect(status.outputs[0].map((o) => o.remaining)).toEqual([1, 1, 1]);
		expect(status.outputs[0].every((o) => o.allowed === true && o.used === 2)).toBe(true);
		expect(await raw.zcard(`ratelimit:${p}s`)).toBe(2);
		const reset = await runNode({ parameters: { resource: 'rateLimit', operation: 'reset', limitKey: `${p}s` } });
		expect(reset.outputs[0][0]).toMatchObject({ reset: true, hadRequests: true });
		expect(await raw.exists(`ratelimit:${p}s`)).toBe(0);
		const again = await runNode({ parameters: check(`${p}s`, { maxRequests: 1 }), items: [{}, {}] });
		expect(again.outputs[0].map((o) => o.allowed)).toEqual([true, false]);
	});

	it('slides: requests older than the window stop counting, and retryAfterMs points at the oldest blocking one', async () => {
		const p = uniquePrefix('rl');
		const raw = rawClient(RATE_DB);
		const key = `ratelimit:${p}slide`;
		const now = await serverNowMs(raw);
		// Planted as a Python worker would have left them: two expired, two still inside the 10 s window.
		await raw.zadd(key, now - 20_000, 'old1', now - 10_001, 'old2', now - 4000, 'recent1', now - 2000, 'recent2');
		const rule = { maxRequests: 3, windowMs: 10_000 };
		const client = rawClient(RATE_DB);
		const first = await checkRateLimit(client, key, rule);
		expect(first).toMatchObject({ allowed: true, used: 3, remaining: 0, retryAfterMs: 0 });
		expect(await raw.zscore(key, 'old1')).toBeNull();
		expect(await raw.zscore(key, 'old2')).toBeNull();
		const second = await checkRateLimit(client, key, rule);
		expect(second.allowed).toBe(false);
		// The oldest counted request (now - 4000) leaves the window at now + 6000.
		const expected = now - 4000 + 10_000 - second.checkedAtMs;
		expect(second.retryAfterMs).toBe(expected);
		expect(second.resetAtMs).toBe(first.checkedAtMs + 10_000);
		expect(await raw.zcard(key)).toBe(3);
		// What a Python worker would count for the same window: ZCOUNT key (now-window +inf
		const pyNow = await serverNowMs(raw);
		expect(await raw.zcount(key, `(${pyNow - 10_000}`, '+inf')).toBe(3);
	});

	it('acceptance: 200 parallel platform-level checks on one key over 8 connections with max 50 allow exactly 50', async () => {
		const p = uniquePrefix('rl');
		const key = `ratelimit:${p}burst`;
		const pool = clients(8);
		const rule = { maxRequests: 50, windowMs: 60_000 };
		const results = await Promise.all(
			Array.from({ length: 200 }, (_, i) => checkRateLimit(pool[i % pool.length], key, rule)),
		);
		expect(results.filter((r) => r.allowed)).toHaveLength(50);
		expect(results.filter((r) => !r.allowed)).toHaveLength(150);
		expect(results.filter((r) => r.allowed).map((r) => r.used).sort((a, b) => a - b)).toEqual(
			Array.from({ length: 50 }, (_, i) => i + 1),
		);
		const raw = rawClient(RATE_DB);
		// Every allowed request left its own member: none collapsed onto another.
		expect(await raw.zcard(key)).toBe(50);
		expect(await resetRateLimit(pool[0], key)).toBe(true);
	});

	it('acceptance: 200 checks from 20 concurrent node executions on 4 connections with max 50 allow exactly 50', async () => {
		const p = uniquePrefix('rl');
		const runs = await Promise.all(
			Array.from({ length: 20 }, (_, run) =>
				runNode({
					// Distinct connect timeouts give distinct credential fingerprints, hence separate pooled connections.
					credentials: testCredentials({ connectTimeout: 5 + (run % 4) }) as never,
					credentialId: `cred-rl-${run % 4}`,
					parameters: check(`${p}nodes`, { maxRequests: 50, routeOutputs: true }),
					items: Array.from({ length: 10 }, (_, n) => ({ n })),
				}),
			),
		);
		for (const run of runs) expect(run.error).toBeUndefined();
		const allowed = runs.flatMap((r) => r.outputs[0]);
		const limited = runs.flatMap((r) => r.outputs[1] ?? []);
		expect(allowed).toHaveLength(50);
		expect(limited).toHaveLength(150);
		expect(allowed.every((o) => o.allowed === true)).toBe(true);
		expect(limited.every((o) => o.allowed === false && (o.retryAfterMs as number) > 0)).toBe(true);
		expect(await rawClient(RATE_DB).zcard(`ratelimit:${p}nodes`)).toBe(50);
	});

	it('uses the credential key prefix and the rate-limit DB of the credential', async () => {
		const p = uniquePrefix('rl');
		const result = await runNode({
			credentials: testCredentials({ keyPrefix: `${p}tenant:`, rateLimitDb: 5 }) as never,
			credentialId: 'cred-rl-prefix',
			parameters: check('api_x'),
		});
		expect(result.outputs[0][0]).toMatchObject({ allowed: true, redisKey: `${p}tenant:ratelimit:api_x` });
		expect(await rawClient(5).zcard(`${p}tenant:ratelimit:api_x`)).toBe(1);
		expect(await rawClient(RATE_DB).exists(`${p}tenant:ratelimit:api_x`)).toBe(0);
		await rawClient(5).del(`${p}tenant:ratelimit:api_x`);
	});

	it('rejects a bad limit naming item and field, and with continueOnFail checks the good items only', async () => {
		const p = uniquePrefix('rl');
		const failed = await runNode({
			parameters: check(`={{ "${p}" + $json.k }}`, { windowSeconds: '={{ $json.w }}' }),
			items: [
				{ k: 'a', w: 60 },
				{ k: 'b', w: 1.5 },
			],
		});
		expect(failed.error?.message).toMatch(/^"Window \(Seconds\)" must be a positive whole number.*got 1\.5.* \[item 1\]$/);
		const raw = rawClient(RATE_DB);
		expect(await raw.exists(`ratelimit:${p}a`, `ratelimit:${p}b`)).toBe(0);

		const continued = await runNode({
			continueOnFail: true,
			parameters: check(`={{ "${p}" + $json.k }}`, { maxRequests: '={{ $json.max }}' }),
			items: [
				{ k: 'a', max: 0 },
				{ k: 'b', max: 2 },
			],
		});
		expect(continued.error).toBeUndefined();
		expect(continued.outputs[0][0].error).toMatch(/^"Max Requests" must be a positive whole number.* \[item 0\]$/);
		expect(continued.outputs[0][1]).toMatchObject({ allowed: true, remaining: 1 });
		expect(continued.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(await raw.exists(`ratelimit:${p}a`)).toBe(0);
		expect(await raw.zcard(`ratelimit:${p}b`)).toBe(1);
	});

	it('keeps Lua-significant and glob characters in keys literal', async () => {
		const p = uniquePrefix('rl');
		const odd = `${p}a*b?[c]'"\\n%s--]]..`;
		const result = await runNode({ parameters: check(odd, { maxRequests: 1 }), items: [{}, {}] });
		expect(result.outputs[0].map((o) => o.allowed)).toEqual([true, false]);
		expect(await rawClient(RATE_DB).zcard(`ratelimit:${odd}`)).toBe(1);
	});
});

