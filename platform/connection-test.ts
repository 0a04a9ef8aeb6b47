import { Cluster, Redis, type RedisOptions } from './redis-driver';
import { clusterOptions, redisOptions } from './client-options';
import { DB_ROLES, secretsOf, type DbRole, type HostPort, type RedisConnectionConfig } from './config';
import { quietReadyCheckWithoutInfo } from './driver-workarounds';
import { redact, toPlatformError } from './errors';
import { withTimeout } from './timing';

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

/** An error whose message is already readable; `hint` says what to change. */
function described(code: string, message: string, hint?: string): Error {
	return Object.assign(new Error(message), { code, hint, described: true });
}

/** A one-shot client to one node that never retries, for probing seeds and sentinels. */
async function withPlainClient<T>(options: RedisOptions, fn: (client: Redis) => Promise<T>): Promise<T> {
	const client = new Redis({
		...options,
		lazyConnect: true,
		retryStrategy: () => null,
		maxRetriesPerRequest: 0,
		enableOfflineQueue: false,
		commandTimeout: options.connectTimeout,
	});
	quietReadyCheckWithoutInfo(client);
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
		return await fn(client);
	} catch (error) {
		if (lastError && (error as Error)?.message === 'Connection is closed.') throw lastError;
		throw error;
	} finally {
		client.disconnect();
		// disconnect() only end()s the socket. A TLS socket whose handshake never finished (TLS
		// on, plain server: ioredis then arms no connect timeout either) waits for the handshake
		// before it closes, and would stay open for as long as the server keeps idle connections.
		client.stream?.destroy();
	}
}

function nodeOptions(config: RedisConnectionConfig, node: HostPort, password: string | undefined): RedisOptions {
	const options = redisOptions({ ...config, mode: 'standalone', host: node.host, port: node.port }, 0, 'test');
	options.password = password || undefined;
	delete options.db;
	return options;
}

function isAuthError(error: unknown): boolean {
	const code = toPlatformError(error).code;
	return code === 'WRONGPASS' || code === 'NOAUTH';
}

/**
 * Asks every sentinel for the master first, so a wrong sentinel password, an unknown master
 * name and unreachable sentinels each get their own message instead of ioredis' generic one.
 */
async function checkSentinels(config: RedisConnectionConfig): Promise<void> {
	const sentinels = config.sentinels ?? [];
	if (sentinels.length === 0) {
		throw described('INVALID_SENTINELS', 'No sentinels are set', 'Enter the sentinels as host:port pairs, separated by commas');
	}
	if (!config.masterName) {
		throw described('INVALID_MASTER_NAME', 'No master name is set', 'Enter the name the sentinels monitor the master under');
	}
	const answers = await Promise.allSettled(
		sentinels.map((s) =>
			withPlainClient(
				{ ...nodeOptions(config, s, config.sentinelPassword), username: undefined },
				(c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', config.masterName as string),
			),
		),
	);
	const replies = answers.filter((a) => a.status === 'fulfilled').map((a) => (a as PromiseFulfilledResult<unknown>).value);
	if (replies.some((r) => Array.isArray(r) && r.length >= 2)) return;
	if (replies.length > 0) {
		throw described(
			'UNKNOWN_MASTER',
			`The sentinels do not monitor a master named "${config.masterName}"`,
			'Use the name from "sentinel monitor <name> ..." in sentinel.conf',
		);
	}
	const errors = answers.map((a) => (a as PromiseRejectedResult).reason as unknown);
	if (errors.some(isAuthError)) {
		throw described(
			'SENTINEL_AUTH',
			'The sentinels rejected the sentinel password, or require one',
			"Set Sentinel Password to the sentinels' requirepass; the Password field is for the Redis master and replicas",
		);
	}
	const first = toPlatformError(errors[0]);
	throw described(
		'SENTINELS_UNREACHABLE',
		`No sentinel answered: ${first.message}`,
		'Check the sentinel host:port pairs and that redis-sentinel is running',
	);
}

/**
 * Probes the seed nodes one by one before starting a Cluster client: ioredis only says "None
 * of startup nodes is available", which hides a wrong password or a non-cluster server.
 */
async function probeCluster(config: RedisConnectionConfig): Promise<string> {
	const seeds = config.clusterNodes ?? [];
	if (seeds.length === 0) {
		throw described(
			'INVALID_CLUSTER_NODES',
			'No cluster nodes are set',
			'Enter one or more cluster nodes as host:port pairs, separated by commas',
		);
	}
	const answers = await Promise.allSettled(
		seeds.map((s) => withPlainClient(nodeOptions(config, s, config.password), (c) => c.call('CLUSTER', 'INFO'))),
	);
	const infos = answers.filter((a) => a.status === 'fulfilled').map((a) => String((a as PromiseFulfilledResult<unknown>).value));
	if (infos.length === 0) {
		const errors = answers.map((a) => (a as PromiseRejectedResult).reason as unknown);
		const auth = errors.find(isAuthError);
		if (auth) throw auth;
		const index = errors.findIndex((e) => /cluster support disabled/i.test(String((e as Error)?.message)));
		if (index >= 0) {
			throw described(
				'NOT_A_CLUSTER',
				`${seeds[index].host}:${seeds[index].port} is a Redis server without cluster support, not a cluster node`,
				'Use Standalone mode for a single Redis server, or Sentinel mode for a Sentinel group',
			);
		}
		throw errors[0];
	}
	if (!infos.some((info) => /cluster_state:ok/.test(info))) {
		throw described(
			'CLUSTER_DOWN',
			'The cluster reports cluster_state:fail (some hash slots are not served)',
			'Check the cluster with redis-cli --cluster check',
		);
	}
	const options = clusterOptions(config, 'test');
	options.clusterRetryStrategy = () => null;
	options.enableOfflineQueue = false;
	options.lazyConnect = true;
	const cluster = new Cluster(seeds, options);
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

async function probe(config: RedisConnectionConfig): Promise<string> {
	const timeout = Math.min(config.connectTimeoutMs, CONNECTION_TEST_BUDGET_MS - 1000);
	const testConfig = { ...config, connectTimeoutMs: timeout };
	if (config.mode === 'cluster') return probeCluster(testConfig);
	if (config.mode === 'sentinel') await checkSentinels(testConfig);
	const options = redisOptions(testConfig, 0, 'test');
	options.sentinelRetryStrategy = () => null;
	// withPlainClient's command timeout is the connect timeout: a host that accepts TCP but never
	// speaks Redis must still fail within the budget.
	return withPlainClient(options, async (client) => {
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
	});
}

/**
 * A successful test with certificate verification off must still say so: the link is
 * encrypted, but anyone on the path could pose as the server and read the password.
 */
export function insecureTlsWarning(config: RedisConnectionConfig): string {
	if (!config.tls.enabled || config.tls.rejectUnauthorized) return '';
	return (
		'. Warning: TLS certificate verification is off, so the server\'s identity is not checked ' +
		'(a man in the middle could read the password). Paste the CA certificate into the credential instead'
	);
}

/**
 * Connects, authenticates, PINGs and SELECTs every mapped DB. Always answers within
 * CONNECTION_TEST_BUDGET_MS with a readable message that never contains a secret.
 */
export async function testConnection(config: RedisConnectionConfig): Promise<ConnectionTestResult> {
	const started = Date.now();
	const secrets = secretsOf(config);
	const invalid = validateDbs(config);
	if (invalid) return { ok: false, code: 'INVALID_DB', message: invalid, elapsedMs: 0 };
	try {
		const message = await withTimeout(probe(config), CONNECTION_TEST_BUDGET_MS, () =>
			Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }),
		);
		return { ok: true, message: redact(`${message}${insecureTlsWarning(config)}`, secrets), elapsedMs: Date.now() - started };
	} catch (error) {
		const err = error as { message?: string; code?: string; described?: boolean; hint?: string };
		if (err?.described) {
			const hint = err.hint ?? 'Use DB numbers the server has (16 by default).';
			return {
				ok: false,
				code: err.code,
				message: redact(`${err.message ?? ''}. ${hint}`, secrets),
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
	}
}
