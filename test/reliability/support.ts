/**
 * Shared plumbing of the reliability suite: redis-server processes owned by one test file,
 * credentials and configs pointing at them, raw clients, key scans, and printing figures.
 * Nothing here asserts; the test files do.
 */
import type Redis from 'ioredis';
import { appendFileSync } from 'node:fs';
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { defaultConfig, type RedisConnectionConfig } from '../../platform/config';
import { createRedis } from '../../platform/redis-client';
import { credentialForm, keysMatching } from '../helpers/redis';
import { startRedisServer, type RedisServerHandle, type RedisServerOptions } from '../helpers/redis-server';

const servers = new Set<RedisServerHandle>();
const clients = new Set<Redis>();

/** Starts a redis-server with our redis.conf that stopAll() will stop and remove. */
export async function startServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
	const server = await startRedisServer(options);
	servers.add(server);
	return server;
}

/** Restarts on the same port and data dir (AOF reloaded); the new handle replaces the old one. */
export async function restartServer(server: RedisServerHandle): Promise<RedisServerHandle> {
	servers.delete(server);
	const next = await server.restart();
	servers.add(next);
	return next;
}

/** Stops every server and raw client this file started, and removes the data dirs. */
export async function stopAll(): Promise<void> {
	await Promise.all([...clients].map((c) => c.quit().catch(() => c.disconnect())));
	clients.clear();
	for (const server of servers) {
		await server.kill().catch(() => undefined);
		server.cleanup();
	}
	servers.clear();
}

export interface Target {
	port: number;
	password?: string;
	host?: string;
}

/** n8n credential data for a server, as the credential form stores it. */
export function credentialsFor(server: Target, overrides: ICredentialDataDecryptedObject = {}): ICredentialDataDecryptedObject {
	return credentialForm({ host: server.host ?? '127.0.0.1', port: server.port, password: server.password ?? '', ...overrides });
}

/** The platform config for a server (what the platform modules take). */
export function configFor(server: Target, overrides: Partial<RedisConnectionConfig> = {}): RedisConnectionConfig {
	return defaultConfig({ host: server.host ?? '127.0.0.1', port: server.port, password: server.password, ...overrides });
}

/** A raw client, as a redis-py script would talk to the server (with our scripts); closed by stopAll(). */
export function raw(server: Target, db = 0, extra: Record<string, unknown> = {}): Redis {
	const client = createRedis({
		host: server.host ?? '127.0.0.1',
		port: server.port,
		password: server.password,
		db,
		maxRetriesPerRequest: 1,
		...extra,
	});
	client.on('error', () => undefined);
	clients.add(client);
	return client;
}

export async function closeRaw(client: Redis): Promise<void> {
	clients.delete(client);
	await client.quit().catch(() => client.disconnect());
}

/** Every key matching a pattern in one DB (SCAN, never KEYS). */
export async function scanKeys(client: Redis, pattern = '*'): Promise<string[]> {
	return keysMatching(client, pattern);
}

/** Keys of every DB 0-15, as "db/key", to catch a write that landed in an unexpected DB. */
export async function scanAllDbs(server: Target, pattern = '*'): Promise<string[]> {
	const out: string[] = [];
	for (let db = 0; db < 16; db++) {
		const client = raw(server, db);
		for (const key of await scanKeys(client, pattern)) out.push(`${db}/${key}`);
		await closeRaw(client);
	}
	return out.sort();
}

export function percentile(values: number[], p: number): number {
	if (values.length === 0) return 0;
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[rank];
}

export const FIGURES_FILE = process.env.RELIABILITY_FIGURES ?? join(tmpdir(), 'mredis-reliability-figures.jsonl');

/**
 * Prints a titled table straight to stdout (jest's console adds stack noise) and appends it
 * as one JSON line to FIGURES_FILE, so the figures of a whole run can be collected afterwards.
 */
export function report(title: string, headers: string[], rows: Array<Array<string | number>>): void {
	const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
	const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
	const line = (r: Array<string | number>) => `| ${r.map((c, i) => String(c ?? '').padEnd(widths[i])).join(' | ')} |`;
	const text = [
		'',
		`### ${title}`,
		line(headers),
		`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
		...cells.slice(1).map(line),
		'',
	].join('\n');
	process.stdout.write(`${text}\n`);
	try {
		appendFileSync(FIGURES_FILE, `${JSON.stringify({ at: new Date().toISOString(), title, headers, rows })}\n`);
	} catch {
		// The figures file is a convenience; the printed table is the record.
	}
}

function formatNumber(n: number): string {
	if (Number.isInteger(n)) return String(n);
	return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns true or the deadline passes; returns whether it became true. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 20): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await check()) return true;
		await sleep(everyMs);
	}
	return false;
}
