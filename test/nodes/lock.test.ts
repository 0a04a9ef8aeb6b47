import type Redis from 'ioredis';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, testCredentials, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';
import { acquireLock, extendLock, releaseLock } from '../../platform/lock';

const LOCK_DB = 0;

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const acquire = (name: string, extra: Record<string, unknown> = {}) => ({
	resource: 'lock',
	operation: 'acquire',
	lockName: name,
	lockTtl: 30,
	...extra,
});

/** Counts how many contenders believe they hold the lock, and the most ever at once. */
class Holders {
	now = 0;

	max = 0;

	enter(): void {
		this.now += 1;
		this.max = Math.max(this.max, this.now);
	}

	leave(): void {
		this.now -= 1;
	}
}

describe('Lock resource', () => {
	it('acquires several locks from expressions with random tokens, a TTL and the key lock:{name}', async () => {
		const p = uniquePrefix('lk');
		const result = await runNode({
			parameters: acquire(`={{ "${p}" + $json.campaign }}`, { lockTtl: '={{ $json.ttl }}' }),
			items: [
				{ campaign: 'c1', ttl: 30 },
				{ campaign: 'c2', ttl: 60 },
			],
		});
		expect(result.error).toBeUndefined();
		const [a, b] = result.outputs[0];
		expect(a).toMatchObject({ lock: `${p}c1`, key: `lock:${p}c1`, acquired: true, attempts: 1 });
		expect(b).toMatchObject({ lock: `${p}c2`, acquired: true });
		expect(a.token).toMatch(/^[0-9a-f]{32}$/);
		expect(a.token).not.toBe(b.token);
		expect(result.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		const raw = rawClient(LOCK_DB);
		expect(await raw.get(`lock:${p}c1`)).toBe(a.token);
		expect(await raw.type(`lock:${p}c2`)).toBe('string');
		const pttl = await raw.pttl(`lock:${p}c2`);
		expect(pttl).toBeGreaterThan(30_000);
		expect(pttl).toBeLessThanOrEqual(60_000);
		expect(new Date(b.expiresAt as string).getTime()).toBe(b.expiresAtMs);
	});

	it('lets only the first item of a batch take a lock that two items name', async () => {
		const p = uniquePrefix('lk');
		const result = await runNode({ parameters: acquire(`${p}same`), items: [{}, {}] });
		const [first, second] = result.outputs[0];
		expect(first).toMatchObject({ acquired: true });
		expect(second).toMatchObject({ acquired: false, token: null, expiresAt: null });
		expect(second.heldForMs).toBeGreaterThan(0);
		expect(await rawClient(LOCK_DB).get(`lock:${p}same`)).toBe(first.token);
	});

	it('releases only with the matching token; a wrong token leaves the lock in place', async () => {
		const p = uniquePrefix('lk');
		const raw = rawClient(LOCK_DB);
		const got = await runNode({ parameters: acquire(`${p}r`) });
		const token = got.outputs[0][0].token as string;
		const wrong = await runNode({
			parameters: { resource: 'lock', operation: 'release', lockName: `${p}r`, lockToken: 'not-the-token' },
		});
		expect(wrong.error).toBeUndefined();
		expect(wrong.outputs[0][0]).toMatchObject({ released: false, outcome: 'notOwner' });
		expect(await raw.get(`lock:${p}r`)).toBe(token);
		const right = await runNode({
			parameters: { resource: 'lock', operation: 'release', lockName: `${p}r`, lockToken: '={{ $json.token }}' },
			items: [{ token }],
		});
		expect(right.outputs[0][0]).toMatchObject({ released: true, outcome: 'released' });
		expect(await raw.exists(`lock:${p}r`)).toBe(0);
		const again = await runNode({ parameters: { resource: 'lock', operation: 'release', lockName: `${p}r`, lockToken: token } });
		expect(again.outputs[0][0]).toMatchObject({ released: false, outcome: 'notHeld' });
	});

	it('extends only with the matching token', async () => {
		const p = uniquePrefix('lk');
		const raw = rawClient(LOCK_DB);
		const got = await runNode({ parameters: acquire(`${p}e`, { lockTtl: 5 }) });
		const token = got.outputs[0][0].token as string;
		const extendParams = { resource: 'lock', operation: 'extend', lockName: `${p}e`, lockTtl: 600 };
		const wrong = await runNode({ parameters: { ...extendParams, lockToken: 'nope' } });
		expect(wrong.outputs[0][0]).toMatchObject({ extended: false, outcome: 'notOwner', expiresAt: null });
		expect(await raw.pttl(`lock:${p}e`)).toBeLessThanOrEqual(5000);
		const right = await runNode({ parameters: { ...extendParams, lockToken: token } });
		expect(right.outputs[0][0]).toMatchObject({ extended: true, outcome: 'extended' });
		expect(await raw.pttl(`lock:${p}e`)).toBeGreaterThan(500_000);
		expect(await raw.get(`lock:${p}e`)).toBe(token);
		const missing = await runNode({ parameters: { ...extendParams, lockName: `${p}none`, lockToken: token } });
		expect(missing.outputs[0][0]).toMatchObject({ extended: false, outcome: 'notHeld' });
		expect(await raw.exists(`lock:${p}none`)).toBe(0);
	});

	it('interop: a lock taken the Python way (SET NX EX) blocks Acquire and survives a Release with another token', async () => {
		const p = uniquePrefix('lk');
		const raw = rawClient(LOCK_DB);
		const key = `lock:${p}campaign_123`;
		// redis-py: r.set('lock:campaign_123', 'worker_1', nx=True, ex=30)
		expect(await raw.set(key, 'worker_1', 'EX', 30, 'NX')).toBe('OK');
		const blocked = await runNode({ parameters: acquire(`${p}campaign_123`) });
		expect(blocked.outputs[0][0]).toMatchObject({ acquired: false, token: null });
		expect(blocked.outputs[0][0].heldForMs).toBeGreaterThan(0);
		expect(blocked.outputs[0][0].heldForMs).toBeLessThanOrEqual(30_000);
		const foreign = await runNode({
			parameters: { resource: 'lock', operation: 'release', lockName: `${p}campaign_123`, lockToken: 'worker_2' },
		});
		expect(foreign.outputs[0][0]).toMatchObject({ released: false, outcome: 'notOwner' });
		expect(await raw.get(key)).toBe('worker_1');
		// The Python worker's own token releases it through the node as well.
		const own = await runNode({
			parameters: { resource: 'lock', operation: 'release', lockName: `${p}campaign_123`, lockToken: 'worker_1' },
		});
		expect(own.outputs[0][0]).toMatchObject({ released: true });
		// And the reverse: a lock the node holds makes Python's SET NX fail.
		const mine = await runNode({ parameters: acquire(`${p}campaign_123`) });
		expect(mine.outputs[0][0].acquired).toBe(true);
		expect(await raw.set(key, 'worker_1', 'EX', 30, 'NX')).toBeNull();
		expect(await raw.get(key)).toBe(mine.outputs[0][0].token);
	});

	it('waits for a holder whose lease ends, and gives up at the wait limit otherwise', async () => {
		const p = uniquePrefix('lk');
		const raw = rawClient(LOCK_DB);
		await raw.set(`lock:${p}short`, 'someone', 'PX', 300);
		await raw.set(`lock:${p}long`, 'someone', 'EX', 30);
		const result = await runNode({
			parameters: acquire(`={{ "${p}" + $json.name }}`, { waitMs: '={{ $json.wait }}', retryMs: 50 }),
			items: [
				{ name: 'short', wait: 10_000 },
				{ name: 'long', wait: 200 },
			],
		});
		expect(result.error).toBeUndefined();
		const [short, long] = result.outputs[0];
		expect(short).toMatchObject({ acquired: true });
		expect(short.attempts).toBeGreaterThan(1);
		expect(await raw.get(`lock:${p}short`)).toBe(short.token);
		expect(long).toMatchObject({ acquired: false, token: null });
		expect(long.attempts).toBeGreaterThan(1);
		expect(await raw.get(`lock:${p}long`)).toBe('someone');
	});

	it('treats glob, Lua-significant and control characters in names and tokens literally', async () => {
		const p = uniquePrefix('lk');
		const raw = rawClient(LOCK_DB);
		const name = `${p}camp*aign?[1] "x"\n--]]`;
		const token = `tok'en"]]--%s\0 \n end`;
		await raw.set(`lock:${p}campXaignY1 "x"\n--]]`, 'bystander', 'EX', 30);
		await raw.set(`lock:${name}`, token, 'EX', 30);
		const wrong = await runNode({ parameters: { resource: 'lock', operation: 'release', lockName: name, lockToken: `${token}x` } });
		expect(wrong.outputs[0][0]).toMatchObject({ outcome: 'notOwner' });
		const right = await runNode({ parameters: { resource: 'lock', operation: 'release', lockName: name, lockToken: token } });
		expect(right.outputs[0][0]).toMatchObject({ released: true });
		expect(await raw.exists(`lock:${name}`)).toBe(0);
		// A key the pattern would have matched, were it a pattern, is untouched.
		expect(await raw.get(`lock:${p}campXaignY1 "x"\n--]]`)).toBe('bystander');
	});

	it('acceptance: 20 concurrent platform-level acquirers on separate connections never overlap', async () => {
		const p = uniquePrefix('lk');
		const key = `lock:${p}contended`;
		const holders = new Holders();
		const intruders: Redis[] = [rawClient(LOCK_DB)];
		const contender = async (client: Redis) => {
			const got = await acquireLock(client, key, { ttlMs: 10_000, waitMs: 30_000, retryMs: 5 });
			expect(got.acquired).toBe(true);
			holders.enter();
			await sleep(2 + Math.random() * 5);
			// Another worker's release with a wrong token fails and leaves the lock.
			expect(await releaseLock(intruders[0], key, 'wrong-token')).toBe('notOwner');
			expect(await client.get(key)).toBe(got.token);
			expect((await extendLock(client, key, got.token!, 10_000)).extended).toBe(true);
			holders.leave();
			expect(await releaseLock(client, key, got.token!)).toBe('released');
		};
		await Promise.all(Array.from({ length: 20 }, () => contender(rawClient(LOCK_DB))));
		expect(holders.max).toBe(1);
		expect(holders.now).toBe(0);
		expect(await rawClient(LOCK_DB).exists(key)).toBe(0);
	});

	it('acceptance: 20 concurrent node executions acquiring with wait never hold the lock together', async () => {
		const p = uniquePrefix('lk');
		const holders = new Holders();
		let acquiredCount = 0;
		const credentials = (n: number) => ({
			credentials: testCredentials({ connectTimeout: 5 + (n % 4) }) as never,
			credentialId: `cred-lock-${n % 4}`,
		});
		const contender = async (n: number) => {
			const got = await runNode({
				...credentials(n),
				parameters: acquire(`${p}nodes`, { lockTtl: 10, waitMs: 30_000, retryMs: 5 }),
			});
			expect(got.error).toBeUndefined();
			const out = got.outputs[0][0];
			if (out.acquired !== true) return;
			acquiredCount += 1;
			holders.enter();
			await sleep(2 + Math.random() * 5);
			const wrong = await runNode({
				...credentials(n + 1),
				parameters: { resource: 'lock', operation: 'release', lockName: `${p}nodes`, lockToken: `${out.token}x` },
			});
			expect(wrong.outputs[0][0]).toMatchObject({ released: false, outcome: 'notOwner' });
			holders.leave();
			const released = await runNode({
				...credentials(n),
				parameters: { resource: 'lock', operation: 'release', lockName: `${p}nodes`, lockToken: out.token },
			});
			expect(released.outputs[0][0]).toMatchObject({ released: true });
		};
		await Promise.all(Array.from({ length: 20 }, (_, n) => contender(n)));
		expect(acquiredCount).toBe(20);
		expect(holders.max).toBe(1);
		expect(await rawClient(LOCK_DB).exists(`lock:${p}nodes`)).toBe(0);
	});

	it('checks every item before taking any lock, and with continueOnFail takes the valid ones', async () => {
		const p = uniquePrefix('lk');
		const raw = rawClient(LOCK_DB);
		const failed = await runNode({
			parameters: acquire(`={{ "${p}" + $json.name }}`, { lockTtl: '={{ $json.ttl }}' }),
			items: [
				{ name: 'ok', ttl: 30 },
				{ name: 'bad', ttl: 0 },
			],
		});
		expect(failed.error?.message).toMatch(/Item 1: "TTL \(Seconds\)" must be a positive whole number.*got 0/);
		expect(await raw.exists(`lock:${p}ok`, `lock:${p}bad`)).toBe(0);

		const continued = await runNode({
			continueOnFail: true,
			parameters: acquire(`={{ "${p}" + $json.name }}`, { waitMs: '={{ $json.wait }}' }),
			items: [
				{ name: 'ok', wait: -1 },
				{ name: 'fine', wait: 0 },
			],
		});
		expect(continued.error).toBeUndefined();
		expect(continued.outputs[0][0].error).toMatch(/Item 0: "Wait Up To \(Ms\)" must be a whole number of at least 0/);
		expect(continued.outputs[0][1]).toMatchObject({ acquired: true });
		expect(continued.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(await raw.exists(`lock:${p}ok`)).toBe(0);
		expect(await raw.exists(`lock:${p}fine`)).toBe(1);
	});
});
