import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, testCredentials, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

/** A DB no other test uses, so its key count is exact. */
const QUIET_DB = 13;

describe('Server resource: Health', () => {
	it("reports the seed's metrics: memory vs maxmemory, hit rate, evictions, clients, role DB key counts", async () => {
		const p = uniquePrefix('health');
		const quiet = rawClient(QUIET_DB);
		await quiet.set(`${p}a`, '1');
		await quiet.set(`${p}b`, '2', 'EX', 300);
		await quiet.set(`${p}c`, '3', 'EX', 300);
		await quiet.get(`${p}a`);
		await quiet.get(`${p}missing`);
		const result = await runNode({
			credentials: testCredentials({ rateLimitDb: QUIET_DB }),
			parameters: { resource: 'server', operation: 'health' },
		});
		expect(result.error).toBeUndefined();
		const report = result.outputs[0][0] as Record<string, any>;
		expect(report.memory).toMatchObject({ maxBytes: 2 * 1024 * 1024 * 1024, policy: 'volatile-lru', maxHuman: '2.00G' });
		expect(report.memory.usedBytes).toBeGreaterThan(0);
		expect(report.memory.usedPercent).toBeCloseTo((report.memory.usedBytes / report.memory.maxBytes) * 100, 1);
		const { hits, misses, hitRate, evictedKeys } = report.keyspace;
		expect(hits).toBeGreaterThanOrEqual(1);
		expect(misses).toBeGreaterThanOrEqual(1);
		expect(hitRate).toBeCloseTo(hits / (hits + misses), 3);
		expect(evictedKeys).toBe(0);
		expect(report.clients.connected).toBeGreaterThanOrEqual(2);
		expect(report.roles.rateLimit).toEqual({ db: QUIET_DB, keys: 3, expires: 2 });
		expect(report.roles.session.db).toBe(0);
		expect(report.roles.cache.db).toBe(2);
		expect(report.server.version).toMatch(/^\d+\.\d+/);
		expect(report.slowLog.thresholdMs).toBe(10);
		expect(Array.isArray(report.warnings)).toBe(true);
		expect(result.items[0][0].pairedItem).toEqual({ item: 0 });
		await quiet.del(`${p}a`, `${p}b`, `${p}c`);
	});

	it('lists the newest slow-log entries, shortened so values do not leak in full', async () => {
		const marker = uniquePrefix('--slowmark');
		// A Lua busy loop well over the 10 ms slowlog threshold of our redis.conf.
		await rawClient(0).eval(`${marker}\nlocal i = 0 while i < 20000000 do i = i + 1 end return i`, 0);
		const result = await runNode({
			parameters: { resource: 'server', operation: 'health', healthOptions: { slowLogCount: 5 } },
		});
		const slow = (result.outputs[0][0] as Record<string, any>).slowLog;
		expect(slow.entries.length).toBeGreaterThanOrEqual(1);
		expect(slow.entries.length).toBeLessThanOrEqual(5);
		const mine = slow.entries.find((e: { command: string }) => e.command.includes(marker));
		expect(mine).toBeDefined();
		expect(mine.command).toMatch(/^eval /i);
		expect(mine.command).toMatch(/\.\.\.\(\d+ bytes\)/);
		expect(mine.durationMs).toBeGreaterThan(10);
		expect(new Date(mine.at).getTime()).toBeGreaterThan(Date.now() - 60_000);
		expect(slow.length).toBeGreaterThanOrEqual(1);
	});

	it('degrades without failing when the ACL user may not run SLOWLOG or CONFIG', async () => {
		const user = uniquePrefix('monitor').replace(':', '');
		const admin = rawClient(0);
		await admin.call('ACL', 'SETUSER', user, 'on', '>monitor-pass-123', '~*', '&*', '+@all', '-slowlog', '-config');
		try {
			const result = await runNode({
				credentials: testCredentials({ user, password: 'monitor-pass-123' }),
				credentialId: `cred-${user}`,
				parameters: { resource: 'server', operation: 'health' },
			});
			expect(result.error).toBeUndefined();
			const report = result.outputs[0][0] as Record<string, any>;
			expect(report.slowLog).toBeNull();
			expect(report.status).toBe('warning');
			expect(report.warnings.join('\n')).toMatch(/slow log \(SLOWLOG GET\) could not be read: The Redis ACL user is not allowed/);
			// maxmemory still comes from INFO.
			expect(report.memory.maxBytes).toBe(2 * 1024 * 1024 * 1024);
			expect(JSON.stringify(report)).not.toContain('monitor-pass-123');
		} finally {
			await admin.call('ACL', 'DELUSER', user);
		}
	});

	it('fails readably, without the password, when even INFO is refused; continueOnFail gives an error item', async () => {
		const user = uniquePrefix('noinfo').replace(':', '');
		const admin = rawClient(0);
		await admin.call('ACL', 'SETUSER', user, 'on', '>noinfo-pass-456', '~*', '&*', '+@all', '-info');
		try {
			const result = await runNode({
				continueOnFail: true,
				credentials: testCredentials({ user, password: 'noinfo-pass-456' }),
				credentialId: `cred-${user}`,
				parameters: { resource: 'server', operation: 'health' },
			});
			const error = result.outputs[0][0].error as string;
			expect(error).toMatch(/^Check Redis Health failed: The Redis ACL user is not allowed to do this.* \[item 0\]$/);
			expect(error).not.toContain('noinfo-pass-456');
		} finally {
			await admin.call('ACL', 'DELUSER', user);
		}
	});

	it('rejects a negative slow-log count naming the field', async () => {
		const result = await runNode({
			parameters: { resource: 'server', operation: 'health', healthOptions: { slowLogCount: -1 } },
		});
		expect(result.error?.message).toMatch(/^"Slow Log Entries" must be a whole number of at least 0.*got -1.* \[item 0\]$/);
	});
});
