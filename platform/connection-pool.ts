import { Redis } from './redis-driver';
import { clusterOptions, redisOptions, type ClientPurpose } from './client-options';
import { dbFor, fingerprint, type DbRole, type RedisConnectionConfig } from './config';
import { explainGiveUps, failInFlightOnReconnect, quietReadyCheckWithoutInfo } from './driver-workarounds';
import { createCluster, createRedis } from './redis-client';
import type { RedisLike } from './scripts';
import { settlesWithin } from './timing';

interface PooledClient {
	client: RedisLike;
	fingerprint: string;
	lastUsed: number;
}

export interface PoolOptions {
	/** Shared clients unused for this long are closed. */
	idleMs?: number;
}

function createClient(config: RedisConnectionConfig, db: number, purpose: ClientPurpose): RedisLike {
	const client =
		config.mode === 'cluster'
			? createCluster(config.clusterNodes ?? [{ host: config.host, port: config.port }], clusterOptions(config, purpose))
			: createRedis(redisOptions(config, db, purpose));
	// Without a listener, ioredis prints connection errors as unhandled; the commands
	// themselves reject with the error, which is where we report it.
	client.on('error', () => undefined);
	if (client instanceof Redis) {
		failInFlightOnReconnect(client);
		explainGiveUps(client);
		quietReadyCheckWithoutInfo(client);
	}
	return client;
}

/** QUIT politely (pending replies still arrive), then make sure the socket is gone. */
async function closeQuietly(client: RedisLike): Promise<void> {
	if (client.status === 'end') return;
	const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
	// quit() rejects when the socket is already gone; disconnect() below settles it either way.
	await settlesWithin(client.quit(), 1000, { unref: true });
	client.disconnect();
	await settlesWithin(ended, 1000, { unref: true });
}

/**
 * One cached client per credential fingerprint and DB, reused across executions.
 * Blocking commands and subscriptions get dedicated clients that the caller releases.
 */
export class ConnectionPool {
	private readonly shared = new Map<string, PooledClient>();

	private readonly dedicatedClients = new Set<RedisLike>();

	/** owner (for example an n8n credential id) -> the fingerprint it used last. */
	private readonly owners = new Map<string, string>();

	private sweeper: ReturnType<typeof setInterval> | undefined;

	private readonly idleMs: number;

	constructor(options: PoolOptions = {}) {
		this.idleMs = options.idleMs ?? 5 * 60_000;
	}

	/**
	 * The shared client for a role. Roles that map to the same DB share one client.
	 * `owner` identifies the credential: when its settings change, its old clients are
	 * closed at once instead of idling, so a stale client is never reused.
	 */
	client(config: RedisConnectionConfig, role: DbRole, owner?: string): RedisLike {
		const fp = fingerprint(config);
		if (owner !== undefined) this.trackOwner(owner, fp);
		const db = dbFor(config, role);
		const key = `${fp}/${db}`;
		const now = Date.now();
		let entry = this.shared.get(key);
		if (!entry || entry.client.status === 'end') {
			entry = { client: createClient(config, db, 'shared'), fingerprint: fp, lastUsed: now };
			this.shared.set(key, entry);
			this.startSweeper();
		}
		entry.lastUsed = now;
		return entry.client;
	}

	/** A new client that the caller owns, for BLMOVE/XREADGROUP BLOCK or SUBSCRIBE. */
	dedicated(config: RedisConnectionConfig, role: DbRole, purpose: 'blocking' | 'subscriber'): RedisLike {
		const client = createClient(config, dbFor(config, role), purpose);
		this.dedicatedClients.add(client);
		client.once('end', () => this.dedicatedClients.delete(client));
		return client;
	}

	async release(client: RedisLike): Promise<void> {
		this.dedicatedClients.delete(client);
		await closeQuietly(client);
	}

	/** Number of open clients, shared and dedicated. */
	get size(): number {
		return this.shared.size + this.dedicatedClients.size;
	}

	async closeIdle(now = Date.now()): Promise<void> {
		const closing: Array<Promise<void>> = [];
		for (const [key, entry] of this.shared) {
			if (now - entry.lastUsed >= this.idleMs) {
				this.shared.delete(key);
				closing.push(closeQuietly(entry.client));
			}
		}
		await Promise.all(closing);
		if (this.shared.size === 0) this.stopSweeper();
	}

	async closeAll(): Promise<void> {
		const clients = [...[...this.shared.values()].map((e) => e.client), ...this.dedicatedClients];
		this.shared.clear();
		this.dedicatedClients.clear();
		this.owners.clear();
		this.stopSweeper();
		await Promise.all(clients.map(closeQuietly));
	}

	private trackOwner(owner: string, fp: string): void {
		const previous = this.owners.get(owner);
		this.owners.set(owner, fp);
		if (previous === undefined || previous === fp) return;
		for (const [key, entry] of this.shared) {
			if (entry.fingerprint === previous) {
				this.shared.delete(key);
				void closeQuietly(entry.client);
			}
		}
	}

	private startSweeper(): void {
		if (this.sweeper) return;
		this.sweeper = setInterval(() => void this.closeIdle(), Math.max(1000, Math.floor(this.idleMs / 2)));
		// The sweeper must never keep a process (n8n CLI, a test run) alive on its own.
		this.sweeper.unref();
	}

	private stopSweeper(): void {
		if (this.sweeper) clearInterval(this.sweeper);
		this.sweeper = undefined;
	}
}

/** The process-wide pool used by the n8n nodes. */
export const sharedPool = new ConnectionPool();

process.once('beforeExit', () => void sharedPool.closeAll());
