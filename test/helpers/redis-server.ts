/**
 * The test Redis: the harness's redis-server (harness/redis-server.ts) with our redis.conf, plus
 * command-line overrides for the settings of redis.conf that this machine cannot serve. Only
 * those: every other setting runs as shipped, and test/foundation/redis-conf.test.ts checks the
 * file itself on a server started without overrides.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

import {
	REDIS_CONF,
	startRedisServer as startHarnessServer,
	type RedisServerHandle,
	type RedisServerOptions,
} from '../../harness/redis-server';

export { freePort, parseRedisUrl, REDIS_CONF, REPO_ROOT, type RedisServerHandle, type RedisServerOptions } from '../../harness/redis-server';

/** The value redis.conf gives a setting (its last occurrence, as redis-server reads it). */
export function shippedSetting(name: string): string | undefined {
	const lines = readFileSync(REDIS_CONF, 'utf8').split('\n');
	const values = lines.map((line) => line.trim().split(/\s+/)).filter(([key]) => key === name);
	const last = values[values.length - 1];
	return last?.slice(1).join(' ');
}

/**
 * The overrides for a machine with `cores` cores, as redis-server arguments. The one setting:
 *
 * - `io-threads`: redis.conf runs 4 I/O threads and asks for at least 4 cores. The I/O threads
 *   spin while they wait for work, so on fewer cores they take the CPU from Redis's main thread
 *   and from the tests themselves (redis.conf's comment: 25x slower on 2 cores). With fewer
 *   cores than threads the test server runs `io-threads 1`, the main thread doing the I/O;
 *   `io-threads-do-reads` then has nothing to act on and stays as shipped.
 */
export function smallMachineOverrides(cores = availableParallelism()): string[] {
	const threads = Number(shippedSetting('io-threads') ?? '1');
	return cores < threads ? ['--io-threads', '1'] : [];
}

export interface TestRedisServerOptions extends RedisServerOptions {
	/** Run redis.conf exactly as shipped, with no small-machine overrides (to check the file itself). */
	asShipped?: boolean;
}

/**
 * Starts a test redis-server: our redis.conf, the small-machine overrides (none with `asShipped`
 * or `noConf`), then the caller's own `args`, which win over both.
 */
export function startRedisServer(options: TestRedisServerOptions = {}): Promise<RedisServerHandle> {
	const { asShipped, ...rest } = options;
	const overrides = asShipped || rest.noConf ? [] : smallMachineOverrides();
	return startHarnessServer({ ...rest, args: [...overrides, ...(rest.args ?? [])] });
}
