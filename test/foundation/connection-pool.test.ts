import { ConnectionPool, sharedPool } from '../../platform/connection-pool';
import { runNode } from '../helpers/n8n';
import { closeRawClients, testConfig, testCredentials, uniquePrefix } from '../helpers/redis';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server';
import Redis from 'ioredis';

// A server of its own, so that CLIENT LIST shows only this test's clients (other test
// files run in parallel against the shared server).
let own: RedisServerHandle;
let observer: Redis;

beforeAll(async () => {
	own = await startRedisServer();
	observer = new Redis({ port: own.port, password: own.password });
});

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
	observer.disconnect();
	await own.stop();
	own.cleanup();
});

/** Our pooled clients as the server sees them (connectionName starts with n8n-marketing-redis). */
async function ourClients(): Promise<string[]> {
	const list = (await observer.client('LIST')) as string;
	return list.split('\n').filter((line) => line.includes('name=n8n-marketing-redis:shared'));
}

describe('connection layer', () => {
	it('keeps CLIENT LIST bounded over 1,000 executions that share one credential', async () => {
		const p = uniquePrefix('pool');
		const credentials = testCredentials({ port: own.port, password: own.password });
		const counts: number[] = [];
		for (let i = 0; i < 1000; i++) {
			const result = await runNode({
				credentialId: 'pool-cred',
				credentials,
				parameters: { resource: 'session', operation: i % 2 ? 'get' : 'set', sessionId: `${p}${i % 10}`, data: '{"n":1}', ttl: 60 },
			});
			expect(result.error).toBeUndefined();
			if (i % 100 === 99) counts.push((await ourClients()).length);
		}
		// Session operations use one DB, so one shared client serves all 1,000 executions.
		expect(counts).toEqual(Array(10).fill(1));
		expect(sharedPool.size).toBe(1);
	}, 120_000);

	it('gives a changed credential a new client, never the stale one', async () => {
		const p = uniquePrefix('pool');
		const ok = await runNode({
			credentialId: 'changing-cred',
			parameters: { resource: 'session', operation: 'get', sessionId: `${p}x` },
		});
		expect(ok.error).toBeUndefined();
		const changed = await runNode({
			credentialId: 'changing-cred',
			credentials: testCredentials({ password: 'a-new-wrong-password' }),
			parameters: { resource: 'session', operation: 'get', sessionId: `${p}x` },
		});
		expect(changed.error?.message).toMatch(/rejected the username or password/);
		expect(changed.error?.message).not.toContain('a-new-wrong-password');
	});

	it('shares a client between roles mapped to the same DB, and separates other DBs', () => {
		const pool = new ConnectionPool();
		const config = testConfig();
		expect(pool.client(config, 'session')).toBe(pool.client(config, 'default'));
		expect(pool.client(config, 'queue')).not.toBe(pool.client(config, 'session'));
		expect(pool.size).toBe(2);
		return pool.closeAll();
	});

	it('gives blocking work a dedicated client, separate from the shared one', async () => {
		const pool = new ConnectionPool();
		const config = testConfig();
		const shared = pool.client(config, 'queue');
		const blocking = pool.dedicated(config, 'queue', 'blocking');
		expect(blocking).not.toBe(shared);
		expect(pool.size).toBe(2);
		await pool.release(blocking);
		expect(pool.size).toBe(1);
		await pool.closeAll();
		expect(pool.size).toBe(0);
	});

	it('closes idle shared clients', async () => {
		const pool = new ConnectionPool({ idleMs: 1000 });
		const client = pool.client(testConfig(), 'content');
		await client.ping();
		await pool.closeIdle(Date.now() + 1000);
		expect(pool.size).toBe(0);
		expect(['end', 'close']).toContain(client.status);
	});
});
