import { execFileSync } from 'node:child_process';

import { createRedis } from '../../platform/redis-client';
import type { Redis } from '../../platform/redis-driver';
import { credentialForm } from '../../harness/credential-form';
import { parseRedisUrl, startRedisServer, REDIS_CONF, type RedisServerHandle } from '../../harness/redis-server';

/** The server every suite runs against: our own redis-server (our redis.conf), or REDIS_URL. */
export interface BenchServer {
	host: string;
	port: number;
	username?: string;
	password?: string;
	url: string;
	/** How it was started, for the report. */
	origin: string;
	version: string;
	/** Config values that matter for throughput, from CONFIG GET. */
	settings: Record<string, string>;
	/** A fresh raw client on one DB (with our scripts, as the pool's have them); the caller quits it. */
	raw(db?: number): Redis;
	/** Credential data as n8n's credential form stores it. */
	credentials(): Record<string, unknown>;
	stop(): Promise<void>;
}

const REPORTED_SETTINGS = ['appendonly', 'appendfsync', 'io-threads', 'maxmemory-policy', 'save'];

/**
 * REDIS_URL, or our own redis-server with our redis.conf. `args` override single settings of
 * redis.conf on a server of our own (e.g. a reference for the limit) and ignore REDIS_URL.
 */
export async function startBenchServer(args?: string[]): Promise<BenchServer> {
	let handle: RedisServerHandle | undefined;
	let url = args ? undefined : process.env.REDIS_URL;
	let origin = 'REDIS_URL (an existing server)';
	if (!url) {
		handle = await startRedisServer({ args });
		url = handle.url;
		const conf = REDIS_CONF.replace(/.*\//, '');
		origin = args ? `its own redis-server with ${conf} and ${args.join(' ')}` : `its own redis-server started with ${conf} (the production config)`;
	}
	const parts = parseRedisUrl(url);
	const raw = (db = 0) =>
		createRedis({ host: parts.host, port: parts.port, username: parts.username, password: parts.password, db, lazyConnect: false });
	const probe = raw();
	const info = await probe.info('server');
	const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
	const settings: Record<string, string> = {};
	for (const name of REPORTED_SETTINGS) {
		const reply = (await probe.config('GET', name).catch(() => [])) as string[];
		if (reply.length >= 2) settings[name] = reply[1];
	}
	await probe.quit();
	return {
		...parts,
		url,
		origin,
		version,
		settings,
		raw,
		credentials: () => credentialForm({ host: parts.host, port: parts.port, user: parts.username ?? '', password: parts.password ?? '' }),
		async stop() {
			if (handle) {
				await handle.stop();
				handle.cleanup();
			}
		},
	};
}

/** The redis-benchmark binary's version line, or why it is missing. */
export function redisBenchmarkAvailable(): boolean {
	try {
		execFileSync('redis-benchmark', ['--version'], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}
