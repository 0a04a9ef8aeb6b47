import { createHash } from 'node:crypto';

/** The platform's Redis roles. Each maps to a DB number in standalone/sentinel mode. */
export type DbRole = 'session' | 'content' | 'cache' | 'queue' | 'rateLimit' | 'default' | 'celeryResult';

export const DB_ROLES: readonly DbRole[] = ['session', 'content', 'cache', 'queue', 'rateLimit', 'default', 'celeryResult'];

export const DEFAULT_DBS: Readonly<Record<DbRole, number>> = {
	session: 0,
	content: 1,
	cache: 2,
	queue: 3,
	rateLimit: 4,
	default: 0,
	// Celery's Redis result backend: the queue DB, what `redis://.../3` as broker and backend gives.
	celeryResult: 3,
};

export type ConnectionMode = 'standalone' | 'sentinel' | 'cluster';

export interface HostPort {
	host: string;
	port: number;
}

export interface TlsConfig {
	enabled: boolean;
	/** PEM-encoded CA bundle; empty means the system trust store. */
	ca?: string;
	/** When false, the server certificate is not verified (self-signed test setups only). */
	rejectUnauthorized: boolean;
}

/** Everything needed to reach the platform's Redis; knows nothing about n8n. */
export interface RedisConnectionConfig {
	mode: ConnectionMode;
	host: string;
	port: number;
	username?: string;
	password?: string;
	tls: TlsConfig;
	dbs: Record<DbRole, number>;
	/** Prepended to every key, for example `staging:` to share one Redis between environments. */
	keyPrefix: string;
	sentinels?: HostPort[];
	masterName?: string;
	sentinelPassword?: string;
	clusterNodes?: HostPort[];
	/** Connect timeout for the TCP/TLS handshake and AUTH, in ms. */
	connectTimeoutMs: number;
}

export function defaultConfig(overrides: Partial<RedisConnectionConfig> = {}): RedisConnectionConfig {
	return {
		mode: 'standalone',
		host: '127.0.0.1',
		port: 6379,
		tls: { enabled: false, rejectUnauthorized: true },
		dbs: { ...DEFAULT_DBS },
		keyPrefix: '',
		connectTimeoutMs: 5000,
		...overrides,
	};
}

/**
 * A stable digest of every setting that changes which server or identity a client talks to.
 * The password is hashed together with the rest, so a changed password gives a new client
 * while the fingerprint itself reveals nothing.
 */
export function fingerprint(config: RedisConnectionConfig): string {
	const canonical = JSON.stringify([
		config.mode,
		config.host,
		config.port,
		config.username ?? '',
		config.password ?? '',
		config.tls.enabled,
		config.tls.ca ?? '',
		config.tls.rejectUnauthorized,
		config.sentinels ?? [],
		config.masterName ?? '',
		config.sentinelPassword ?? '',
		config.clusterNodes ?? [],
		config.connectTimeoutMs,
	]);
	return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/**
 * Every secret of a config, for redaction: the one list that error messages, log lines and
 * connection tests strip, so a secret setting added later is redacted everywhere at once.
 */
export function secretsOf(config: RedisConnectionConfig): Array<string | undefined> {
	return [config.password, config.sentinelPassword];
}

/** The DB a role uses. Cluster has only DB 0, so the mapping is ignored there. */
export function dbFor(config: RedisConnectionConfig, role: DbRole): number {
	return config.mode === 'cluster' ? 0 : config.dbs[role];
}

/** Parses `host:port, host:port` lists used by the sentinel and cluster settings. */
export function parseHostList(text: string, defaultPort: number): HostPort[] {
	return text
		.split(/[\s,]+/)
		.map((part) => part.trim())
		.filter((part) => part.length > 0)
		.map((part) => {
			const match = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(part);
			if (!match) throw new Error(`"${part}" is not a host:port pair`);
			const port = match[2] === undefined ? defaultPort : Number(match[2]);
			if (!Number.isInteger(port) || port < 1 || port > 65535) {
				throw new Error(`"${part}" has an invalid port`);
			}
			return { host: match[1], port };
		});
}
