import { isIP } from 'node:net';

import type { ClusterOptions, RedisOptions } from './redis-driver';
import type { RedisConnectionConfig } from './config';

export type ClientPurpose = 'shared' | 'blocking' | 'subscriber' | 'test';

/**
 * Rounds of reconnect attempts of a shared Cluster client, or of a shared Sentinel client
 * over all sentinels, before its queued commands fail.
 */
export const SHARED_CLUSTER_RETRIES = 1;

/** Retry cap in Sentinel mode, where a failover is expected and each retry asks a sentinel first. */
export const SENTINEL_MAX_RECONNECT_MS = 500;

/** How quickly a reconnecting client retries; capped so a restarted Redis is found within ~2 s. */
export function reconnectDelayMs(attempt: number): number {
	return Math.min(50 * 2 ** Math.min(attempt, 10), 2000);
}

/**
 * Options shared by every client we create. Why these values:
 * - autoResendUnfulfilledCommands=false: a command that was in flight when the socket dropped
 *   must fail, not be re-sent, or a non-idempotent operation (INCR, enqueue) could run twice
 *   while the node reports one result.
 * - maxRetriesPerRequest=1: a command issued while Redis is down fails within one reconnect
 *   attempt instead of hanging the execution.
 * - disconnectTimeout=200: a client closed while it waits to reconnect (Redis dropped it, say
 *   an ACL user was deleted) arms ioredis's "destroy the socket" timer for a socket that is
 *   already closed, so nothing clears it; at ioredis's default of 2 s that timer keeps a
 *   stopping n8n process, or a test worker, alive for 2 s after everything else has ended.
 */
export function redisOptions(
	config: RedisConnectionConfig,
	db: number,
	purpose: ClientPurpose,
): RedisOptions {
	const options: RedisOptions = {
		host: config.host,
		port: config.port,
		username: config.username || undefined,
		password: config.password || undefined,
		db,
		connectionName: `n8n-marketing-redis:${purpose}:db${db}`,
		connectTimeout: config.connectTimeoutMs,
		disconnectTimeout: 200,
		enableReadyCheck: true,
		autoResendUnfulfilledCommands: false,
		maxRetriesPerRequest: purpose === 'blocking' || purpose === 'subscriber' ? null : 1,
		retryStrategy: (attempt: number) => reconnectDelayMs(attempt),
	};
	if (config.tls.enabled) {
		options.tls = {
			ca: config.tls.ca ? config.tls.ca : undefined,
			rejectUnauthorized: config.tls.rejectUnauthorized,
			// SNI takes host names only (RFC 6066); an IP address is verified against the cert's IP SANs.
			servername: isIP(config.host) ? undefined : config.host,
		};
	}
	if (config.mode === 'sentinel') {
		options.sentinels = config.sentinels ?? [];
		options.name = config.masterName;
		options.sentinelPassword = config.sentinelPassword || undefined;
		// While no sentinel answers, ioredis keeps the client "connecting" and its commands
		// queued, past maxRetriesPerRequest. Shared clients therefore stop after one more round
		// (the client ends; the pool makes a new one next time), so an execution fails instead
		// of waiting; blocking and subscriber clients keep trying within their owner's budget.
		options.sentinelRetryStrategy = (attempt: number) =>
			purpose === 'blocking' || purpose === 'subscriber' || attempt <= SHARED_CLUSTER_RETRIES
				? reconnectDelayMs(attempt)
				: null;
		options.enableTLSForSentinelMode = config.tls.enabled;
		// Subscribes to +switch-master on the sentinels, so a failover that leaves the old
		// master alive (SENTINEL FAILOVER, a network split) moves the client at once.
		options.failoverDetector = true;
		// Each attempt asks a sentinel for the current master, so retrying often is cheap; a
		// lower cap means the client finds the promoted replica within ~0.5 s of the promotion.
		options.retryStrategy = (attempt: number) => Math.min(reconnectDelayMs(attempt), SENTINEL_MAX_RECONNECT_MS);
		// A master demoted to replica answers writes with READONLY: reconnect through the
		// sentinels and send that command again (it was refused, so it did not run).
		options.reconnectOnError = (error: Error) => (/^READONLY\b/.test(error.message) ? 2 : false);
		// The Host field is hidden in this mode: each connection checks the certificate
		// against the address the sentinels gave, not a leftover host name.
		if (options.tls) delete options.tls.servername;
		delete options.host;
		delete options.port;
	}
	return options;
}

export function clusterOptions(config: RedisConnectionConfig, purpose: ClientPurpose): ClusterOptions {
	const redisOpts = redisOptions({ ...config, mode: 'standalone' }, 0, purpose);
	delete redisOpts.host;
	delete redisOpts.port;
	delete redisOpts.db;
	delete redisOpts.retryStrategy;
	// Each node's certificate is checked against that node's own address.
	if (redisOpts.tls) delete redisOpts.tls.servername;
	return {
		redisOptions: redisOpts,
		// The Cluster queues commands until it is ready and has no maxRetriesPerRequest of its
		// own, so a shared client would hold a node execution forever while no node answers.
		// Shared clients give up after one retry and end (the pool makes a new one next time);
		// blocking and subscriber clients keep retrying, their owners have their own budget.
		clusterRetryStrategy: (attempt: number) =>
			purpose === 'blocking' || purpose === 'subscriber' || attempt <= SHARED_CLUSTER_RETRIES
				? reconnectDelayMs(attempt)
				: null,
		enableReadyCheck: true,
		maxRedirections: 16,
		// Loopback/private cluster nodes announce their own addresses; keep them as given.
		dnsLookup: (address, callback) => callback(null, address),
		slotsRefreshTimeout: config.connectTimeoutMs,
	};
}
