// The Redis behind `npm start`: REDIS_URL when given, otherwise a local redis-server with the
// repo's redis.conf and a generated password that is kept (mode 0600) in the dev folder and never printed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseRedisUrl } from '../../harness/redis-server';
import type { RedisTarget } from './n8n';
import { freePort, portIsFree, sleep, stopGroup } from './process';
import { REPO_ROOT } from './n8n';

export interface DevRedis extends RedisTarget {
	/** Where the connection came from, for the banner (never contains the password). */
	describe: string;
	/** Process group of the redis-server we started (it leads its own group); undefined for REDIS_URL. */
	pgid?: number;
	/** Stops the server if we started it. */
	stop(): Promise<void>;
}

function devPassword(devDir: string): string {
	const file = join(devDir, 'redis-password');
	if (existsSync(file)) return readFileSync(file, 'utf8').trim();
	const password = randomBytes(24).toString('hex');
	writeFileSync(file, password + '\n', { mode: 0o600 });
	return password;
}

function ping(port: number, password: string): boolean {
	// The password goes through the environment (REDISCLI_AUTH), not the command line, so `ps` cannot show it.
	const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'PING'], {
		encoding: 'utf8',
		timeout: 2000,
		env: { ...process.env, REDISCLI_AUTH: password },
	});
	return result.stdout.trim() === 'PONG';
}

/** Starts (or reuses via REDIS_URL) the Redis for local development. */
export async function ensureDevRedis(devDir: string, log: (line: string) => void): Promise<DevRedis> {
	if (process.env.REDIS_URL) {
		const target = parseRedisUrl(process.env.REDIS_URL);
		return { ...target, describe: `REDIS_URL (${target.host}:${target.port})`, stop: async () => undefined };
	}
	mkdirSync(devDir, { recursive: true, mode: 0o700 });
	const password = devPassword(devDir);
	const dataDir = join(devDir, 'redis-data');
	mkdirSync(dataDir, { recursive: true });
	const wanted = Number(process.env.DEV_REDIS_PORT ?? 6379);
	const port = (await portIsFree(wanted)) ? wanted : await freePort();
	// The password lives in a generated config that includes ours, so it is not on the command line.
	const conf = join(devDir, 'redis-dev.conf');
	writeFileSync(
		conf,
		[
			`include ${join(REPO_ROOT, 'redis.conf')}`,
			`port ${port}`,
			`dir ${dataDir}`,
			`requirepass ${password}`,
			'daemonize no',
			`logfile ${join(devDir, 'redis.log')}`,
			'',
		].join('\n'),
		{ mode: 0o600 },
	);
	// detached: a group of its own, so a Ctrl-C in the terminal reaches only `npm start`, which stops Redis
	// after n8n (n8n's Redis clients would otherwise log connection errors while n8n shuts down).
	const child: ChildProcess = spawn('redis-server', [conf], { stdio: 'ignore', detached: true });
	const deadline = Date.now() + 10_000;
	while (!ping(port, password)) {
		if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}; see ${join(devDir, 'redis.log')}`);
		if (Date.now() > deadline) {
			await stopGroup(child, 2000);
			throw new Error(`redis-server did not answer on port ${port}; see ${join(devDir, 'redis.log')}`);
		}
		await sleep(100);
	}
	log(`Redis: local redis-server on 127.0.0.1:${port} (our redis.conf, data in ${dataDir}, password in ${join(devDir, 'redis-password')})`);
	return {
		host: '127.0.0.1',
		port,
		password,
		tls: false,
		describe: `local redis-server 127.0.0.1:${port}`,
		pgid: child.pid,
		stop: () => stopGroup(child, 10_000),
	};
}
