import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import {
	DEFAULT_DBS,
	defaultConfig,
	parseHostList,
	type ConnectionMode,
	type DbRole,
	type RedisConnectionConfig,
} from '../../platform/config';

// Nodes import it from here; the list itself lives with the config, where the platform reads it too.
export { secretsOf } from '../../platform/config';

export const CREDENTIAL_TYPE = 'marketingRedisApi';

const DB_FIELDS: Record<DbRole, string> = {
	session: 'sessionDb',
	content: 'contentDb',
	cache: 'cacheDb',
	queue: 'queueDb',
	rateLimit: 'rateLimitDb',
	default: 'defaultDb',
	celeryResult: 'celeryResultDb',
};

function asNumber(value: unknown, fallback: number): number {
	if (value === undefined || value === null || value === '') return fallback;
	return Number(value);
}

/** Maps the credential form to the platform client's connection config. Throws on a malformed host list. */
export function configFromCredentials(data: ICredentialDataDecryptedObject): RedisConnectionConfig {
	const mode = (data.mode as ConnectionMode | undefined) ?? 'standalone';
	const dbs = { ...DEFAULT_DBS };
	for (const role of Object.keys(DB_FIELDS) as DbRole[]) {
		dbs[role] = asNumber(data[DB_FIELDS[role]], DEFAULT_DBS[role]);
	}
	// Unset (or -1): Celery's results live where its broker list does, in the queue DB.
	if (data.celeryResultDb === undefined || data.celeryResultDb === '' || Number(data.celeryResultDb) < 0) dbs.celeryResult = dbs.queue;
	const config = defaultConfig({
		mode,
		host: String(data.host ?? 'localhost'),
		port: asNumber(data.port, 6379),
		username: data.user ? String(data.user) : undefined,
		password: data.password ? String(data.password) : undefined,
		tls: {
			enabled: data.tls === true,
			ca: data.tlsCa ? String(data.tlsCa) : undefined,
			rejectUnauthorized: data.tlsSkipVerify !== true,
		},
		dbs,
		keyPrefix: data.keyPrefix ? String(data.keyPrefix) : '',
		connectTimeoutMs: asNumber(data.connectTimeout, 5) * 1000,
	});
	if (mode === 'sentinel') {
		config.sentinels = parseHostList(String(data.sentinels ?? ''), 26379);
		config.masterName = String(data.masterName ?? 'mymaster');
		config.sentinelPassword = data.sentinelPassword ? String(data.sentinelPassword) : undefined;
	}
	if (mode === 'cluster') {
		config.clusterNodes = parseHostList(String(data.clusterNodes ?? ''), 6379);
	}
	return config;
}
