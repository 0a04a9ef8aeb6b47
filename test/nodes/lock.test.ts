import { join } from 'node:path';

import type Redis from 'ioredis';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, testCredentials, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';
import { readLuaScript } from '../../platform/lua-source';
import { scriptsDir } from '../../platform/scripts';
import { acquireLock, encodeLockValue, extendLock, parseLockValue, releaseLock, sweepExpiredLocks } from '../../platform/lock';

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
	it('acquires several locks from expressions with random tokens, a lease and the key lock:{name}', async () => {
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
		expect(a.tookOver).toBe(false);
		const raw = rawClient(LOCK_DB);
		// Value "<deadline ms>:<token>" and no Redis TTL: volatile-lru can never evict a held lock.
		expect(await raw.get(`lock:${p}c1`)).toBe(encodeLockValue(a.token as string, a.expiresAtMs as number));
		expect(await raw.get(`lock:${p}c2`)).toBe(`${b.expiresAtMs}:${b.token}`);
		expect(await raw.type(`lock:${p}c2`)).toBe('string');
		expect(await raw.pttl(`lock:${p}c1`)).toBe(-1);
		expect(await raw.pttl(`lock:${p}c2`)).toBe(-1);
		const [seconds] = await raw.time();
		const leaseLeft = (b.expiresAtMs as number) - Number(seconds) * 1000;
		expect(leaseLeft).toBeGreaterThan(30_000);
		expect(leaseLeft).toBeLessThanOrEqual(61_000);
		expect((b.expiresAtMs as number) - (a.expiresAtMs as number)).toBeGreaterThan(29_000);
		expect(new Date(b.expiresAt as string).getTime()).toBe(b.expiresAtMs);
	});

	it('lets only the first item of a batch take a lock that two items name', async () => {
		const p = uniquePrefix('lk');
		const result = await runNode({ parameters: acquire(`${p}same`), items: [{}, {}] });
		const [first, second] = result.outputs[0];
		expect(first).toMatchObject({ acquired: true });
		expect(second).toMatchObject({ acquired: false, token: null, expiresAt: null });
		expect(second.heldForMs).toBeGreaterThan(0);
		expect(second.heldForMs).toBeLessThanOrEqual(30_000);
		expect(parseLockValue((await rawClient(LOCK_DB).get(`lock:${p}same`)) as string).token).toBe(first.token);
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
		expect(parseLockValue((await raw.get(`lock:${p}r`)) as string).token).toBe(token);
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
		expect(await raw.get(`lock:${p}e`)).toBe(encodeLockValue(token, got.outputs[0][0].expiresAtMs as number));
		const right = await runNode({ parameters: { ...extendParams, lockToken: token } });
		expect(right.outputs[0][0]).toMatchObject({ extended: true, outcome: 'extended' });
		const extendedTo = right.outputs[0][0].expiresAtMs as number;
		expect(extendedTo - (got.outputs[0][0].expiresAtMs as number)).toBeGreaterThan(500_000);
		expect(new Date(right.outputs[0][0].expiresAt as string).getTime()).toBe(extendedTo);
		expect(await raw.get(`lock:${p}e`)).toBe(encodeLockValue(token, extendedTo));
		expect(await raw.pttl(`lock:${p}e`)).toBe(-1);
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
		expect(parseLockValue((await raw.get(key)) as string)).toEqual({ token: mine.outputs[0][0].token, deadlineMs: mine.outputs[0][0].expiresAtMs });
		expect(await raw.pttl(key)).toBe(-1);
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
		expect(parseLockValue((await raw.get(`lock:${p}short`)) as string).token).toBe(short.token);
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

	it('a lease that ended counts as free: another holder takes over, and the old token can neither release nor extend it', async () => {
		const p = uniquePrefix('lk');
		const raw = rawClient(LOCK_DB);
		const key = `lock:${p}lease`;
		const first = await acquireLock(raw, key, { ttlMs: 40 });
		expect(first).toMatchObject({ acquired: true, tookOver: false });
		// While the lease runs, a second contender is refused and told how long it has left.
		const early = await acquireLock(raw, key, { ttlMs: 10_000 });
		expect(early.acquired).toBe(false);
		expect(early.heldForMs).toBeGreaterThan(0);
		expect(early.heldForMs).toBeLessThanOrEqual(40);
		// Waiting past the lease end takes it over (the first holder "crashed").
		const second = await acquireLock(raw, key, { ttlMs: 10_000, waitMs: 5_000, retryMs: 10 });
		expect(second).toMatchObject({ acquired: true, tookOver: true });
		expect(await raw.get(key)).toBe(encodeLockValue(second.token as string, second.expiresAtMs as number));
		expect(await releaseLock(raw, key, first.token as string)).toBe('notOwner');
		expect(await extendLock(raw, key, first.token as string, 10_000)).toMatchObject({ extended: false, outcome: 'notOwner' });
		expect(parseLockValue((await raw.get(key)) as string).token).toBe(second.token);
		expect(await releaseLock(raw, key, second.token as string)).toBe('released');
		expect(await raw.exists(key)).toBe(0);
		// A caller's own token may contain colons and digits: only the first colon ends the deadline.
		const colon = await acquireLock(raw, key, { ttlMs: 10_000, token: '12:34:x' });
		expect(parseLockValue((await raw.get(key)) as string)).toEqual({ token: '12:34:x', deadlineMs: colon.expiresAtMs });
		expect(await releaseLock(raw, key, '34:x')).toBe('notOwner');
		expect(await extendLock(raw, key, '12:34:x', 20_000)).toMatchObject({ extended: true });
		expect(await releaseLock(raw, key, '12:34:x')).toBe('released');
	});

	it('a holder that overran its lease (nobody took over) cannot extend, and its release frees the key but says "expired"', async () => {
		const p = uniquePrefix('lk');
		const raw = rawClient(LOCK_DB);
		const got = await runNode({ parameters: acquire(`${p}late`) });
		const token = got.outputs[0][0].token as string;
		const key = `lock:${p}late`;
		// Wind the stored deadline back, as if the 30 s had passed.
		const ended = encodeLockValue(token, Date.now() - 60_000);
		await raw.set(key, ended);
		const extend = await runNode({ parameters: { resource: 'lock', operation: 'extend', lockName: `${p}late`, lockToken: token, lockTtl: 30 } });
		expect(extend.outputs[0][0]).toMatchObject({ extended: false, outcome: 'expired', expiresAt: null });
		expect(await raw.get(key)).toBe(ended);
		const wrong = await runNode({ parameters: { resource: 'lock', operation: 'release', lockName: `${p}late`, lockToken: 'other' } });
		expect(wrong.outputs[0][0]).toMatchObject({ released: false, outcome: 'notOwner' });
		expect(await raw.get(key)).toBe(ended);
		const release = await runNode({ parameters: { resource: 'lock', operation: 'release', lockName: `${p}late`, lockToken: token } });
		expect(release.outputs[0][0]).toMatchObject({ released: false, outcome: 'expired' });
		expect(await raw.exists(key)).toBe(0);
	});

	it('foreign values: no TTL and no deadline blocks for good; a TTL makes the whole value the token even when it looks like a lease', async () => {
		const p = uniquePrefix('lk');
		const raw = rawClient(LOCK_DB);
		await raw.set(`lock:${p}forever`, 'worker_9');
		// Looks like an ended lease of token "abc", but it has a TTL: a Python worker's token.
		await raw.set(`lock:${p}colon`, '123:abc', 'EX', 30);
		await raw.hset(`lock:${p}hash`, 'f', 'v');
		const result = await runNode({ parameters: acquire(`={{ "${p}" + $json.name }}`), items: [{ name: 'forever' }, { name: 'colon' }, { name: 'hash' }] });
		expect(result.error).toBeUndefined();
		const [forever, colon, hash] = result.outputs[0];
		expect(forever).toMatchObject({ acquired: false, heldForMs: -1 });
		expect(colon).toMatchObject({ acquired: false });
		expect(colon.heldForMs).toBeGreaterThan(0);
		expect(hash).toMatchObject({ acquired: false, heldForMs: -1 });
		expect(await raw.get(`lock:${p}forever`)).toBe('worker_9');
		const releases = await runNode({
			parameters: { resource: 'lock', operation: 'release', lockName: `={{ "${p}" + $json.name }}`, lockToken: '={{ $json.token }}' },
			items: [{ name: 'colon', token: 'abc' }, { name: 'colon', token: '123:abc' }, { name: 'forever', token: 'worker_9' }],
		});
		expect(releases.outputs[0].map((o) => o.outcome)).toEqual(['notOwner', 'released', 'released']);
		expect(await raw.exists(`lock:${p}colon`, `lock:${p}forever`)).toBe(0);
		// A foreign lock with a TTL keeps being governed by its TTL when its owner extends it.
		await raw.set(`lock:${p}py`, 'worker_1', 'EX', 30);
		expect(await extendLock(raw, `lock:${p}py`, 'worker_1', 600_000)).toMatchObject({ extended: true });
		expect(await raw.pttl(`lock:${p}py`)).toBeGreaterThan(500_000);
		expect(await raw.get(`lock:${p}py`)).toBe('worker_1');
	});

	it('interop: a Python worker running the same Lua (redis-py register_script) shares leases with the node', async () => {
		const p = uniquePrefix('lk');
		const raw = rawClient(LOCK_DB);
		// The file as the build ships it (includes expanded), which is what Python loads.
		const lua = (file: string) => readLuaScript(join(scriptsDir(), file));
		const key = `lock:${p}campaign_123`;
		// Python: acquire = r.register_script(lua); acquire(keys=[key], args=[token, 30000])
		const [taken, deadline] = (await raw.eval(lua('lock-acquire.lua'), 1, key, 'py-token', 30_000)) as number[];
		expect(taken).toBe(1);
		expect(await raw.get(key)).toBe(`${deadline}:py-token`);
		const blocked = await runNode({ parameters: acquire(`${p}campaign_123`) });
		expect(blocked.outputs[0][0]).toMatchObject({ acquired: false });
		expect(await raw.eval(lua('lock-release.lua'), 1, key, 'py-token')).toBe(1);
		const mine = await runNode({ parameters: acquire(`${p}campaign_123`) });
		expect(await raw.eval(lua('lock-acquire.lua'), 1, key, 'py-token', 30_000)).toEqual([0, expect.any(Number)]);
		expect(await raw.eval(lua('lock-release.lua'), 1, key, 'py-token')).toBe(0);
		expect(parseLockValue((await raw.get(key)) as string).token).toBe(mine.outputs[0][0].token);
		// The seed's plain SET NX also keeps out while the key exists, even after the lease ended:
		// Python workers must take node-shared locks through the script (README).
		await raw.set(key, encodeLockValue(mine.outputs[0][0].token as string, 1));
		expect(await raw.set(key, 'worker_1', 'EX', 30, 'NX')).toBeNull();
		expect(await raw.eval(lua('lock-acquire.lua'), 1, key, 'py-token', 30_000)).toEqual([1, expect.any(Number), 1]);
	});

	it('sweepExpiredLocks reports and removes only lock keys whose lease ended', async () => {
		const p = uniquePrefix('lk');
		const raw = rawClient(LOCK_DB);
		const live = await acquireLock(raw, `lock:${p}live`, { ttlMs: 60_000 });
		await raw.set(`lock:${p}dead1`, encodeLockValue('t1', 1000));
		await raw.set(`lock:${p}dead2`, encodeLockValue('t2', Date.now() - 5000));
		await raw.set(`lock:${p}py`, '1000:worker', 'EX', 30);
		await raw.set(`lock:${p}plain`, 'worker');
		const dry = await sweepExpiredLocks(raw, `lock:${p}*`, { dryRun: true });
		expect(dry.scanned).toBe(5);
		expect(dry.expired.map((e) => e.key).sort()).toEqual([`lock:${p}dead1`, `lock:${p}dead2`]);
		expect(dry.expired.every((e) => e.endedMsAgo >= 4000)).toBe(true);
		expect(await raw.exists(`lock:${p}dead1`, `lock:${p}dead2`)).toBe(2);
		const swept = await sweepExpiredLocks(raw, `lock:${p}*`);
		expect(swept.expired).toHaveLength(2);
		expect(await raw.exists(`lock:${p}dead1`, `lock:${p}dead2`)).toBe(0);
		expect(await raw.exists(`lock:${p}live`, `lock:${p}py`, `lock:${p}plain`)).toBe(3);
		expect(parseLockValue((await raw.get(`lock:${p}live`)) as string).token).toBe(live.token);
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
			expect(parseLockValue((await client.get(key)) as string).token).toBe(got.token);
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
		expect(failed.error?.message).toMatch(/^"TTL \(Seconds\)" must be a positive whole number.*got 0.* \[item 1\]$/);
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
		expect(continued.outputs[0][0].error).toMatch(/^"Wait Up To \(Ms\)" must be a whole number of at least 0.* \[item 0\]$/);
		expect(continued.outputs[0][1]).toMatchObject({ acquired: true });
		expect(continued.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(await raw.exists(`lock:${p}ok`)).toBe(0);
		expect(await raw.exists(`lock:${p}fine`)).toBe(1);
	});
});
