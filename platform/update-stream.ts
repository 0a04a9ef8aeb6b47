import type { ChainableCommander } from './redis-driver';
import { sharedPool, type ConnectionPool } from './connection-pool';
import type { DbRole, RedisConnectionConfig } from './config';
import { ConnectionWatch, silentLogger, type PlatformLogger } from './connection-watch';
import { PlatformError, toPlatformError } from './errors';
import type { RedisLike } from './scripts';

/**
 * Durable ("at least once") content updates: the publisher appends each update to a capped
 * stream named after its channel (KeySchema.updatesStream), next to the PUBLISH; the trigger
 * reads that stream through a consumer group, so updates published while no workflow was
 * listening wait in the stream until it comes back.
 */

/** The DB role the update streams live in; publisher and trigger must agree on it. */
export const UPDATE_STREAM_ROLE: DbRole = 'default';

/** Default cap for `XADD ... MAXLEN ~`: enough for a long n8n outage, small in memory. */
export const DEFAULT_UPDATE_STREAM_MAXLEN = 10_000;

/** The entry fields; `message` holds the update as a JSON string, as it was published. */
export function updateEntryFields(channel: string, messageJson: string, publishedAt = new Date()): string[] {
	return ['message', messageJson, 'channel', channel, 'publishedAt', publishedAt.toISOString()];
}

/** Queues (pipeline) or sends (client) the XADD of one update, capped with an approximate MAXLEN. */
export function appendUpdate(
	target: RedisLike | ChainableCommander,
	streamKey: string,
	fields: string[],
	maxLen = DEFAULT_UPDATE_STREAM_MAXLEN,
): unknown {
	return (target as RedisLike).xadd(streamKey, 'MAXLEN', '~', maxLen, '*', ...fields);
}

/** How much later than its BLOCK time a read may answer before the connection counts as dead. */
const REPLY_GRACE_MS = 5000;

/**
 * A handler's way to say why it frees its slot without acknowledging the entry (any rejection
 * does that): it stays pending and is delivered again by the next activation.
 */
export class KeepPending extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'KeepPending';
	}
}

/** One stream entry, handed to the consumer. */
export interface UpdateEntry {
	streamKey: string;
	/** The channel the stream mirrors. */
	channel: string;
	id: string;
	fields: Record<string, string>;
	/** True when the entry came from the pending list: delivered before, never acknowledged. */
	redelivered: boolean;
}

export interface UpdateStream {
	key: string;
	channel: string;
}

export interface UpdateStreamReaderOptions {
	streams: UpdateStream[];
	group: string;
	/** Unique per activation. */
	consumer: string;
	/**
	 * Consumers whose name starts with this were earlier activations of the same listener:
	 * their unacknowledged entries are taken over at start, then the consumers are deleted.
	 */
	takeOverPrefix?: string;
	/** Where a group created now starts: `$` = only updates from now on, `0` = everything retained. */
	newGroupStartsAt: '$' | '0';
	/**
	 * Handles one entry; the entry is acknowledged when the returned promise resolves (at once
	 * for a plain return) and stays pending when it rejects. Entries are handed over in stream order.
	 */
	handle(entry: UpdateEntry): void | Promise<void>;
	/** Entries handled at the same time; 1 keeps processing strictly in order. */
	maxInFlight?: number;
	batchSize?: number;
	/** BLOCK time of each XREADGROUP (default 5000 ms). */
	blockMs?: number;
	/** How much later than BLOCK a reply may come before the socket counts as dead (default 5000 ms). */
	replyGraceMs?: number;
	giveUpAfterMs: number;
	onGiveUp(error: PlatformError): void;
	logger?: PlatformLogger;
	label?: string;
	pool?: ConnectionPool;
	role?: DbRole;
	startTimeoutMs?: number;
}

type StreamReply = Array<[string, Array<[string, string[] | null]>]> | null;

function toFields(list: string[]): Record<string, string> {
	const out: Record<string, string> = {};
	for (let i = 0; i + 1 < list.length; i += 2) out[list[i]] = list[i + 1];
	return out;
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Interrupt {
	promise: Promise<never>;
	reject(error: Error): void;
}

function newInterrupt(): Interrupt {
	let reject: (error: Error) => void = () => undefined;
	const promise = new Promise<never>((_resolve, rej) => {
		reject = rej;
	});
	// Only ever awaited through Promise.race; never an unhandled rejection on its own.
	promise.catch(() => undefined);
	return { promise, reject };
}

/**
 * Reads update streams through a consumer group with XREADGROUP BLOCK on a dedicated client.
 *
 * Delivery: each entry is handed to `handle` once, in stream order, and XACKed after
 * `handle` resolves; a rejection leaves it pending. Entries left unacknowledged (a rejection,
 * n8n stopped mid-execution, a reply lost in a dropped connection) are read again from the
 * consumer's pending list at the next start and after every reconnect, so nothing is lost; a
 * duplicate is possible only in those windows.
 */
export class UpdateStreamReader {
	private blocking: RedisLike | undefined;

	private readonly watch: ConnectionWatch;

	private readonly pool: ConnectionPool;

	private stopping = false;

	private loop: Promise<void> | undefined;

	/** Entries handed to `handle` and not yet acknowledged, by id (stream key + id). */
	private readonly unacked = new Set<string>();

	private readonly ackQueue = new Map<string, string[]>();

	private ackScheduled = false;

	private inFlight = 0;

	private slotWaiters: Array<() => void> = [];

	private lastError: unknown;

	/**
	 * Rejected when the blocking connection closes or the reader stops. ioredis neither
	 * re-sends nor rejects a command that was in flight when the socket closed
	 * (autoResendUnfulfilledCommands=false), and commands queued while reconnecting stay queued
	 * after disconnect(); racing every read against this keeps the loop from hanging on them.
	 */
	private interrupt = newInterrupt();

	/** The newest entry id seen per stream, to recreate a vanished group at the right place. */
	private readonly lastIds = new Map<string, string>();

	/** Set at start and after every lost connection: read this consumer's pending list first. */
	private needsDrain = true;

	/** Entries acknowledged so far, for stats and tests. */
	acked = 0;

	constructor(
		private readonly config: RedisConnectionConfig,
		private readonly options: UpdateStreamReaderOptions,
	) {
		this.pool = options.pool ?? sharedPool;
		if (options.streams.length === 0) {
			throw new PlatformError('No stream to read', 'NO_CHANNELS', 'Enter at least one channel');
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

	get stats(): { recoveries: number; lastDowntimeMs: number | undefined; acked: number; unacked: number } {
		return {
			recoveries: this.watch.recoveries,
			lastDowntimeMs: this.watch.lastDowntimeMs,
			acked: this.acked,
			unacked: this.unacked.size,
		};
	}

	/** Creates the groups, takes over earlier activations' pending entries and starts reading. */
	async start(): Promise<void> {
		if (this.blocking) throw new Error('UpdateStreamReader.start() was already called');
		const client = this.pool.dedicated(this.config, this.options.role ?? UPDATE_STREAM_ROLE, 'blocking');
		this.blocking = client;
		client.on('error', (error: unknown) => {
			this.lastError = error;
			this.watch.noteError(error);
		});
		client.on('close', () => {
			if (!this.loop || this.stopping) return;
			// A reply lost with the connection leaves its entries in our pending list: reread it.
			this.needsDrain = true;
			this.interruptReads(new Error('Connection is closed.'));
			this.watch.lost();
		});
		client.on('reconnecting', () => this.watch.retrying());
		client.on('ready', () => {
			if (!this.stopping) this.watch.recovered();
		});
		client.on('end', () => {
			if (this.loop && !this.stopping) this.watch.giveUp(new Error('the Redis connection ended and will not reconnect'));
		});
		try {
			await this.withStartTimeout(this.prepare(client));
		} catch (error) {
			await this.stop();
			throw toPlatformError(error, this.secrets);
		}
		this.loop = this.run(client);
	}

	/** Stops reading; entries still in flight stay pending and are delivered again next time. */
	async stop(): Promise<void> {
		if (this.stopping) return;
		this.stopping = true;
		this.watch.stop();
		for (const wake of this.slotWaiters.splice(0)) wake();
		this.interruptReads(new Error('stopped'));
		const client = this.blocking;
		if (!client) return;
		// Aborts the blocking XREADGROUP at once; QUIT would queue behind it.
		client.disconnect();
		await this.loop?.catch(() => undefined);
		await this.flushAcks(1000);
		await Promise.race([this.pool.release(client), sleep(1000)]);
	}

	private interruptReads(error: Error): void {
		const current = this.interrupt;
		this.interrupt = newInterrupt();
		current.reject(error);
	}

	/**
	 * Awaits a command on the blocking client, giving up on it when the connection closes. A
	 * reply later than `deadlineMs` means the network path died without closing the socket
	 * (TCP keepalive would take hours to tell): the socket is dropped and the client reconnects.
	 */
	private async read<T>(command: Promise<T>, deadlineMs: number): Promise<T> {
		command.catch(() => undefined);
		const client = this.blocking;
		const timer = setTimeout(() => {
			// Only a connected socket can be silently dead; while reconnecting the client retries anyway.
			if (this.stopping || !client || (client.status !== 'ready' && client.status !== 'connect')) return;
			this.logger.warn(`${this.label}: no reply from Redis within ${deadlineMs} ms, reconnecting`);
			client.disconnect(true);
		}, deadlineMs);
		try {
			return await Promise.race([command, this.interrupt.promise]);
		} finally {
			clearTimeout(timer);
		}
	}

	private get label(): string {
		return this.options.label ?? `Stream reader for ${this.options.streams.map((s) => s.key).join(', ')}`;
	}

	private get logger(): PlatformLogger {
		return this.options.logger ?? silentLogger;
	}

	private get secrets(): Array<string | undefined> {
		return [this.config.password, this.config.sentinelPassword];
	}

	private async withStartTimeout<T>(work: Promise<T>): Promise<T> {
		const timeoutMs = this.options.startTimeoutMs ?? this.config.connectTimeoutMs + 1000;
		let timer: ReturnType<typeof setTimeout> | undefined;
		work.catch(() => undefined);
		try {
			return await Promise.race([
				work,
				new Promise<never>((_resolve, reject) => {
					timer = setTimeout(
						() => reject(this.lastError ?? new PlatformError(`No answer from Redis within ${timeoutMs} ms`, 'ETIMEDOUT')),
						timeoutMs,
					);
				}),
			]);
		} finally {
			if (timer) clearTimeout(timer);
		}
	}

	private async prepare(client: RedisLike): Promise<void> {
		for (const stream of this.options.streams) {
			await this.ensureGroup(client, stream.key, this.options.newGroupStartsAt);
			if (this.options.takeOverPrefix) await this.takeOver(client, stream.key, this.options.takeOverPrefix);
		}
	}

	private async ensureGroup(client: RedisLike, key: string, startAt: string): Promise<void> {
		try {
			await client.xgroup('CREATE', key, this.options.group, startAt, 'MKSTREAM');
			this.logger.debug(`${this.label}: created consumer group "${this.options.group}" on ${key} at ${startAt}`);
		} catch (error) {
			if (!String((error as Error).message).startsWith('BUSYGROUP')) throw error;
		}
	}

	/** Moves the pending entries of earlier activations of this listener to this consumer. */
	private async takeOver(client: RedisLike, key: string, prefix: string): Promise<void> {
		const consumers = (await client.xinfo('CONSUMERS', key, this.options.group)) as unknown[][];
		for (const row of consumers) {
			const info = toFields(row.map(String));
			const name = info.name;
			if (!name || name === this.options.consumer || !name.startsWith(prefix)) continue;
			let moved = 0;
			for (;;) {
				const pending = (await client.xpending(key, this.options.group, '-', '+', 500, name)) as Array<[string]>;
				if (pending.length === 0) break;
				const ids = pending.map((p) => p[0]);
				await client.xclaim(key, this.options.group, this.options.consumer, 0, ...ids, 'JUSTID');
				moved += ids.length;
			}
			await client.xgroup('DELCONSUMER', key, this.options.group, name);
			if (moved > 0) this.logger.info(`${this.label}: took over ${moved} unacknowledged updates from ${name}`);
		}
	}

	private async run(client: RedisLike): Promise<void> {
		const { streams, group, consumer } = this.options;
		const batch = this.options.batchSize ?? 100;
		const blockMs = this.options.blockMs ?? 5000;
		while (!this.stopping) {
			try {
				if (this.needsDrain) {
					this.needsDrain = false;
					for (const stream of streams) await this.drainPending(client, stream, batch);
				}
				const reply = (await this.read(
					client.xreadgroup(
						'GROUP',
						group,
						consumer,
						'COUNT',
						batch,
						'BLOCK',
						blockMs,
						'STREAMS',
						...streams.map((s) => s.key),
						...streams.map(() => '>'),
					),
					blockMs + (this.options.replyGraceMs ?? REPLY_GRACE_MS),
				)) as StreamReply;
				if (this.watch.isLost) this.watch.recovered();
				if (reply) await this.dispatchReply(reply, false);
			} catch (error) {
				if (this.stopping) break;
				const code = String((error as Error).message ?? '');
				if (code.startsWith('NOGROUP')) {
					// The stream or group vanished (deleted, or Redis restarted without persistence):
					// recreate it after the last entry this reader saw, so nothing newer is skipped and
					// nothing it already delivered comes again (from the start when it saw none).
					this.logger.warn(`${this.label}: consumer group missing, creating it again`);
					for (const stream of streams) {
						await this.ensureGroup(client, stream.key, this.lastIds.get(stream.key) ?? '0').catch(() => undefined);
					}
					continue;
				}
				// Connection failures are noted from the client's `error` events, which say why
				// (refused, auth); the read itself only knows the socket closed.
				const live = client.status === 'ready';
				if (live) {
					this.lastError = error;
					this.watch.noteError(error);
				}
				this.needsDrain = true;
				// Also for errors on a live connection (WRONGTYPE, NOPERM): the budget applies to any
				// state where updates cannot be read, so a broken trigger ends up reported.
				this.watch.lost(live ? 'Redis refuses to read the update stream, retrying' : undefined);
				await sleep(200);
			}
		}
	}

	private async drainPending(client: RedisLike, stream: UpdateStream, batch: number): Promise<void> {
		let cursor = '0';
		while (!this.stopping) {
			const reply = (await this.read(
				client.xreadgroup('GROUP', this.options.group, this.options.consumer, 'COUNT', batch, 'STREAMS', stream.key, cursor),
				this.options.replyGraceMs ?? REPLY_GRACE_MS,
			)) as StreamReply;
			const entries = reply?.[0]?.[1] ?? [];
			if (entries.length === 0) return;
			cursor = entries[entries.length - 1][0];
			await this.dispatchReply([[stream.key, entries]], true);
		}
	}

	private async dispatchReply(reply: NonNullable<StreamReply>, redelivered: boolean): Promise<void> {
		for (const [key, entries] of reply) {
			const stream = this.options.streams.find((s) => s.key === key);
			for (const [id, list] of entries) {
				if (this.stopping) return;
				if (!redelivered) this.lastIds.set(key, id);
				if (this.unacked.has(`${key}\u0000${id}`)) continue;
				if (list === null) {
					// Trimmed by MAXLEN while it was pending: nothing left to deliver.
					this.queueAck(key, id);
					continue;
				}
				const fields = toFields(list);
				await this.dispatch({
					streamKey: key,
					channel: fields.channel ?? stream?.channel ?? key,
					id,
					fields,
					redelivered,
				});
			}
		}
	}

	private async dispatch(entry: UpdateEntry): Promise<void> {
		const limit = Math.max(1, this.options.maxInFlight ?? 1);
		while (this.inFlight >= limit && !this.stopping) {
			await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
		}
		if (this.stopping) return;
		const tag = `${entry.streamKey}\u0000${entry.id}`;
		this.unacked.add(tag);
		this.inFlight += 1;
		let handled: Promise<void>;
		try {
			handled = Promise.resolve(this.options.handle(entry));
		} catch (error) {
			handled = Promise.reject(error);
		}
		void handled.then(
			() => this.settle(entry, true),
			(error: unknown) => {
				// Never acknowledged on a rejection: the handler could not show that n8n took the
				// entry, and a repeated update is better than a lost one. This activation does not
				// hand it out again; the next one takes it over and delivers it.
				const why = error instanceof KeepPending ? error.message : toPlatformError(error, this.secrets).message;
				this.logger.warn(`${this.label}: update ${entry.id} stays pending: ${why}`);
				this.settle(entry, false);
			},
		);
	}

	private settle(entry: UpdateEntry, ack: boolean): void {
		this.inFlight -= 1;
		this.slotWaiters.shift()?.();
		// Unacknowledged entries stay in `unacked`, so this activation does not hand them out
		// again; the next activation takes them over and delivers them once more.
		if (ack) this.queueAck(entry.streamKey, entry.id);
	}

	private queueAck(key: string, id: string): void {
		const ids = this.ackQueue.get(key) ?? [];
		ids.push(id);
		this.ackQueue.set(key, ids);
		if (this.ackScheduled) return;
		this.ackScheduled = true;
		setImmediate(() => {
			this.ackScheduled = false;
			void this.flushAcks();
		});
	}

	/** Sends queued XACKs in one pipeline; on failure they stay queued for the next flush. */
	private async flushAcks(timeoutMs?: number): Promise<void> {
		if (this.ackQueue.size === 0) return;
		const batch = new Map(this.ackQueue);
		this.ackQueue.clear();
		const client = this.pool.client(this.config, this.options.role ?? UPDATE_STREAM_ROLE);
		const pipeline = client.pipeline();
		for (const [key, ids] of batch) pipeline.xack(key, this.options.group, ...ids);
		const sending = pipeline.exec();
		try {
			const results = timeoutMs
				? await Promise.race([sending, sleep(timeoutMs).then(() => null)])
				: await sending;
			const failed = !results || results.some(([error]) => error);
			if (failed) throw new Error('XACK did not complete');
			for (const [key, ids] of batch) {
				for (const id of ids) this.unacked.delete(`${key}\u0000${id}`);
				this.acked += ids.length;
			}
		} catch (error) {
			for (const [key, ids] of batch) this.ackQueue.set(key, [...(this.ackQueue.get(key) ?? []), ...ids]);
			if (this.stopping) return;
			this.logger.debug(`${this.label}: acknowledging failed, will retry: ${toPlatformError(error, this.secrets).message}`);
			setTimeout(() => void this.flushAcks(), 500).unref();
		}
	}
}

/**
 * Follows streams from their current end without a consumer group, for the editor's
 * "Test step": it shows the next update without taking it from the active workflow's group.
 */
export async function followStreams(
	client: RedisLike,
	keys: string[],
	onEntry: (key: string, id: string, fields: Record<string, string>) => boolean,
	isStopped: () => boolean,
	blockMs = 5000,
): Promise<void> {
	const ids: string[] = [];
	for (const key of keys) {
		const last = (await client.xrevrange(key, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
		ids.push(last[0]?.[0] ?? '0-0');
	}
	while (!isStopped()) {
		let reply: StreamReply;
		try {
			reply = (await client.xread('COUNT', 100, 'BLOCK', blockMs, 'STREAMS', ...keys, ...ids)) as StreamReply;
		} catch (error) {
			if (isStopped()) return;
			throw error;
		}
		for (const [key, entries] of reply ?? []) {
			const index = keys.indexOf(key);
			for (const [id, list] of entries) {
				ids[index] = id;
				if (list && onEntry(key, id, toFields(list))) return;
			}
		}
	}
}
