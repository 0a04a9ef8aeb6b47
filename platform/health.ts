import { DB_ROLES, type DbRole } from './config';
import { toPlatformError } from './errors';
import type { RedisLike } from './scripts';

/**
 * The seed's "Metrics to Monitor" in one report: memory against maxmemory, keyspace hit
 * rate, evictions, connected clients, the slow log and the key count of each role's DB.
 * SLOWLOG and CONFIG are admin commands that a restricted ACL user may not have, so each
 * is optional: the report then says what it could not read instead of failing.
 */
export interface SlowLogEntry {
	id: number;
	at: string;
	durationMs: number;
	command: string;
	client?: string;
	clientName?: string;
}

export interface DbKeys {
	db: number;
	keys: number;
	expires: number;
}

export interface HealthReport {
	status: 'ok' | 'warning';
	warnings: string[];
	server: { version?: string; mode?: string; uptimeSeconds?: number };
	memory: {
		usedBytes: number;
		usedHuman?: string;
		peakBytes?: number;
		maxBytes: number | null;
		maxHuman?: string;
		/** Percent of maxmemory in use; null when there is no limit or it could not be read. */
		usedPercent: number | null;
		policy?: string;
	};
	keyspace: { hits: number; misses: number; hitRate: number | null; evictedKeys: number; expiredKeys: number };
	clients: { connected: number; blocked: number };
	slowLog: { entries: SlowLogEntry[]; length: number | null; thresholdMs: number | null } | null;
	roles: Partial<Record<DbRole, DbKeys>>;
}

export interface HealthOptions {
	/** How many of the newest slow-log entries to return. */
	slowLogCount: number;
	/** The DB of each role (from the credential). */
	dbs: Record<DbRole, number>;
	/** Memory use above this percent of maxmemory raises a warning. */
	memoryWarnPercent?: number;
}

/** Parses INFO text into a flat field -> value map (sections are not needed). */
export function parseInfo(text: string): Record<string, string> {
	const out: Record<string, string> = {};
	for (const line of text.split(/\r?\n/)) {
		if (line === '' || line.startsWith('#')) continue;
		const colon = line.indexOf(':');
		if (colon > 0) out[line.slice(0, colon)] = line.slice(colon + 1);
	}
	return out;
}

/** `db3:keys=10,expires=2,avg_ttl=0` -> { keys: 10, expires: 2 } per DB number. */
export function parseKeyspace(info: Record<string, string>): Map<number, { keys: number; expires: number }> {
	const out = new Map<number, { keys: number; expires: number }>();
	for (const [field, value] of Object.entries(info)) {
		const match = /^db(\d+)$/.exec(field);
		if (!match) continue;
		const parts = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]));
		out.set(Number(match[1]), { keys: Number(parts.keys ?? 0), expires: Number(parts.expires ?? 0) });
	}
	return out;
}

function num(value: string | undefined): number | undefined {
	if (value === undefined || value === '') return undefined;
	const n = Number(value);
	return Number.isFinite(n) ? n : undefined;
}

/** Slow-log arguments can hold customer data: show the command shape, not whole values. */
function describeCommand(args: unknown): string {
	if (!Array.isArray(args)) return '';
	return args
		.map((a) => String(a))
		.map((a) => (a.length > 40 ? `${a.slice(0, 40)}...(${a.length} bytes)` : a))
		.join(' ');
}

export function parseSlowLog(reply: unknown): SlowLogEntry[] {
	if (!Array.isArray(reply)) return [];
	return reply.map((row: unknown[]) => {
		const [id, seconds, micros, args, client, clientName] = row as [number, number, number, unknown, string?, string?];
		const entry: SlowLogEntry = {
			id: Number(id),
			at: new Date(Number(seconds) * 1000).toISOString(),
			durationMs: Number(micros) / 1000,
			command: describeCommand(args),
		};
		if (client) entry.client = String(client);
		if (clientName) entry.clientName = String(clientName);
		return entry;
	});
}

async function optional<T>(what: string, warnings: string[], run: () => Promise<T>): Promise<T | undefined> {
	try {
		return await run();
	} catch (error) {
		warnings.push(`${what} could not be read: ${toPlatformError(error).message}`);
		return undefined;
	}
}

/** Reads the health report; fails only when INFO itself is refused or the server is down. */
export async function readHealth(client: RedisLike, options: HealthOptions): Promise<HealthReport> {
	const warnings: string[] = [];
	const info = parseInfo(await client.info());
	let maxBytes = num(info.maxmemory);
	if (maxBytes === undefined) {
		// Some managed services strip maxmemory from INFO; CONFIG GET may still have it.
		const reply = await optional('maxmemory (CONFIG GET)', warnings, () => client.config('GET', 'maxmemory'));
		if (Array.isArray(reply) && reply.length >= 2) maxBytes = num(String(reply[1]));
	}
	const thresholdReply = await optional('slowlog-log-slower-than (CONFIG GET)', [], () =>
		client.config('GET', 'slowlog-log-slower-than'),
	);
	const slowRaw = await optional('The slow log (SLOWLOG GET)', warnings, () =>
		client.call('SLOWLOG', 'GET', String(options.slowLogCount)),
	);
	const slowLength = slowRaw === undefined ? undefined : await optional('SLOWLOG LEN', [], () => client.call('SLOWLOG', 'LEN'));

	const used = num(info.used_memory) ?? 0;
	const limit = maxBytes !== undefined && maxBytes > 0 ? maxBytes : null;
	const usedPercent = limit ? Math.round((used / limit) * 10000) / 100 : null;
	const hits = num(info.keyspace_hits) ?? 0;
	const misses = num(info.keyspace_misses) ?? 0;
	const evicted = num(info.evicted_keys) ?? 0;
	const policy = info.maxmemory_policy;

	const warnPercent = options.memoryWarnPercent ?? 90;
	if (usedPercent !== null && usedPercent >= warnPercent) {
		warnings.push(`Memory use is ${usedPercent}% of maxmemory; raise maxmemory or shorten cache TTLs`);
	}
	if (limit === null && maxBytes !== undefined) warnings.push('maxmemory is 0 (no limit): Redis can use all RAM');
	if (evicted > 0) warnings.push(`${evicted} keys were evicted since the server started; raise maxmemory if this grows`);
	if (policy && policy !== 'volatile-lru' && policy.startsWith('allkeys')) {
		warnings.push(`maxmemory-policy is ${policy}: queue, lock and conversation keys can be evicted; use volatile-lru`);
	}

	const keyspace = parseKeyspace(info);
	const roles: Partial<Record<DbRole, DbKeys>> = {};
	for (const role of DB_ROLES) {
		const db = options.dbs[role];
		const counts = keyspace.get(db) ?? { keys: 0, expires: 0 };
		roles[role] = { db, ...counts };
	}

	const thresholdMicros = Array.isArray(thresholdReply) ? num(String(thresholdReply[1])) : undefined;
	return {
		status: warnings.length > 0 ? 'warning' : 'ok',
		warnings,
		server: { version: info.redis_version, mode: info.redis_mode, uptimeSeconds: num(info.uptime_in_seconds) },
		memory: {
			usedBytes: used,
			usedHuman: info.used_memory_human,
			peakBytes: num(info.used_memory_peak),
			maxBytes: limit,
			maxHuman: limit ? info.maxmemory_human : undefined,
			usedPercent,
			policy,
		},
		keyspace: {
			hits,
			misses,
			hitRate: hits + misses > 0 ? Math.round((hits / (hits + misses)) * 10000) / 10000 : null,
			evictedKeys: evicted,
			expiredKeys: num(info.expired_keys) ?? 0,
		},
		clients: { connected: num(info.connected_clients) ?? 0, blocked: num(info.blocked_clients) ?? 0 },
		slowLog:
			slowRaw === undefined
				? null
				: {
						entries: parseSlowLog(slowRaw),
						length: typeof slowLength === 'number' ? slowLength : null,
						thresholdMs: thresholdMicros === undefined ? null : thresholdMicros / 1000,
					},
		roles,
	};
}
