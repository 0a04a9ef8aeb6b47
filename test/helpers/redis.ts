import type Redis from 'ioredis';
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';
import { randomBytes } from 'node:crypto';

import { defaultConfig, type RedisConnectionConfig } from '../../platform/config';
import { createRedis } from '../../platform/redis-client';
import { credentialForm } from '../../harness/credential-form';
import { parseRedisUrl } from './redis-server';

export { credentialForm } from '../../harness/credential-form';

/** The test server (started by global-setup, or REDIS_URL). */
export function testServer() {
	const url = process.env.TEST_REDIS_URL;
	if (!url) throw new Error('TEST_REDIS_URL is not set: run the tests through jest (global-setup starts Redis)');
	return { url, ...parseRedisUrl(url) };
}

/** A platform config for the test server, with an optional per-test key prefix. */
export function testConfig(overrides: Partial<RedisConnectionConfig> = {}): RedisConnectionConfig {
	const s = testServer();
	return defaultConfig({
		host: s.host,
		port: s.port,
		username: s.username,
		password: s.password,
		tls: { enabled: s.tls, rejectUnauthorized: true },
		...overrides,
	});
}

/** n8n credential data for the test server, as the credential form would store it. */
export function testCredentials(overrides: ICredentialDataDecryptedObject = {}): ICredentialDataDecryptedObject {
	const s = testServer();
	return credentialForm({ host: s.host, port: s.port, user: s.username ?? '', password: s.password ?? '', tls: s.tls, ...overrides });
}

const opened: Redis[] = [];

/**
 * A raw ioredis client on one DB, as redis-py would talk to the server (it also carries our
 * scripts, as every platform client does). Closed by closeRawClients().
 */
export function rawClient(db = 0): Redis {
	const s = testServer();
	const client = createRedis({ host: s.host, port: s.port, username: s.username, password: s.password, db });
	opened.push(client);
	return client;
}

export async function closeRawClients(): Promise<void> {
	await Promise.all(opened.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
}

/** A unique key prefix for one test, so tests never see each other's keys (FLUSHDB is disabled). */
export function uniquePrefix(label = 't'): string {
	return `${label}${randomBytes(4).toString('hex')}:`;
}

/** The Redis server's clock in epoch ms, what the scripts decide by: state is planted relative to it. */
export async function serverNowMs(client: Redis): Promise<number> {
	const [seconds, micros] = await client.time();
	return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Deletes every key matching a pattern in one DB, with SCAN + UNLINK. */
export async function deleteKeys(client: Redis, pattern: string): Promise<number> {
	let cursor = '0';
	let deleted = 0;
	do {
		const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
		cursor = next;
		if (keys.length > 0) deleted += await client.unlink(...keys);
	} while (cursor !== '0');
	return deleted;
}

/** All keys matching a pattern in one DB. */
export async function keysMatching(client: Redis, pattern: string): Promise<string[]> {
	const out: string[] = [];
	let cursor = '0';
	do {
		const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
		cursor = next;
		out.push(...keys);
	} while (cursor !== '0');
	return out.sort();
}
