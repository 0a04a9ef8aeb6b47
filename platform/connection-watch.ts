import { secretsOf, type RedisConnectionConfig } from './config';
import { PlatformError, redact, toPlatformError } from './errors';
import type { RedisLike } from './scripts';
import { settlesWithin, withTimeout } from './timing';

/** The log calls the platform uses; n8n's `this.logger` satisfies it as it is. */
export interface PlatformLogger {
	debug(message: string, meta?: Record<string, unknown>): void;
	info(message: string, meta?: Record<string, unknown>): void;
	warn(message: string, meta?: Record<string, unknown>): void;
	error(message: string, meta?: Record<string, unknown>): void;
}

export const silentLogger: PlatformLogger = {
	debug: () => undefined,
	info: () => undefined,
	warn: () => undefined,
	error: () => undefined,
};

/** The outage settings every long-lived reader of a connection takes (subscriber, stream reader). */
export interface WatchedConnectionOptions {
	/** Retry budget for one outage; 0 or less retries forever. */
	giveUpAfterMs: number;
	/** Called once when the connection stayed lost longer than `giveUpAfterMs`; the owner stops right after. */
	onGiveUp(error: PlatformError): void;
	logger?: PlatformLogger;
	/** Log label; each owner has a default that names what it reads. */
	label?: string;
	/** How long start() waits for the first answer before failing; defaults to the connect timeout + 1 s. */
	startTimeoutMs?: number;
}

export interface ConnectionWatchOptions {
	/** What is being watched, for log lines, e.g. `Subscriber for content_updates`. */
	label: string;
	/** How long the connection may stay lost before giving up; 0 or less never gives up. */
	giveUpAfterMs: number;
	logger?: PlatformLogger;
	/** Secrets to strip from every message that leaves this class (secretsOf(config)). */
	secrets: Array<string | undefined>;
	onGiveUp(error: PlatformError): void;
	/** While lost, a warning is logged at most this often, so a long outage does not flood the log. */
	warnEveryMs?: number;
	/** The deadline of startWithin(); unset means the work may take as long as it takes. */
	startTimeoutMs?: number;
}

/** How an owner tells attach() what the client's events mean to it. */
export interface WatchedClientHooks {
	/** Whether the events count now: after a successful start and before stop. */
	active(): boolean;
	/** Runs on a counted `close`, before the outage is declared (to abandon reads the socket will never answer). */
	onClose?(): void;
	/** Replaces "the outage is over" on `ready`, for owners that must first prove the connection usable. */
	onReady?(): void;
}

/**
 * Tracks one long-lived connection's outages: logs when it is lost, keeps logging while it
 * stays lost, and gives up once the retry budget is spent. The client reconnects on its own
 * (ioredis retryStrategy); this class only decides when waiting is no longer worth it, and
 * drops sockets that are open but dead (heartbeat, reply deadlines) so the client reconnects.
 *
 * The subscriber and the stream reader attach() their dedicated client. A loop that learns of
 * failures from its own commands (a queue worker's blocking take) can instead call lost() when
 * a take fails, recovered() when one succeeds, and wrap each take in replyWithin().
 */
export class ConnectionWatch {
	private lostAt: number | undefined;

	private latestError: unknown;

	private giveUpTimer: ReturnType<typeof setTimeout> | undefined;

	private heartbeatTimer: ReturnType<typeof setInterval> | undefined;

	private lastWarnAt = 0;

	private attempts = 0;

	private stopped = false;

	/** When the current socket connected (TCP), to spot a handshake that never completes. */
	private connectedAt = 0;

	/** Number of outages that ended in a recovery. */
	recoveries = 0;

	/** Downtime of the last recovered outage, in ms. */
	lastDowntimeMs: number | undefined;

	readonly label: string;

	readonly logger: PlatformLogger;

	constructor(private readonly options: ConnectionWatchOptions) {
		this.label = options.label;
		this.logger = options.logger ?? silentLogger;
	}

	get isLost(): boolean {
		return this.lostAt !== undefined;
	}

	get isStopped(): boolean {
		return this.stopped;
	}

	/** The latest driver error, for a start that times out: it says why better than "no answer". */
	get lastError(): unknown {
		return this.latestError;
	}

	/** An error as the user may read it: classified, with every secret stripped. */
	describe(error: unknown): PlatformError {
		return toPlatformError(error, this.options.secrets);
	}

	/** Remembers the latest driver error so the log and the final error can say why. */
	noteError(error: unknown): void {
		this.latestError = error;
	}

	/**
	 * Wires a dedicated client's events to this watch: errors are noted, a close starts an
	 * outage, `ready` ends it (or `hooks.onReady` decides), and `end` gives up at once, since the
	 * pool's retryStrategy never stops: `end` without stop() means the client is gone for good.
	 */
	attach(client: RedisLike, hooks: WatchedClientHooks): void {
		client.on('error', (error: unknown) => this.noteError(error));
		client.on('close', () => {
			if (!hooks.active()) return;
			hooks.onClose?.();
			this.lost();
		});
		client.on('reconnecting', () => this.retrying());
		client.on('connect', () => {
			this.connectedAt = Date.now();
		});
		client.on('ready', () => {
			if (!hooks.active()) return;
			if (hooks.onReady) hooks.onReady();
			else this.recovered();
		});
		client.on('end', () => {
			if (hooks.active()) this.giveUp(new Error('the Redis connection ended and will not reconnect'));
		});
	}

	/** Fails `work` after the start deadline with the latest driver error, or "no answer" when there was none. */
	async startWithin<T>(work: Promise<T>): Promise<T> {
		const timeoutMs = this.options.startTimeoutMs;
		if (timeoutMs === undefined) return work;
		return withTimeout(
			work,
			timeoutMs,
			() => (this.latestError as Error | undefined) ?? new PlatformError(`No answer from Redis within ${timeoutMs} ms`, 'ETIMEDOUT'),
		);
	}

	/**
	 * Awaits a command, dropping the socket when no reply comes within `deadlineMs`: a network
	 * path that died without closing the socket (TCP keepalive would take hours to tell). The
	 * client then reconnects as after a restart. Only a connected socket can be silently dead;
	 * while reconnecting the client retries anyway.
	 */
	async replyWithin<T>(client: RedisLike, work: Promise<T>, deadlineMs: number): Promise<T> {
		const timer = setTimeout(() => {
			if (this.stopped || (client.status !== 'ready' && client.status !== 'connect')) return;
			this.logger.warn(`${this.label}: no reply from Redis within ${deadlineMs} ms, reconnecting`);
			client.disconnect(true);
		}, deadlineMs);
		try {
			return await work;
		} finally {
			clearTimeout(timer);
		}
	}

	/**
	 * PINGs an otherwise silent connection (a subscription) every `everyMs`, answered within half
	 * that, so a dead network path is noticed; stop() ends it. Needs attach() for the handshake check.
	 */
	startHeartbeat(client: RedisLike, everyMs: number): void {
		if (everyMs <= 0 || this.heartbeatTimer) return;
		let pinging = false;
		const beat = async (timeoutMs: number) => {
			if (pinging || this.stopped) return;
			if (client.status === 'connect' && Date.now() - this.connectedAt > timeoutMs) {
				// TCP is up but Redis never answered the handshake (AUTH, ready check): the same dead
				// path, seen from a new socket; connectTimeout only covers the TCP connect itself.
				this.logger.warn(`${this.label}: Redis did not complete the handshake within ${timeoutMs} ms, reconnecting`);
				client.disconnect(true);
				return;
			}
			if (client.status !== 'ready') return;
			pinging = true;
			try {
				// A PING that fails means the connection dropped meanwhile: the close/reconnect path handles it.
				const answered = await settlesWithin(client.ping(), timeoutMs);
				if (!answered && !this.stopped) {
					this.logger.warn(`${this.label}: Redis did not answer a PING within ${timeoutMs} ms, reconnecting`);
					client.disconnect(true);
				}
			} finally {
				pinging = false;
			}
		};
		this.heartbeatTimer = setInterval(() => void beat(everyMs / 2), everyMs);
		this.heartbeatTimer.unref?.();
	}

	/**
	 * The connection went away (or, with `what`, another failure that stops the work, such as a
	 * command Redis keeps refusing); idempotent while the outage lasts.
	 */
	lost(what = 'lost the connection to Redis, reconnecting'): void {
		if (this.stopped || this.lostAt !== undefined) return;
		this.lostAt = Date.now();
		this.attempts = 0;
		this.lastWarnAt = this.lostAt;
		const budget = this.options.giveUpAfterMs;
		this.logger.warn(
			`${this.label}: ${what}` + (budget > 0 ? ` (giving up after ${Math.round(budget / 1000)} s)` : '') + this.reason(),
		);
		if (budget > 0) {
			this.giveUpTimer = setTimeout(() => this.giveUp(), budget);
			// The timer must not keep a process alive on its own; an active trigger holds a socket anyway.
			this.giveUpTimer.unref?.();
		}
	}

	/** A reconnect attempt is scheduled; logs a throttled warning while the outage lasts. */
	retrying(): void {
		if (this.stopped || this.lostAt === undefined) return;
		this.attempts += 1;
		const now = Date.now();
		if (now - this.lastWarnAt < (this.options.warnEveryMs ?? 10_000)) return;
		this.lastWarnAt = now;
		this.logger.warn(
			`${this.label}: still disconnected from Redis after ${Math.round((now - this.lostAt) / 1000)} s ` +
				`(${this.attempts} attempts)${this.reason()}`,
		);
	}

	/** The connection is back and usable; returns the downtime when an outage just ended. */
	recovered(): number | undefined {
		if (this.lostAt === undefined) return undefined;
		const downtime = Date.now() - this.lostAt;
		this.lostAt = undefined;
		this.clearGiveUpTimer();
		this.recoveries += 1;
		this.lastDowntimeMs = downtime;
		this.logger.info(`${this.label}: reconnected to Redis after ${downtime} ms`);
		return downtime;
	}

	/** Ends the outage as a failure right away (for example the client ended for good). */
	giveUp(cause?: unknown): void {
		if (this.stopped) return;
		if (cause !== undefined) this.latestError = cause;
		const seconds = this.lostAt === undefined ? 0 : Math.round((Date.now() - this.lostAt) / 1000);
		const described = this.latestError === undefined ? undefined : this.describe(this.latestError);
		const message = redact(
			`${this.label}: gave up reconnecting to Redis after ${seconds} s` + (described ? `: ${described.message}` : ''),
			this.options.secrets,
		);
		this.stop();
		this.logger.error(message);
		this.options.onGiveUp(new PlatformError(message, described?.code ?? 'GAVE_UP', described?.hint));
	}

	stop(): void {
		this.stopped = true;
		this.clearGiveUpTimer();
		if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
		this.heartbeatTimer = undefined;
	}

	private clearGiveUpTimer(): void {
		if (this.giveUpTimer) clearTimeout(this.giveUpTimer);
		this.giveUpTimer = undefined;
	}

	private reason(): string {
		if (this.latestError === undefined) return '';
		return `: ${this.describe(this.latestError).message}`;
	}
}

/**
 * The watch of a dedicated connection that `owner` reads from: the owner's label (or its
 * default), logger and start deadline, the config's secrets, and a give-up that reports
 * first and then stops the owner (closing a client caught mid-reconnect can take a moment).
 */
export function watchConnection(
	config: RedisConnectionConfig,
	options: WatchedConnectionOptions,
	defaultLabel: string,
	stopOwner: () => Promise<void>,
): ConnectionWatch {
	return new ConnectionWatch({
		label: options.label ?? defaultLabel,
		giveUpAfterMs: options.giveUpAfterMs,
		logger: options.logger,
		secrets: secretsOf(config),
		startTimeoutMs: options.startTimeoutMs ?? config.connectTimeoutMs + 1000,
		onGiveUp: (error) => {
			options.onGiveUp(error);
			void stopOwner();
		},
	});
}
