import { readFileSync } from 'node:fs';
import Redis from 'ioredis';

import { REDIS_CONF, startRedisServer, type RedisServerHandle } from '../helpers/redis-server';

let server: RedisServerHandle;
let client: Redis;

beforeAll(async () => {
	server = await startRedisServer();
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
