import { IOREDIS_VERSION, type Redis } from './redis-driver';

/**
 * The places where the platform reaches into ioredis's private parts: its command queues and
 * its ready check. They are applied by the pool to every standalone/Sentinel client it creates;
 * each one is checked by test/foundation/driver-workarounds.test.ts against the ioredis this
 * package bundles.
 */

type WithQueues = { flushQueue(error: Error, options: { offlineQueue: boolean; commandQueue: boolean }): void };

/**
 * The newest ioredis release known to leave in-flight commands unsettled after a reconnect
 * when autoResendUnfulfilledCommands is false: https://github.com/redis/ioredis/issues/2193.
 * https://github.com/redis/ioredis/pull/2194 fixes it on main after 6.0.0 (the newest release
 * when this was checked); 5.11.1, the version bundled, still drops them. For a later version
 * the pool leaves it to ioredis, and the tests say whether in-flight commands still settle,
 * after a reconnect and when the client is closed mid-reconnect (the case of
 * https://github.com/redis/ioredis/pull/2197, closed without being merged).
 */
export const NEWEST_IOREDIS_WITHOUT_INFLIGHT_FIX = '6.0.0';

function versionParts(version: string): number[] {
	return version
		.split('-')[0]
		.split('.')
		.map((part) => Number.parseInt(part, 10) || 0);
}

/** True for an ioredis version that still has redis/ioredis#2193 (a pre-release of the boundary counts too). */
export function hasInFlightBug(version: string, newestWithBug = NEWEST_IOREDIS_WITHOUT_INFLIGHT_FIX): boolean {
	const mine = versionParts(version);
	const bound = versionParts(newestWithBug);
	for (let i = 0; i < 3; i++) {
		if ((mine[i] ?? 0) !== (bound[i] ?? 0)) return (mine[i] ?? 0) < (bound[i] ?? 0);
	}
	return true;
}

function hasFlushQueue(client: InstanceType<typeof Redis>): boolean {
	return typeof (client as unknown as Partial<WithQueues>).flushQueue === 'function';
}

/**
 * redis/ioredis#2193: with autoResendUnfulfilledCommands=false, ioredis keeps the commands that
 * were in flight when a socket closed and, once a reconnect succeeds, drops them without
 * settling their promises: a pipeline (or a BLMOVE) caught by a short network drop would wait
 * forever. Rejecting them when the reconnect starts makes them fail as "connection lost"
 * instead; they may or may not have been applied, which is what that error says. Commands
 * queued while offline are left to maxRetriesPerRequest. (Cluster node connections do not
 * retry, so ioredis already rejects theirs.)
 */
export function failInFlightOnReconnect(client: InstanceType<typeof Redis>, version = IOREDIS_VERSION): void {
	if (!hasInFlightBug(version) || !hasFlushQueue(client)) return;
	client.on('reconnecting', () => {
		(client as unknown as WithQueues).flushQueue(new Error('Connection is closed.'), {
			offlineQueue: false,
			commandQueue: true,
		});
	});
}

/**
 * Not a bug, a message: a command issued while the client cannot connect is rejected with
 * "Reached the max retries per request limit", which hides the reason (a refused port, an
 * untrusted certificate). The last connection error is carried into that rejection, so the
 * user reads the cause. Should a later ioredis rename the private flushQueue, the message is
 * simply left as ioredis words it.
 */
export function explainGiveUps(client: InstanceType<typeof Redis>): void {
	if (!hasFlushQueue(client)) return;
	let lastError: Error | undefined;
	client.on('error', (error: Error) => (lastError = error));
	client.on('ready', () => (lastError = undefined));
	const queues = client as unknown as WithQueues;
	const flush = queues.flushQueue.bind(client);
	queues.flushQueue = (error, options) => {
		const explained =
			lastError && /max retries per request/i.test(error.message) ? new Error(`${error.message} (${lastError.message})`) : error;
		flush(explained, options);
	};
}

type WithReadyCheck = {
	_readyCheck(callback: (error: Error | null, info?: unknown) => void): void;
	info(callback: (error: Error | null, reply?: unknown) => void): unknown;
};

/**
 * An ACL user without +info is a normal, least-privilege setup for this package, but ioredis's
 * ready check then prints "Skipping the ready check because INFO command fails" with
 * console.warn on every connect, straight past n8n's logger, into the n8n log of every
 * execution. ioredis already treats that NOPERM as "ready"; this only takes the warning away
 * (an empty INFO reply means "not loading" to ioredis, the same outcome). The ready check still
 * waits for a loading server with users that may run INFO. If a later ioredis renames the
 * private `_readyCheck`, the client is left as it is and prints the warning again.
 */
export function quietReadyCheckWithoutInfo(client: InstanceType<typeof Redis>): void {
	const target = client as unknown as Partial<WithReadyCheck>;
	if (typeof target._readyCheck !== 'function' || typeof target.info !== 'function') return;
	const check = target._readyCheck.bind(client);
	const info = target.info;
	target._readyCheck = (callback) => {
		// ioredis's check calls this.info(callback) at once; that one call sees the NOPERM as empty.
		target.info = (reply) =>
			info.call(client, (error, result) => (error && /NOPERM/.test(error.message) ? reply(null, '') : reply(error, result)));
		try {
			check(callback);
		} finally {
			delete target.info;
		}
	};
}
