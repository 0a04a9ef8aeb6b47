import { readFileSync } from 'node:fs';
import Redis from 'ioredis';

import { REDIS_CONF, shippedSetting, smallMachineOverrides, startRedisServer, type RedisServerHandle } from '../helpers/redis-server';
import { testServer } from '../helpers/redis';

let server: RedisServerHandle;
let client: Redis;

beforeAll(async () => {
	// The file as shipped, without the small-machine overrides the other tests' servers get.
	server = await startRedisServer({ asShipped: true });
	client = new Redis({ port: server.port, password: server.password, lazyConnect: true });
	await client.connect();
});

afterAll(async () => {
	client.disconnect();
	await server.stop();
	server.cleanup();
});

async function config(name: string): Promise<string> {
	const [, value] = (await client.config('GET', name)) as [string, string];
	return value;
}

describe('redis.conf on a real server', () => {
	it.each([
		['appendonly', 'yes'],
		['appendfsync', 'everysec'],
		['maxmemory', String(2 * 1024 ** 3)],
		['maxmemory-policy', 'volatile-lru'],
		['io-threads', '4'],
		['slowlog-log-slower-than', '10000'],
		['protected-mode', 'yes'],
		['databases', '16'],
	])('sets %s to %s', async (name, expected) => {
		expect(await config(name)).toBe(expected);
	});

	it('keeps RDB snapshots on as well as AOF', async () => {
		expect(await config('save')).toMatch(/^\d+ \d+/);
	});

	it('binds to loopback only', async () => {
		expect((await config('bind')).split(' ').sort()).toEqual(['-::1', '127.0.0.1']);
	});

	it('refuses FLUSHALL and FLUSHDB', async () => {
		await expect(client.call('FLUSHALL')).rejects.toThrow(/unknown command/i);
		await expect(client.call('FLUSHDB')).rejects.toThrow(/unknown command/i);
	});

	it('requires the password', async () => {
		const anonymous = new Redis({ port: server.port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0 });
		anonymous.on('error', () => undefined);
		await anonymous.connect();
		await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
		anonymous.disconnect();
	});

	it('does not contain a password, and comments every setting', () => {
		const lines = readFileSync(REDIS_CONF, 'utf8').split('\n');
		expect(lines.some((l) => /^\s*requirepass\b/.test(l))).toBe(false);
		lines.forEach((line, i) => {
			if (line.trim() === '' || line.startsWith('#')) return;
			expect({ line, comment: lines[i - 1] }).toEqual({ line, comment: expect.stringMatching(/^#/) });
		});
	});
});

describe('the test servers: redis.conf with only what a small machine cannot serve overridden', () => {
	it('the file asks for 4 I/O threads that also read', () => {
		expect(shippedSetting('io-threads')).toBe('4');
		expect(shippedSetting('io-threads-do-reads')).toBe('yes');
	});

	it('overrides io-threads, and nothing else, on fewer cores than I/O threads', () => {
		expect(smallMachineOverrides(2)).toEqual(['--io-threads', '1']);
		expect(smallMachineOverrides(3)).toEqual(['--io-threads', '1']);
		expect(smallMachineOverrides(4)).toEqual([]);
		expect(smallMachineOverrides(16)).toEqual([]);
	});

	it('the shared test server runs with the overrides this machine needs', async () => {
		if (!process.env.TEST_REDIS_CONF_MANAGED) return; // REDIS_URL: a server we did not start
		const s = testServer();
		const shared = new Redis({ host: s.host, port: s.port, username: s.username, password: s.password, lazyConnect: true });
		try {
			await shared.connect();
			const [, threads] = (await shared.config('GET', 'io-threads')) as [string, string];
			expect(threads).toBe(smallMachineOverrides().length > 0 ? '1' : '4');
			const [, fsync] = (await shared.config('GET', 'appendfsync')) as [string, string];
			expect(fsync).toBe('everysec');
		} finally {
			shared.disconnect();
		}
	});
});
