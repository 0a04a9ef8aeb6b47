import { execChunked } from './cluster-pipeline';
import type { RedisLike } from './scripts';

/**
 * Waiting for results that a writer stores in a key and PUBLISHes on a channel of the same
 * name: Celery's Redis result backend (`celery-task-meta-<id>`) and our queue's result records
 * (`{queue:<name>}:result:<id>`, written by the script that settles the job).
 *
 * One waiter serves one execution, however many items wait: a single dedicated SUBSCRIBE
 * connection (opened on the first wait, closed by `close()`) carries every channel, so 100
 * items cost one connection, not 100, and nothing is polled. The order closes the race with a
 * writer that finishes first: SUBSCRIBE, and once Redis confirmed it, read the keys (on the
 * shared client; a GET does not hold a connection). A value stored before the subscription is
 * found by the read, one stored after it arrives as a message. After a reconnect the keys are
 * read again, since messages published while the socket was down are gone.
 */

export interface WaitOutcome {
	/** The last value seen (a final one unless `timedOut`), or null when the key never appeared. */
	value: string | null;
	timedOut: boolean;
}

interface Pending {
	key: string;
	isFinal: (value: string) => boolean;
	last: string | null;
	resolve: (outcome: WaitOutcome) => void;
	timer?: ReturnType<typeof setTimeout>;
}

export interface ResultWaiterOptions {
	/** The shared client that reads the keys. */
	reader: RedisLike;
	/** A new dedicated client for SUBSCRIBE; `release` closes it. */
	openSubscriber(): RedisLike;
	release(client: RedisLike): Promise<void>;
}

export class ResultWaiter {
	private subscriber: RedisLike | undefined;

	private readonly pending = new Map<string, Set<Pending>>();

	private batch: Pending[] = [];

	private closed = false;

	constructor(private readonly options: ResultWaiterOptions) {}

	/**
	 * Resolves with the key's value once `isFinal` accepts it, or with the last value seen when
	 * `timeoutMs` runs out. Waits asked for in the same turn of the event loop share one SUBSCRIBE
	 * and one read.
	 */
	wait(key: string, timeoutMs: number, isFinal: (value: string) => boolean): Promise<WaitOutcome> {
		if (this.closed) return Promise.reject(new Error('The result waiter is closed'));
		return new Promise<WaitOutcome>((resolve) => {
			const entry: Pending = { key, isFinal, last: null, resolve };
			entry.timer = setTimeout(() => this.settle(entry, true), Math.max(0, timeoutMs));
			let set = this.pending.get(key);
			if (!set) this.pending.set(key, (set = new Set()));
			set.add(entry);
			this.batch.push(entry);
			// The items of one run ask within a few microtasks of each other: one turn of the event loop gathers them all.
			if (this.batch.length === 1) setImmediate(() => void this.flush());
		});
	}

	/** Ends every wait still open (as timed out) and closes the subscriber. */
	async close(): Promise<void> {
		this.closed = true;
		for (const set of [...this.pending.values()]) for (const entry of [...set]) this.settle(entry, true);
		const subscriber = this.subscriber;
		this.subscriber = undefined;
		if (subscriber) await this.options.release(subscriber);
	}

	private settle(entry: Pending, timedOut: boolean): void {
		const set = this.pending.get(entry.key);
		if (!set?.delete(entry)) return;
		clearTimeout(entry.timer);
		if (set.size === 0) {
			this.pending.delete(entry.key);
			// The subscription goes with its last waiter; a failure only leaves a channel nobody reads.
			this.subscriber?.unsubscribe(entry.key).catch(() => undefined);
		}
		entry.resolve({ value: entry.last, timedOut });
	}

	private offer(key: string, value: string | null): void {
		if (value === null) return;
		for (const entry of [...(this.pending.get(key) ?? [])]) {
			entry.last = value;
			if (entry.isFinal(value)) this.settle(entry, false);
		}
	}

	private ensureSubscriber(): RedisLike {
		if (this.subscriber) return this.subscriber;
		const client = this.options.openSubscriber();
		client.on('message', (channel: string, message: string) => this.offer(channel, message));
		let readyBefore = false;
		client.on('ready', () => {
			// ioredis re-subscribes by itself after a reconnect; what was published meanwhile is read back.
			if (readyBefore) void this.readKeys([...this.pending.keys()]);
			readyBefore = true;
		});
		this.subscriber = client;
		return client;
	}

	private async flush(): Promise<void> {
		const entries = this.batch;
		this.batch = [];
		const keys = [...new Set(entries.filter((e) => this.pending.get(e.key)?.has(e)).map((e) => e.key))];
		if (keys.length === 0) return;
		try {
			await this.ensureSubscriber().subscribe(...keys);
		} catch {
			// Without the subscription only the read below can still find a finished result.
		}
		await this.readKeys(keys);
	}

	private async readKeys(keys: string[]): Promise<void> {
		if (keys.length === 0) return;
		try {
			const replies = await execChunked(
				this.options.reader,
				keys.map((key) => ({ send: (pipeline) => void pipeline.get(key) })),
			);
			keys.forEach((key, i) => {
				const [error, value] = replies[i][0];
				if (!error) this.offer(key, value as string | null);
			});
		} catch {
			// A read that failed is retried by the next reconnect; the wait's timeout bounds it.
		}
	}
}
