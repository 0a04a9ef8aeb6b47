import { sharedPool, type ConnectionPool } from './connection-pool';
import type { DbRole, RedisConnectionConfig } from './config';
import { watchConnection, type ConnectionWatch, type WatchedConnectionOptions } from './connection-watch';
import { PlatformError, toPlatformError } from './errors';
import type { RedisLike } from './scripts';
import { settlesWithin } from './timing';

/** One pub/sub message as it came off the wire. */
export interface PubSubMessage {
	channel: string;
	/** Set when the message reached us through a PSUBSCRIBE pattern. */
	pattern?: string;
	payload: string;
	receivedAt: Date;
}


export interface SubscriberOptions extends WatchedConnectionOptions {
	/** Exact channel names (SUBSCRIBE): `*` in a name is a literal character here. */
	channels: string[];
	/** Glob patterns (PSUBSCRIBE), e.g. `campaign:*:updates`. */
	patterns: string[];
	onMessage(message: PubSubMessage): void;
	pool?: ConnectionPool;
	/** Pub/sub ignores DB numbers, so any role works; `default` keeps it next to locks and leaderboards. */
	role?: DbRole;
	/**
	 * A subscribed socket is silent when no message flows, so a dead network path (no RST) would
	 * go unnoticed. A PING this often (answered within half the interval) proves it is alive.
	 */
	heartbeatMs?: number;
}

/** Errors that retrying cannot fix; start() fails on them at once instead of waiting out the timeout. */
const PERMANENT = new Set(['WRONGPASS', 'NOAUTH', 'NOPERM', 'DB_OUT_OF_RANGE']);

/** Rejects with the client's first error that retrying cannot fix; dispose() stops listening. */
function permanentFailure(client: RedisLike): { promise: Promise<never>; dispose(): void } {
	let dispose: () => void = () => undefined;
	const promise = new Promise<never>((_resolve, reject) => {
		const onError = (error: unknown) => {
			if (PERMANENT.has(toPlatformError(error).code)) reject(error);
		};
		client.on('error', onError);
		dispose = () => client.off('error', onError);
	});
	return { promise, dispose };
}

/**
 * A SUBSCRIBE/PSUBSCRIBE connection that survives Redis restarts and network drops.
 *
 * ioredis reconnects with the pool's backoff (50 ms doubling, capped at 2 s) and re-sends the
 * subscriptions itself (autoResubscribe). On every `ready` after an outage we SUBSCRIBE again
 * anyway and wait for the replies: Redis treats a repeated SUBSCRIBE as a no-op, and its reply
 * is the only proof that messages flow again, which is when the outage is declared over.
 */
export class ResilientSubscriber {
	private client: RedisLike | undefined;

	private readonly watch: ConnectionWatch;

	private readonly pool: ConnectionPool;

	private subscribed = false;

	private stopping = false;

	constructor(
		private readonly config: RedisConnectionConfig,
		private readonly options: SubscriberOptions,
	) {
		this.pool = options.pool ?? sharedPool;
		if (options.channels.length + options.patterns.length === 0) {
			throw new PlatformError('Nothing to subscribe to', 'NO_CHANNELS', 'Enter at least one channel or pattern');
		}
		const names = [...options.channels, ...options.patterns].join(', ');
		this.watch = watchConnection(config, options, `Subscriber for ${names}`, () => this.stop());
	}

	/** Outages recovered so far and the downtime of the last one, for logs and tests. */
	get stats(): { recoveries: number; lastDowntimeMs: number | undefined; connected: boolean } {
		return {
			recoveries: this.watch.recoveries,
			lastDowntimeMs: this.watch.lastDowntimeMs,
			connected: this.subscribed && !this.watch.isLost,
		};
	}

	/** Connects and subscribes; rejects (and releases the client) when the first subscription fails. */
	async start(): Promise<void> {
		if (this.client) throw new Error('ResilientSubscriber.start() was already called');
		const client = this.pool.dedicated(this.config, this.options.role ?? 'default', 'subscriber');
		this.client = client;
		client.on('message', (channel: string, payload: string) => this.deliver(channel, undefined, payload));
		client.on('pmessage', (pattern: string, channel: string, payload: string) =>
			this.deliver(channel, pattern, payload),
		);
		this.watch.attach(client, {
			active: () => this.subscribed && !this.stopping,
			onReady: () => void this.resubscribe(),
		});
		try {
			await this.firstSubscribe(client);
		} catch (error) {
			await this.stop();
			throw this.watch.describe(error);
		}
		this.subscribed = true;
		this.watch.startHeartbeat(client, this.options.heartbeatMs ?? 15_000);
		this.watch.logger.debug(`${this.watch.label}: subscribed`);
	}

	/** Unsubscribes by closing the dedicated connection; safe to call more than once. */
	async stop(): Promise<void> {
		if (this.stopping) return;
		this.stopping = true;
		this.watch.stop();
		const client = this.client;
		if (!client) return;
		client.removeAllListeners('message');
		client.removeAllListeners('pmessage');
		// QUIT would wait in the offline queue while Redis is down; drop the socket at once then.
		if (client.status !== 'ready') client.disconnect();
		// A client caught mid-reconnect may never report `end`; do not let closing hang on it.
		await settlesWithin(this.pool.release(client), 1500);
	}

	private async subscribeAll(client: RedisLike): Promise<void> {
		const { channels, patterns } = this.options;
		const pending: Array<Promise<unknown>> = [];
		if (channels.length > 0) pending.push(client.subscribe(...channels));
		if (patterns.length > 0) pending.push(client.psubscribe(...patterns));
		await Promise.all(pending);
	}

	private async firstSubscribe(client: RedisLike): Promise<void> {
		const refused = permanentFailure(client);
		const subscribing = this.subscribeAll(client);
		// When the start fails, the queued SUBSCRIBE is rejected later by stop(); nobody awaits it then.
		subscribing.catch(() => undefined);
		try {
			await this.watch.startWithin(Promise.race([subscribing, refused.promise]));
		} finally {
			refused.dispose();
		}
	}

	private async resubscribe(): Promise<void> {
		const client = this.client;
		if (!client) return;
		try {
			await this.subscribeAll(client);
		} catch (error) {
			// The connection dropped again (or an ACL change refuses the channel): stay "lost",
			// the next `ready` tries again and the budget decides when to stop.
			this.watch.noteError(error);
			return;
		}
		if (!this.stopping) this.watch.recovered();
	}

	private deliver(channel: string, pattern: string | undefined, payload: string): void {
		if (this.stopping) return;
		try {
			this.options.onMessage({ channel, pattern, payload, receivedAt: new Date() });
		} catch (error) {
			this.watch.logger.error(`${this.watch.label}: handling a message failed: ${this.watch.describe(error).message}`);
		}
	}
}
