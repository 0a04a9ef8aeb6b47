/**
 * A redis-server of our own, as the tests, the bench and the e2e suite start it: from PATH, with
 * our redis.conf (unless told otherwise), a password, a free loopback port and its own temp dir.
 * The tests' variant (test/helpers/redis-server.ts) adds the overrides a small machine needs;
 * the bench uses this one as it is, since it reports figures for the shipped configuration.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

import { freePort } from './net';

export { freePort } from './net';

export const REPO_ROOT = resolve(__dirname, '..');
export const REDIS_CONF = join(REPO_ROOT, 'redis.conf');

export interface RedisServerOptions {
	port?: number;
	password?: string;
	/** Extra `--name value` arguments after our redis.conf, e.g. ['--maxmemory', '5mb']. */
	args?: string[];
	/** Reuse a data directory, e.g. to restart with the same AOF. */
	dir?: string;
	/** Skip our redis.conf (for replicas, sentinels and cluster nodes that need a clean base). */
	noConf?: boolean;
}

export interface RedisServerHandle {
	port: number;
	password: string;
	dir: string;
	pid: number;
	url: string;
	/** SIGKILL: a crash, no save. */
	kill(): Promise<void>;
	/** Graceful stop. */
	stop(): Promise<void>;
	/** Start again on the same port and directory (AOF/RDB reloaded). */
	restart(): Promise<RedisServerHandle>;
	/** Removes the data directory. */
	cleanup(): void;
}

function redisCli(port: number, password: string, ...args: string[]) {
	return spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', '-a', password, ...args], {
		encoding: 'utf8',
		timeout: 2000,
	});
}

async function waitReady(port: number, password: string, child: ChildProcess, log: () => string): Promise<void> {
	const deadline = Date.now() + 10_000;
	while (Date.now() < deadline) {
		if (child.exitCode !== null) throw new Error(`redis-server exited early:\n${log()}`);
		const result = redisCli(port, password, 'PING');
		if (result.stdout.trim() === 'PONG') return;
		await new Promise((r) => setTimeout(r, 50));
	}
	throw new Error(`redis-server did not answer PING on port ${port}:\n${log()}`);
}

/** Starts redis-server from PATH with our redis.conf and a password, in its own temp dir. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
	const port = options.port ?? (await freePort());
	const password = options.password ?? randomBytes(12).toString('hex');
	const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'mredis-'));
	const args = [
		...(options.noConf ? [] : [REDIS_CONF]),
		'--port',
		String(port),
		'--dir',
		dir,
		'--requirepass',
		password,
		'--daemonize',
		'no',
		'--logfile',
		'',
		...(options.args ?? []),
	];
	const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
	child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
	await waitReady(port, password, child, () => output);
	const exited = () =>
		new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
	const handle: RedisServerHandle = {
		port,
		password,
		dir,
		pid: child.pid ?? 0,
		url: `redis://:${password}@127.0.0.1:${port}`,
		async kill() {
			child.kill('SIGKILL');
			await exited();
		},
		async stop() {
			child.kill('SIGTERM');
			await exited();
		},
		async restart() {
			return startRedisServer({ ...options, port, password, dir });
		},
		cleanup() {
			rmSync(dir, { recursive: true, force: true });
		},
	};
	return handle;
}

export interface RedisUrlParts {
	host: string;
	port: number;
	username?: string;
	password?: string;
	tls: boolean;
}

/** Parses redis://[user]:[password]@host:port into parts. */
export function parseRedisUrl(url: string): RedisUrlParts {
	const u = new URL(url);
	return {
		host: u.hostname || '127.0.0.1',
		port: Number(u.port || 6379),
		username: u.username ? decodeURIComponent(u.username) : undefined,
		password: u.password ? decodeURIComponent(u.password) : undefined,
		tls: u.protocol === 'rediss:',
	};
}
