import { PlatformError, redact, toPlatformError } from './errors';

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

export interface ConnectionWatchOptions {
	/** What is being watched, for log lines, e.g. `Subscriber for content_updates`. */
	label: string;
	/** How long the connection may stay lost before giving up; 0 or less never gives up. */
	giveUpAfterMs: number;
	logger: PlatformLogger;
	/** Secrets to strip from every message that leaves this class. */
	secrets: Array<string | undefined>;
	onGiveUp(error: PlatformError): void;
	/** While lost, a warning is logged at most this often, so a long outage does not flood the log. */
	warnEveryMs?: number;
}

/**
 * Tracks one long-lived connection's outages: logs when it is lost, keeps logging while it
 * stays lost, and gives up once the retry budget is spent. The client reconnects on its own
 * (ioredis retryStrategy); this class only decides when waiting is no longer worth it.
 */
export class ConnectionWatch {
	private lostAt: number | undefined;

	private lastError: unknown;

	private giveUpTimer: ReturnType<typeof setTimeout> | undefined;

	private lastWarnAt = 0;

	private attempts = 0;

	private stopped = false;

	/** Number of outages that ended in a recovery. */
	recoveries = 0;

	/** Downtime of the last recovered outage, in ms. */
	lastDowntimeMs: number | undefined;

	constructor(private readonly options: ConnectionWatchOptions) {}

	get isLost(): boolean {
		return this.lostAt !== undefined;
	}

	/** Remembers the latest driver error so the log and the final error can say why. */
	noteError(error: unknown): void {
		this.lastError = error;
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
		this.options.logger.warn(
			`${this.options.label}: ${what}` +
				(budget > 0 ? ` (giving up after ${Math.round(budget / 1000)} s)` : '') +
				this.reason(),
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
		this.options.logger.warn(
			`${this.options.label}: still disconnected from Redis after ${Math.round((now - this.lostAt) / 1000)} s ` +
				`(${this.attempts} attempts)${this.reason()}`,
		);
	}

	/** The connection is back and usable; returns the downtime when an outage just ended. */
	recovered(): number | undefined {
		if (this.lostAt === undefined) return undefined;
		const downtime = Date.now() - this.lostAt;
		this.lostAt = undefined;
		this.clearTimer();
		this.recoveries += 1;
		this.lastDowntimeMs = downtime;
		this.options.logger.info(`${this.options.label}: reconnected to Redis after ${downtime} ms`);
		return downtime;
	}

	/** Ends the outage as a failure right away (for example the client ended for good). */
	giveUp(cause?: unknown): void {
		if (this.stopped) return;
		if (cause !== undefined) this.lastError = cause;
		const seconds = this.lostAt === undefined ? 0 : Math.round((Date.now() - this.lostAt) / 1000);
		const described = this.lastError === undefined ? undefined : toPlatformError(this.lastError, this.options.secrets);
		const message = redact(
			`${this.options.label}: gave up reconnecting to Redis after ${seconds} s` +
				(described ? `: ${described.message}` : ''),
			this.options.secrets,
		);
		this.stop();
		this.options.logger.error(message);
		this.options.onGiveUp(new PlatformError(message, described?.code ?? 'GAVE_UP', described?.hint));
	}

	stop(): void {
		this.stopped = true;
		this.clearTimer();
	}

	private clearTimer(): void {
		if (this.giveUpTimer) clearTimeout(this.giveUpTimer);
		this.giveUpTimer = undefined;
	}

	private reason(): string {
		if (this.lastError === undefined) return '';
		return `: ${toPlatformError(this.lastError, this.options.secrets).message}`;
	}
}
