import { sharedPool, type ConnectionPool } from '../connection-pool';
import type { DbRole, RedisConnectionConfig } from '../config';
import { watchConnection, type ConnectionWatch, type WatchedConnectionOptions } from '../connection-watch';
import { PlatformError } from '../errors';
import type { RedisLike } from '../scripts';
import { settlesWithin, sleep } from '../timing';
import { AckBook } from './acks';
import { Coalescer, type CoalesceOptions, type Delivery } from './coalesce';
import { entryTag, KeepPending, toFields, type StreamReply, type UpdateEntry, type UpdateStream } from './entries';
import { SlotGate } from './gate';
import { newInterrupt } from './interrupt';
import { ensureGroup, takeOverPending, type GroupMember } from './group';
import { UPDATE_STREAM_ROLE } from './publish';
import { RedeliverySchedule, type RedeliveryDelay } from './redelivery';

/** How much later than its BLOCK time a read may answer before the connection counts as dead. */
const REPLY_GRACE_MS = 5000;

export interface UpdateStreamReaderOptions extends WatchedConnectionOptions {
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
	 * With `coalesce`, `replaced` are the older entries of the same value, acknowledged (or kept) with it.
	 */
	handle(entry: UpdateEntry, replaced: UpdateEntry[]): void | Promise<void>;
	/** Gathers entries of the same value into one handler call (coalesce.ts); off when not set. */
	coalesce?: CoalesceOptions;
	/** Entries handled at the same time; 1 keeps processing strictly in order. */
	maxInFlight?: number;
	/**
	 * How long after its n-th failed delivery (n from 1) an entry is handed out again by this
	 * activation; default 15 s doubling up to 10 min.
	 */
	redeliverAfterMs?: RedeliveryDelay;
	batchSize?: number;
	/** BLOCK time of each XREADGROUP (default 5000 ms). */
	blockMs?: number;
	/** How much later than BLOCK a reply may come before the socket counts as dead (default 5000 ms). */
	replyGraceMs?: number;
	pool?: ConnectionPool;
	role?: DbRole;
}

/**
 * Reads update streams through a consumer group with XREADGROUP BLOCK on a dedicated client.
 *
 * Delivery: each entry is handed to `handle` once, in stream order, and XACKed after
 * `handle` resolves; a rejection leaves it pending. Entries left unacknowledged (a rejection,
 * n8n stopped mid-execution, a reply lost in a dropped connection) are read again from the
 * consumer's pending list at the next start and after every reconnect, so nothing is lost; a
 * duplicate is possible only in those windows. With `coalesce`, entries of one value are
 * gathered first and handed over as one (coalesce.ts), acknowledged or kept together.
 */
export class UpdateStreamReader {
	private blocking: RedisLike | undefined;

	private readonly watch: ConnectionWatch;

	private readonly pool: ConnectionPool;

	private readonly acks: AckBook;

	private readonly gate: SlotGate;

	private readonly member: GroupMember;

	private stopping = false;

	private loop: Promise<void> | undefined;

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

	private readonly redeliveries: RedeliverySchedule;

	private readonly coalescer: Coalescer | undefined;

	constructor(
		private readonly config: RedisConnectionConfig,
		private readonly options: UpdateStreamReaderOptions,
	) {
		this.pool = options.pool ?? sharedPool;
		if (options.streams.length === 0) {
			throw new PlatformError('No stream to read', 'NO_CHANNELS', 'Enter at least one channel');
		}
		const keys = options.streams.map((s) => s.key).join(', ');
		this.watch = watchConnection(config, options, `Stream reader for ${keys}`, () => this.stop());
		this.member = { group: options.group, consumer: options.consumer, label: this.watch.label, logger: this.watch.logger };
		this.acks = new AckBook(
			options.group,
			() => this.pool.client(this.config, this.options.role ?? UPDATE_STREAM_ROLE),
			this.watch,
			() => this.stopping,
		);
		this.redeliveries = new RedeliverySchedule(options.redeliverAfterMs);
		this.gate = new SlotGate(Math.max(1, options.maxInFlight ?? 1));
		this.coalescer = options.coalesce && new Coalescer(options.coalesce, async (take) => this.dispatch(take));
	}

	/** Entries acknowledged so far, for stats and tests. */
	get acked(): number {
		return this.acks.acked;
	}

	get stats(): { recoveries: number; lastDowntimeMs: number | undefined; acked: number; unacked: number } {
		return {
			recoveries: this.watch.recoveries,
			lastDowntimeMs: this.watch.lastDowntimeMs,
			acked: this.acks.acked,
			unacked: this.acks.outstanding,
		};
	}

	/** Creates the groups, takes over earlier activations' pending entries and starts reading. */
	async start(): Promise<void> {
		if (this.blocking) throw new Error('UpdateStreamReader.start() was already called');
		const client = this.pool.dedicated(this.config, this.options.role ?? UPDATE_STREAM_ROLE, 'blocking');
		this.blocking = client;
		this.watch.attach(client, {
			active: () => this.loop !== undefined && !this.stopping,
			onClose: () => {
				// A reply lost with the connection leaves its entries in our pending list: reread it.
				this.needsDrain = true;
				this.interruptReads(new Error('Connection is closed.'));
			},
		});
		try {
			await this.watch.startWithin(this.prepare(client));
		} catch (error) {
			await this.stop();
			throw this.watch.describe(error);
		}
		this.loop = this.run(client);
	}

	/** Stops reading; entries still in flight stay pending and are delivered again next time. */
	async stop(): Promise<void> {
		if (this.stopping) return;
		this.stopping = true;
		this.watch.stop();
		this.gate.close();
		this.redeliveries.stop();
		this.coalescer?.stop();
		this.interruptReads(new Error('stopped'));
		const client = this.blocking;
		if (!client) return;
		// Aborts the blocking XREADGROUP at once; QUIT would queue behind it.
		client.disconnect();
		await this.loop?.catch(() => undefined);
		await this.acks.flush(1000);
		await settlesWithin(this.pool.release(client), 1000);
	}

	private interruptReads(error: Error): void {
		const current = this.interrupt;
		this.interrupt = newInterrupt();
		current.reject(error);
	}

	/** Awaits a command on the blocking client, giving up on it when the connection closes or stays silent. */
	private async read<T>(client: RedisLike, command: Promise<T>, deadlineMs: number): Promise<T> {
		command.catch(() => undefined);
		return this.watch.replyWithin(client, Promise.race([command, this.interrupt.promise]), deadlineMs);
	}

	private async prepare(client: RedisLike): Promise<void> {
		for (const stream of this.options.streams) {
			await ensureGroup(client, stream.key, this.options.newGroupStartsAt, this.member);
			if (this.options.takeOverPrefix) await takeOverPending(client, stream.key, this.options.takeOverPrefix, this.member);
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
					client,
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
					this.watch.logger.warn(`${this.watch.label}: consumer group missing, creating it again`);
					for (const stream of streams) {
						await ensureGroup(client, stream.key, this.lastIds.get(stream.key) ?? '0', this.member).catch(() => undefined);
					}
					continue;
				}
				// Connection failures are noted from the client's `error` events, which say why
				// (refused, auth); the read itself only knows the socket closed.
				const live = client.status === 'ready';
				if (live) this.watch.noteError(error);
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
				client,
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
				if (this.acks.isOut(key, id)) continue;
				if (list === null) {
					// Trimmed by MAXLEN while it was pending: nothing left to deliver.
					this.acks.ack(key, id);
					continue;
				}
				const fields = toFields(list);
				const entry = { streamKey: key, channel: fields.channel ?? stream?.channel ?? key, id, fields, redelivered };
				if (this.coalescer?.add(entry)) {
					// Gathered for its window: handed out already, so the pending list is not read for it again.
					this.acks.handedOut(key, id);
					continue;
				}
				await this.dispatch(() => this.single(entry));
			}
		}
	}

	/** An entry delivered on its own; after a failure it is read again from the pending list. */
	private single(entry: UpdateEntry): Delivery {
		return {
			entries: [entry],
			tag: entryTag(entry.streamKey, entry.id),
			retry: () => {
				this.acks.takeBack(entry.streamKey, entry.id);
				this.needsDrain = true;
			},
		};
	}

	private async dispatch(take: () => Delivery): Promise<void> {
		if (!(await this.gate.take(() => this.stopping))) return;
		const delivery = take();
		const { entries } = delivery;
		const entry = entries[entries.length - 1];
		for (const { streamKey, id } of entries) this.acks.handedOut(streamKey, id);
		let handled: Promise<void>;
		try {
			handled = Promise.resolve(this.options.handle(entry, entries.slice(0, -1)));
		} catch (error) {
			handled = Promise.reject(error);
		}
		void handled.then(
			() => this.settle(delivery, true),
			(error: unknown) => {
				// Never acknowledged on a rejection: the handler could not show that n8n took the
				// entry, and a repeated update is better than a lost one. It stays pending and is
				// delivered again after a backoff (or by the next activation, which takes it over).
				const why = error instanceof KeepPending ? error.message : this.watch.describe(error).message;
				const delayMs = this.redeliveries.failed(delivery.tag, () => {
					if (!this.stopping) delivery.retry();
				});
				const what = entries.length > 1 ? `${entry.id} (with ${entries.length - 1} it replaced)` : entry.id;
				this.watch.logger.warn(
					`${this.watch.label}: update ${what} stays pending: ${why}; delivering it again in ${Math.round(delayMs / 1000)} s`,
				);
				this.settle(delivery, false);
			},
		);
	}

	private settle(delivery: Delivery, ack: boolean): void {
		this.gate.give();
		delivery.settled?.(ack);
		// An unacknowledged entry stays handed out until its redelivery is due.
		if (!ack) return;
		this.redeliveries.succeeded(delivery.tag);
		for (const { streamKey, id } of delivery.entries) this.acks.ack(streamKey, id);
	}
}
