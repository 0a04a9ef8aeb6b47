import { createServer } from 'node:net';

import { redisOptions } from '../../platform/client-options';
import { ConnectionPool } from '../../platform/connection-pool';
import {
	explainGiveUps,
	failInFlightOnReconnect,
	hasInFlightBug,
	NEWEST_IOREDIS_WITHOUT_INFLIGHT_FIX,
	quietReadyCheckWithoutInfo,
} from '../../platform/driver-workarounds';
import { IOREDIS_VERSION, Redis } from '../../platform/redis-driver';
import type { RedisLike } from '../../platform/scripts';
import { settlesWithin } from '../../platform/timing';
import { rawClient, testConfig, testServer, uniquePrefix } from '../helpers/redis';

/**
 * The pool's two reaches into ioredis's private flushQueue (platform/driver-workarounds.ts),
 * checked against the ioredis this package bundles. When ioredis is upgraded, these tests say
 * whether the workaround for redis/ioredis#2193 is still needed and still enough.
 */

const pool = new ConnectionPool();

afterAll(async () => {
	await pool.closeAll();
});

function once(client: RedisLike, event: string): Promise<void> {
	return new Promise((resolve) => client.once(event, () => resolve()));
}

/** Drops the client's socket as a network failure would, without ioredis closing it on purpose. */
function dropSocket(client: RedisLike): void {
	(client as unknown as { stream: { destroy(): void } }).stream.destroy();
}

/** A BLPOP that Redis is blocked on, i.e. a command in flight on the client's socket. */
async function commandInFlight(client: RedisLike): Promise<{ command: Promise<unknown> }> {
	await client.ping();
	const command = client.blpop(`${uniquePrefix('drv')}never`, 5);
	command.catch(() => undefined);
	await new Promise((resolve) => setTimeout(resolve, 100));
	// Wrapped, so that awaiting this helper does not await the command itself.
	return { command };
}

/** Whether `work` settled within `ms`, and how. */
async function outcomeWithin(work: Promise<unknown>, ms: number): Promise<'pending' | 'resolved' | 'rejected'> {
	let outcome: 'pending' | 'resolved' | 'rejected' = 'pending';
	const watched = work.then(
		() => (outcome = 'resolved'),
		() => (outcome = 'rejected'),
	);
	await settlesWithin(watched, ms);
	return outcome;
}

describe('redis/ioredis#2193: commands in flight when a socket drops (autoResendUnfulfilledCommands=false)', () => {
	it('knows which ioredis versions have the bug', () => {
		expect(NEWEST_IOREDIS_WITHOUT_INFLIGHT_FIX).toBe('6.0.0');
		for (const version of ['5.11.1', '5.99.0', '6.0.0-beta.1', '6.0.0']) expect(hasInFlightBug(version)).toBe(true);
		for (const version of ['6.0.1', '6.1.0', '7.0.0']) expect(hasInFlightBug(version)).toBe(false);
	});

	it(`the version guard matches what the bundled ioredis (${IOREDIS_VERSION}) does without the workaround`, async () => {
		// A plain client, none of the pool's workarounds: does ioredis settle the command itself?
		const s = testServer();
		const plain = new Redis({
			host: s.host,
			port: s.port,
			username: s.username,
			password: s.password,
			autoResendUnfulfilledCommands: false,
			retryStrategy: () => 50,
		});
		plain.on('error', () => undefined);
		try {
			const { command: inFlight } = await commandInFlight(plain);
			const back = once(plain, 'ready');
			dropSocket(plain);
			await back;
			const outcome = await outcomeWithin(inFlight, 500);
			// Left pending = the bug is there, and platform/driver-workarounds.ts must stay on for this
			// version. Settled = ioredis fixed it: move NEWEST_IOREDIS_WITHOUT_INFLIGHT_FIX below this version.
			expect({ version: IOREDIS_VERSION, leftPending: outcome === 'pending' }).toEqual({
				version: IOREDIS_VERSION,
				leftPending: hasInFlightBug(IOREDIS_VERSION),
			});
		} finally {
			plain.disconnect();
		}
	});

	it("a pool client's command in flight fails as a lost connection once the client reconnects", async () => {
		const client = pool.dedicated(testConfig(), 'default', 'blocking');
		try {
			const { command: inFlight } = await commandInFlight(client);
			const back = once(client, 'ready');
			dropSocket(client);
			await back;
			await expect(outcomeWithin(inFlight, 1000)).resolves.toBe('rejected');
			await expect(inFlight).rejects.toThrow('Connection is closed.');
		} finally {
			await pool.release(client);
		}
	});

	it('a command in flight fails even when the client is closed before it reconnects', async () => {
		// The pool's blocking-client settings and workarounds on a client of the test's own, with a
		// short disconnectTimeout: ioredis keeps that timer for the socket that is already gone.
		const client = new Redis({ ...redisOptions(testConfig(), 0, 'blocking'), disconnectTimeout: 10 });
		client.on('error', () => undefined);
		failInFlightOnReconnect(client);
		try {
			const { command: inFlight } = await commandInFlight(client);
			// What QueueWorker.stop() and the stream reader's stop() do during an outage.
			client.once('reconnecting', () => client.disconnect());
			dropSocket(client);
			await expect(outcomeWithin(inFlight, 1000)).resolves.toBe('rejected');
		} finally {
			client.disconnect();
		}
	});
});

describe('max retries per request, explained', () => {
	it('a command on a client that cannot connect says why it gave up', async () => {
		const closed = createServer();
		await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
		const port = (closed.address() as { port: number }).port;
		await new Promise<void>((resolve) => closed.close(() => resolve()));
		// The pool's shared-client settings; a short disconnectTimeout so ioredis's timer for the
		// refused socket does not outlive the test.
		const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => 50, disconnectTimeout: 10 });
		client.on('error', () => undefined);
		explainGiveUps(client);
		try {
			await expect(client.get('x')).rejects.toThrow(/max retries per request.*\(.*ECONNREFUSED/i);
		} finally {
			client.disconnect();
		}
	});
});

describe('ready check for an ACL user without INFO', () => {
	const user = uniquePrefix('rdy').replace(':', '');
	const password = 'ready-check-pass-789';
	const admin = rawClient(0);

	beforeAll(async () => {
		await admin.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all', '-info');
	});
	afterAll(async () => {
		await admin.call('ACL', 'DELUSER', user);
		admin.disconnect();
	});

	/** Connects as the INFO-less user and returns what ioredis printed with console.warn meanwhile. */
	async function warningsOfConnect(quiet: boolean): Promise<{ warnings: string[]; pong: string }> {
		const s = testServer();
		const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
		const client = new Redis({ host: s.host, port: s.port, username: user, password, lazyConnect: true, retryStrategy: () => null });
		client.on('error', () => undefined);
		if (quiet) quietReadyCheckWithoutInfo(client);
		try {
			await client.connect();
			const pong = await client.ping();
			return { warnings: warn.mock.calls.map((call) => String(call[0])), pong };
		} finally {
			warn.mockRestore();
			client.disconnect();
		}
	}

	it(`the bundled ioredis (${IOREDIS_VERSION}) still warns on its own, so the workaround is still needed`, async () => {
		// No warning here = ioredis stopped printing it: remove quietReadyCheckWithoutInfo.
		const { warnings } = await warningsOfConnect(false);
		expect(warnings.some((w) => /Skipping the ready check/.test(w))).toBe(true);
	});

	it('with the workaround the client connects, works, and prints nothing', async () => {
		const { warnings, pong } = await warningsOfConnect(true);
		expect(pong).toBe('PONG');
		expect(warnings).toEqual([]);
	});

	it('the pool applies it: a shared client of that user prints nothing either', async () => {
		const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
		const own = new ConnectionPool();
		try {
			const client = own.client(testConfig({ username: user, password }), 'session');
			await expect(client.ping()).resolves.toBe('PONG');
			expect(warn.mock.calls.map((call) => String(call[0]))).toEqual([]);
		} finally {
			warn.mockRestore();
			await own.closeAll();
		}
	});
});
