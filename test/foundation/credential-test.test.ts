import { testConnection } from '../../platform/connection-test';
import { marketingRedisConnectionTest } from '../../nodes/shared/connection-test';
import { freePort } from '../helpers/redis-server';
import { testConfig, testCredentials, testServer } from '../helpers/redis';

const WRONG = 'Wr0ng-pa$$word-that-must-not-leak';

function expectClean(message: string, ...secrets: Array<string | undefined>) {
	for (const secret of secrets) if (secret) expect(message).not.toContain(secret);
}

describe('credential test (connect, AUTH, PING, SELECT every mapped DB)', () => {
	it('succeeds against the real server and names the DBs it selected', async () => {
		const result = await testConnection(testConfig());
		expect(result).toMatchObject({ ok: true });
		expect(result.message).toMatch(/SELECT of DB 0, 1, 2, 3, 4 succeeded/);
		expectClean(result.message, testServer().password);
	});

	it('reports a wrong password without echoing it', async () => {
		const result = await testConnection(testConfig({ password: WRONG }));
		expect(result).toMatchObject({ ok: false, code: 'WRONGPASS' });
		expect(result.message).toMatch(/rejected the username or password/);
		expect(result.elapsedMs).toBeLessThan(10_000);
		expectClean(result.message, WRONG, testServer().password);
	});

	it('reports a missing password', async () => {
		const result = await testConnection(testConfig({ password: undefined }));
		expect(result).toMatchObject({ ok: false, code: 'NOAUTH' });
		expect(result.message).toMatch(/requires a password/);
	});

	it('reports a refused port', async () => {
		const port = await freePort();
		const result = await testConnection(testConfig({ port, password: WRONG }));
		expect(result).toMatchObject({ ok: false, code: 'ECONNREFUSED' });
		expect(result.message).toMatch(/Connection refused/);
		expect(result.elapsedMs).toBeLessThan(10_000);
		expectClean(result.message, WRONG);
	});

	it('reports a DB number out of range, naming the DB and its role', async () => {
		const config = testConfig();
		config.dbs.queue = 99;
		const result = await testConnection(config);
		expect(result).toMatchObject({ ok: false, code: 'DB_OUT_OF_RANGE' });
		expect(result.message).toMatch(/DB 99 \(queue\) is out of range/);
		expectClean(result.message, testServer().password);
	});

	it('reports a TLS mismatch (TLS on, plain server) readably', async () => {
		const result = await testConnection(testConfig({ tls: { enabled: true, rejectUnauthorized: true }, connectTimeoutMs: 3000 }));
		expect(result.ok).toBe(false);
		expect(result.code).toMatch(/TLS|ETIMEDOUT|CONNECTION_LOST/);
		expect(result.elapsedMs).toBeLessThan(10_000);
		expectClean(result.message, testServer().password);
	});

	it('runs as the n8n credential test from the credential form data', async () => {
		const call = (data: Record<string, unknown>) =>
			marketingRedisConnectionTest.call({} as never, { id: 'c', name: 'c', type: 'marketingRedisApi', data } as never);
		expect(await call(testCredentials())).toMatchObject({ status: 'OK' });
		const bad = await call(testCredentials({ password: WRONG }));
		expect(bad.status).toBe('Error');
		expectClean(bad.message, WRONG);
		const outOfRange = await call(testCredentials({ rateLimitDb: 16 }));
		expect(outOfRange).toMatchObject({ status: 'Error', message: expect.stringMatching(/DB 16 \(rateLimit\)/) });
	});
});
