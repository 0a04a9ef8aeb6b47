/**
 * The credential test's time budget against a server that accepts connections and never
 * answers. Each case waits out a timeout (about 4 s and 9 s), so they run in the system tier
 * (npm run test:system); the fast cases stay in test/foundation/credential-test.test.ts.
 */
import { createServer, type Server, type Socket } from 'node:net';

import { testConnection, CONNECTION_TEST_BUDGET_MS } from '../../platform/connection-test';
import { freePort } from '../helpers/redis-server';
import { testConfig } from '../helpers/redis';

const WRONG = 'Wr0ng-pa$$word-that-must-not-leak';

function expectClean(message: string, ...secrets: Array<string | undefined>) {
	for (const secret of secrets) if (secret) expect(message).not.toContain(secret);
}

/** A loopback TCP server that accepts connections and never answers: an unreachable Redis. */
async function silentServer(): Promise<{ port: number; server: Server; sockets: Socket[] }> {
	const sockets: Socket[] = [];
	const server = createServer((socket) => sockets.push(socket));
	const port = await freePort();
	await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
	return { port, server, sockets };
}

describe('credential test (connect, AUTH, PING, SELECT every mapped DB)', () => {
	it('reports an unreachable host as a timeout within 10 s', async () => {
		const silent = await silentServer();
		try {
			const result = await testConnection(testConfig({ port: silent.port, password: WRONG, connectTimeoutMs: 2000 }));
			expect(result).toMatchObject({ ok: false, code: 'ETIMEDOUT' });
			expect(result.message).toMatch(/Timed out/);
			expect(result.elapsedMs).toBeLessThan(CONNECTION_TEST_BUDGET_MS + 500);
			expectClean(result.message, WRONG);
		} finally {
			silent.sockets.forEach((s) => s.destroy());
			silent.server.close();
		}
	});

	it('gives up within the 10 s budget even with a long connect timeout', async () => {
		const silent = await silentServer();
		try {
			const result = await testConnection(testConfig({ port: silent.port, connectTimeoutMs: 60_000 }));
			expect(result.ok).toBe(false);
			expect(result.elapsedMs).toBeLessThan(10_000);
		} finally {
			silent.sockets.forEach((s) => s.destroy());
			silent.server.close();
		}
	}, 15_000);

});
