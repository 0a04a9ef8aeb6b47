import type { ConnectionWatch } from '../connection-watch';
import type { RedisLike } from '../scripts';
import { withTimeout } from '../timing';
import { entryTag } from './entries';

/**
 * The reader's book of entries handed out and not yet acknowledged, and the XACKs owed for
 * them. Acknowledgements gathered in one turn of the event loop go out in one pipeline; a
 * failed flush keeps them queued and tries again, so an entry leaves the book only once Redis
 * has its XACK.
 */
export class AckBook {
	/** Entries handed to the handler and not acknowledged yet, by entryTag. */
	private readonly out = new Set<string>();

	private readonly owed = new Map<string, string[]>();

	private scheduled = false;

	/** Entries acknowledged so far, for stats and tests. */
	acked = 0;

	constructor(
		private readonly group: string,
		/** The client XACKs go through (the pool's shared one, not the blocked reader). */
		private readonly client: () => RedisLike,
		private readonly watch: ConnectionWatch,
		/** Once the reader stops, a failed flush is left to stop()'s last attempt. */
		private readonly isStopping: () => boolean,
	) {}

	get outstanding(): number {
		return this.out.size;
	}

	handedOut(key: string, id: string): void {
		this.out.add(entryTag(key, id));
	}

	/** The entry stays pending in Redis but may be handed out again (its delivery failed). */
	takeBack(key: string, id: string): void {
		this.out.delete(entryTag(key, id));
	}

	isOut(key: string, id: string): boolean {
		return this.out.has(entryTag(key, id));
	}

	/** Owes Redis an XACK for the entry; sent with the others of this turn. */
	ack(key: string, id: string): void {
		const ids = this.owed.get(key) ?? [];
		ids.push(id);
		this.owed.set(key, ids);
		if (this.scheduled) return;
		this.scheduled = true;
		setImmediate(() => {
			this.scheduled = false;
			void this.flush();
		});
	}

	/** Sends owed XACKs in one pipeline; on failure they stay owed for the next flush. */
	async flush(timeoutMs?: number): Promise<void> {
		if (this.owed.size === 0) return;
		const batch = new Map(this.owed);
		this.owed.clear();
		const pipeline = this.client().pipeline();
		for (const [key, ids] of batch) pipeline.xack(key, this.group, ...ids);
		const sending = pipeline.exec();
		try {
			const results = timeoutMs
				? await withTimeout(sending, timeoutMs, () => new Error('XACK did not complete'))
				: await sending;
			const failed = !results || results.some(([error]) => error);
			if (failed) throw new Error('XACK did not complete');
			for (const [key, ids] of batch) {
				for (const id of ids) this.out.delete(entryTag(key, id));
				this.acked += ids.length;
			}
		} catch (error) {
			for (const [key, ids] of batch) this.owed.set(key, [...(this.owed.get(key) ?? []), ...ids]);
			if (this.isStopping()) return;
			this.watch.logger.debug(`${this.watch.label}: acknowledging failed, will retry: ${this.watch.describe(error).message}`);
			setTimeout(() => void this.flush(), 500).unref();
		}
	}
}
