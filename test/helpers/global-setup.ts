import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

import { startRedisServer } from './redis-server';

/**
 * Starts one real redis-server (our redis.conf, a random password, a free port) for the
 * whole run, unless REDIS_URL points at a server to use instead.
 */
export default async function globalSetup(): Promise<void> {
	if (process.env.REDIS_URL) {
		process.env.TEST_REDIS_URL = process.env.REDIS_URL;
		return;
	}
	const server = await startRedisServer();
	process.env.TEST_REDIS_URL = server.url;
	process.env.TEST_REDIS_CONF_MANAGED = '1';
	const stateFile = join(tmpdir(), `mredis-jest-${process.pid}.json`);
	writeFileSync(stateFile, JSON.stringify({ pid: server.pid, dir: server.dir }));
	process.env.TEST_REDIS_STATE = stateFile;
	(globalThis as Record<string, unknown>).__MREDIS__ = server;
}
