import { Cluster, Redis } from './redis-driver';
import { clusterOptions, redisOptions } from './client-options';
import { DB_ROLES, type DbRole, type RedisConnectionConfig } from './config';
import { redact, toPlatformError } from './errors';

export interface ConnectionTestResult {
	ok: boolean;
	message: string;
	code?: string;
	/** Milliseconds taken, for the UI and for tests of the 10 s budget. */
	elapsedMs: number;
}

/** The whole test, from connect to last SELECT, must answer within this budget. */
export const CONNECTION_TEST_BUDGET_MS = 9000;

function mappedDbs(config: RedisConnectionConfig): Array<{ db: number; roles: DbRole[] }> {
	const byDb = new Map<number, DbRole[]>();
	for (const role of DB_ROLES) {
		const db = config.dbs[role];
		byDb.set(db, [...(byDb.get(db) ?? []), role]);
	}
	return [...byDb.entries()].sort((a, b) => a[0] - b[0]).map(([db, roles]) => ({ db, roles }));
}

function validateDbs(config: RedisConnectionConfig): string | undefined {
	for (const role of DB_ROLES) {
		const db = config.dbs[role];
		if (!Number.isInteger(db) || db < 0) {
			return `The DB number for "${role}" must be a whole number of 0 or more, got ${String(db)}`;
		}
	}
	return undefined;
}

async function probe(config: RedisConnectionConfig): Promise<string> {
	const timeout = Math.min(config.connectTimeoutMs, CONNECTION_TEST_BUDGET_MS - 1000);
	const testConfig = { ...config, connectTimeoutMs: timeout };
	if (config.mode === 'cluster') {
		const options = clusterOptions(testConfig, 'test');
		options.clusterRetryStrategy = () => null;
		options.enableOfflineQueue = false;
		options.lazyConnect = true;
		const cluster = new Cluster(config.clusterNodes ?? [], options);
		cluster.on('error', () => undefined);
		try {
			await cluster.connect();
			await cluster.ping();
			const nodes = cluster.nodes('master');
			return `Connected to a Redis Cluster with ${nodes.length} master node(s); DB mapping ignored (Cluster has only DB 0)`;
		} finally {
			cluster.disconnect();
		}
	}
	const options = redisOptions(testConfig, 0, 'test');
	options.lazyConnect = true;
	options.retryStrategy = () => null;
	options.sentinelRetryStrategy = () => null;
	options.maxRetriesPerRequest = 0;
	options.enableOfflineQueue = false;
	// A host that accepts TCP but never speaks Redis must still fail within the budget.
	options.commandTimeout = timeout;
	const client = new Redis(options);
	let lastError: unknown;
	client.on('error', (error: unknown) => {
		lastError = error;
	});
	try {
		try {
			await client.connect();
		} catch (error) {
			// ioredis often reports only "Connection is closed"; the socket error says why.
			throw lastError ?? error;
		}
		await client.ping();
		const selected: string[] = [];
		for (const { db, roles } of mappedDbs(config)) {
			try {
				await client.select(db);
			} catch (error) {
				const described = toPlatformError(error);
				if (described.code === 'DB_OUT_OF_RANGE') {
					throw Object.assign(new Error(`DB ${db} (${roles.join(', ')}) is out of range on this server`), {
						code: 'DB_OUT_OF_RANGE',
						described: true,
					});
				}
				throw error;
			}
			selected.push(`${db}`);
		}
		const where = config.mode === 'sentinel' ? `master "${config.masterName ?? ''}" via Sentinel` : 'Redis';
		return `Connected to ${where}; PING and SELECT of DB ${selected.join(', ')} succeeded`;
	} catch (error) {
		if (lastError && (error as Error)?.message === 'Connection is closed.') throw lastError;
		throw error;
	} finally {
		client.disconnect();
	}
}

/**
 * Connects, authenticates, PINGs and SELECTs every mapped DB. Always answers within
 * CONNECTION_TEST_BUDGET_MS with a readable message that never contains a secret.
 */
export async function testConnection(config: RedisConnectionConfig): Promise<ConnectionTestResult> {
	const started = Date.now();
	const secrets = [config.password, config.sentinelPassword];
	const invalid = validateDbs(config);
	if (invalid) return { ok: false, code: 'INVALID_DB', message: invalid, elapsedMs: 0 };
	let timer: ReturnType<typeof setTimeout> | undefined;
	const budget = new Promise<never>((_, reject) => {
		timer = setTimeout(
			() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
			CONNECTION_TEST_BUDGET_MS,
		);
	});
	try {
		const message = await Promise.race([probe(config), budget]);
		return { ok: true, message: redact(message, secrets), elapsedMs: Date.now() - started };
	} catch (error) {
		const err = error as { message?: string; code?: string; described?: boolean };
		if (err?.described) {
			return {
				ok: false,
				code: err.code,
				message: redact(`${err.message ?? ''}. Use DB numbers the server has (16 by default).`, secrets),
				elapsedMs: Date.now() - started,
			};
		}
		let described = toPlatformError(error, secrets);
		if (described.code === 'CONNECTION_LOST' && !config.tls.enabled) {
			described = Object.assign(described, {
				message:
					'The server closed the connection during the handshake. If this Redis requires TLS, turn TLS on in the credential',
			});
		}
		const hint = described.hint ? `. ${described.hint}` : '';
		return {
			ok: false,
			code: described.code,
			message: redact(`${described.message}${hint}`, secrets),
			elapsedMs: Date.now() - started,
		};
	} finally {
		if (timer) clearTimeout(timer);
	}
}
