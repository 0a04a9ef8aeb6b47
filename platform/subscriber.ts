import { sharedPool, type ConnectionPool } from './connection-pool';
import type { DbRole, RedisConnectionConfig } from './config';
import { ConnectionWatch, silentLogger, type PlatformLogger } from './connection-watch';
import { PlatformError, toPlatformError } from './errors';
import type { RedisLike } from './scripts';

/** One pub/sub message as it came off the wire. */
export interface PubSubMessage {
	channel: string;
	/** Set when the message reached us through a PSUBSCRIBE pattern. */
	pattern?: string;
	payload: string;
	receivedAt: Date;
}

export interface SubscriberOptions {
	/** Exact channel names (SUBSCRIBE): `*` in a name is a literal character here. */
	channels: string[];
	/** Glob patterns (PSUBSCRIBE), e.g. `campaign:*:updates`. */
	patterns: string[];
	onMessage(message: PubSubMessage): void;
	/** Called once when the connection stayed lost longer than `giveUpAfterMs`; the subscriber is stopped by then. */
	onGiveUp(error: PlatformError): void;
	/** Retry budget for one outage; 0 or less retries forever. */
	giveUpAfterMs: number;
	logger?: PlatformLogger;
	/** Log label; defaults to the subscribed names. */
	label?: string;
	pool?: ConnectionPool;
	/** Pub/sub ignores DB numbers, so any role works; `default` keeps it next to locks and leaderboards. */
	role?: DbRole;
	/** How long start() waits for the first subscription before failing; defaults to the connect timeout + 1 s. */
	startTimeoutMs?: number;
	/**
	 * A subscribed socket is silent when no message flows, so a dead network path (no RST) would
	 * go unnoticed. A PING this often (answered within half the interval) proves it is alive.
	 */
	heartbeatMs?: number;
}

/** Errors that retrying cannot fix; start() fails on them at once instead of waiting out the timeout. */
const PERMANENT = new Set(['WRONGPASS', 'NOAUTH', 'NOPERM', 'DB_OUT_OF_RANGE']);

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

	private heartbeat: ReturnType<typeof setInterval> | undefined;

	private pinging = false;

	/** When the current socket connected (TCP), to spot a handshake that never completes. */
	private connectedAt = 0;

	private lastError: unknown;

	constructor(
		private readonly config: RedisConnectionConfig,
		private readonly options: SubscriberOptions,
	) {
		this.pool = options.pool ?? sharedPool;
		if (options.channels.length + options.patterns.length === 0) {
			throw new PlatformError('Nothing to subscribe to', 'NO_CHANNELS', 'Enter at least one channel or pattern');
		}
		this.watch = new ConnectionWatch({
			label: this.label,
			giveUpAfterMs: options.giveUpAfterMs,
			logger: this.logger,
			secrets: this.secrets,
			onGiveUp: (error) => {
				// Report first: closing a client caught mid-reconnect can take a moment.
				this.options.onGiveUp(error);
				void this.stop();
			},
		});
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
		client.on('error', (error: unknown) => {
			this.lastError = error;
			this.watch.noteError(error);
		});
		client.on('close', () => {
			if (this.subscribed && !this.stopping) this.watch.lost();
		});
		client.on('reconnecting', () => this.watch.retrying());
		client.on('connect', () => {
			this.connectedAt = Date.now();
		});
		client.on('ready', () => {
			if (this.subscribed && !this.stopping) void this.resubscribe();
		});
		client.on('end', () => {
			// Our retryStrategy never stops, so `end` without stop() means the client is gone for good.
			if (this.subscribed && !this.stopping) this.watch.giveUp(new Error('the Redis connection ended and will not reconnect'));
		});
		try {
			await this.firstSubscribe(client);
		} catch (error) {
			await this.stop();
			throw toPlatformError(error, this.secrets);
		}
		this.subscribed = true;
		this.startHeartbeat();
		this.logger.debug(`${this.label}: subscribed`);
	}

	/** Unsubscribes by closing the dedicated connection; safe to call more than once. */
	async stop(): Promise<void> {
		if (this.stopping) return;
		this.stopping = true;
		this.watch.stop();
		if (this.heartbeat) clearInterval(this.heartbeat);
		const client = this.client;
		if (!client) return;
		client.removeAllListeners('message');
		client.removeAllListeners('pmessage');
		// QUIT would wait in the offline queue while Redis is down; drop the socket at once then.
		if (client.status !== 'ready') client.disconnect();
		// A client caught mid-reconnect may never report `end`; do not let closing hang on it.
		await Promise.race([this.pool.release(client), new Promise((resolve) => setTimeout(resolve, 1500))]);
	}

	private get label(): string {
		if (this.options.label) return this.options.label;
		return `Subscriber for ${[...this.options.channels, ...this.options.patterns].join(', ')}`;
	}

	private get logger(): PlatformLogger {
		return this.options.logger ?? silentLogger;
	}

	private get secrets(): Array<string | undefined> {
		return [this.config.password, this.config.sentinelPassword];
	}

	private async subscribeAll(client: RedisLike): Promise<void> {
		const { channels, patterns } = this.options;
		const pending: Array<Promise<unknown>> = [];
		if (channels.length > 0) pending.push(client.subscribe(...channels));
		if (patterns.length > 0) pending.push(client.psubscribe(...patterns));
		await Promise.all(pending);
	}

	private async firstSubscribe(client: RedisLike): Promise<void> {
		const timeoutMs = this.options.startTimeoutMs ?? this.config.connectTimeoutMs + 1000;
		let fail: (error: unknown) => void = () => undefined;
		const failed = new Promise<never>((_resolve, reject) => {
			fail = reject;
		});
		const onError = (error: unknown) => {
			if (PERMANENT.has(toPlatformError(error).code)) fail(error);
		};
		client.on('error', onError);
		const timer = setTimeout(
			() => fail(this.lastError ?? new PlatformError(`No answer from Redis within ${timeoutMs} ms`, 'ETIMEDOUT')),
			timeoutMs,
		);
		const subscribing = this.subscribeAll(client);
		// When the race is lost, the queued SUBSCRIBE is rejected later by stop(); nobody awaits it then.
		subscribing.catch(() => undefined);
		try {
			await Promise.race([subscribing, failed]);
		} finally {
			clearTimeout(timer);
			client.off('error', onError);
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
			this.logger.error(`${this.label}: handling a message failed: ${toPlatformError(error, this.secrets).message}`);
		}
	}

	private startHeartbeat(): void {
		const every = this.options.heartbeatMs ?? 15_000;
		if (every <= 0) return;
		this.heartbeat = setInterval(() => void this.beat(every / 2), every);
		this.heartbeat.unref?.();
	}

	private async beat(timeoutMs: number): Promise<void> {
		const client = this.client;
		if (!client || this.pinging || this.stopping) return;
		if (client.status === 'connect' && Date.now() - this.connectedAt > timeoutMs) {
			// TCP is up but Redis never answered the handshake (AUTH, ready check): the same dead
			// path, seen from a new socket; connectTimeout only covers the TCP connect itself.
			this.logger.warn(`${this.label}: Redis did not complete the handshake within ${timeoutMs} ms, reconnecting`);
			client.disconnect(true);
			return;
		}
		if (client.status !== 'ready') return;
		this.pinging = true;
		let timer: ReturnType<typeof setTimeout> | undefined;
		try {
			const answered = await Promise.race([
				client.ping().then(() => true),
				new Promise<boolean>((resolve) => {
					timer = setTimeout(() => resolve(false), timeoutMs);
				}),
			]);
			if (!answered && !this.stopping) {
				this.logger.warn(`${this.label}: Redis did not answer a PING within ${timeoutMs} ms, reconnecting`);
				// Dropping the socket makes ioredis reconnect and resubscribe, as after a restart.
				client.disconnect(true);
			}
		} catch {
			// The connection dropped during the PING; the close/reconnect path handles it.
		} finally {
			if (timer) clearTimeout(timer);
			this.pinging = false;
		}
	}
}
