import { entryTag, type UpdateEntry } from './entries';

/**
 * Which entries update the same thing and how long to gather them: entries whose `keyOf` is the
 * same (a draft id), in the same stream, within `windowMs` of the first of them.
 */
export interface CoalesceOptions {
	/** The value entries are gathered by; undefined hands the entry over on its own, at once. */
	keyOf(entry: UpdateEntry): string | undefined;
	windowMs: number;
}

/** Entries handed to the handler together: the newest runs, all are acknowledged (or kept) with it. */
export interface Delivery {
	/** Oldest first; the last one is what the handler sees. */
	entries: UpdateEntry[];
	/** Counts failed deliveries for the redelivery backoff. */
	tag: string;
	/** Its delivery failed and the backoff is over: hand the entries out again. */
	retry(): void;
	/** The handler settled (ok = acknowledged); only for gathered deliveries. */
	settled?(ok: boolean): void;
}

/** Hands a delivery to the handler once a slot is free; `take` is called at that moment. */
export type Dispatch = (take: () => Delivery) => Promise<void>;

interface Group {
	tag: string;
	entries: UpdateEntry[];
	timer?: ReturnType<typeof setTimeout>;
	/** The window is over: it goes as soon as its value has no execution running. */
	due: boolean;
}

/** Stream ids are `<ms>-<seq>`; both parts compare as numbers. */
function byId(a: UpdateEntry, b: UpdateEntry): number {
	const [aMs, aSeq] = a.id.split('-').map(Number);
	const [bMs, bSeq] = b.id.split('-').map(Number);
	return aMs - bMs || aSeq - bSeq;
}

/**
 * Gathers entries with the same value into one delivery.
 *
 * Fixed window from the first entry of a value, not a debounce: a draft edited every few seconds
 * for an hour still runs once per window, and no entry waits in the pending list longer than the
 * window plus the executions ahead of it. An entry joins its value's group until the group is
 * handed to the handler (a due group waiting for a free slot still takes newer entries); one that
 * arrives later starts the next group. Executions of one value never overlap, so they run in
 * stream order and the newest value is the last one synced.
 *
 * The gathered entries count as handed out from the moment they arrive (the reader does not read
 * them again from the pending list) and are acknowledged only with their delivery. A failed
 * delivery keeps its value reserved until the backoff is over and then merges back, with anything
 * that arrived meanwhile, into one delivery again. Stopping drops the groups: their entries are
 * still pending in Redis, and the next activation gathers them again.
 */
export class Coalescer {
	/** Groups not yet handed to the handler, by stream and value. */
	private readonly groups = new Map<string, Group>();

	/** Values with a delivery in the handler or waiting for its redelivery. */
	private readonly busy = new Set<string>();

	private stopped = false;

	constructor(
		private readonly options: CoalesceOptions,
		private readonly dispatch: Dispatch,
	) {}

	/** Takes the entry into its value's group; false when it has no value and goes on its own. */
	add(entry: UpdateEntry): boolean {
		const value = this.options.keyOf(entry);
		if (value === undefined) return false;
		this.join(entryTag(entry.streamKey, value), [entry]);
		return true;
	}

	stop(): void {
		this.stopped = true;
		for (const group of this.groups.values()) clearTimeout(group.timer);
		this.groups.clear();
		this.busy.clear();
	}

	private join(tag: string, entries: UpdateEntry[]): Group {
		let group = this.groups.get(tag);
		if (!group) {
			const created: Group = { tag, entries: [], due: false };
			created.timer = setTimeout(() => this.due(created), this.options.windowMs);
			// The reader's connection keeps n8n alive; a window must not keep a stopped test alive.
			created.timer.unref?.();
			this.groups.set(tag, created);
			group = created;
		}
		group.entries.push(...entries);
		return group;
	}

	private due(group: Group): void {
		if (this.stopped) return;
		clearTimeout(group.timer);
		group.due = true;
		this.send(group);
	}

	/** Sends a due group unless its value has an execution running (then it goes after that one). */
	private send(group: Group): void {
		if (this.busy.has(group.tag)) return;
		this.busy.add(group.tag);
		void this.dispatch(() => this.seal(group));
	}

	private seal(group: Group): Delivery {
		this.groups.delete(group.tag);
		const entries = group.entries.sort(byId);
		return {
			entries,
			tag: group.tag,
			retry: () => {
				if (this.stopped) return;
				this.busy.delete(group.tag);
				// The backoff was the wait: no second window.
				this.due(this.join(group.tag, entries.map((entry) => ({ ...entry, redelivered: true }))));
			},
			settled: (ok) => {
				// A failed delivery keeps its value busy until retry().
				if (!ok || this.stopped) return;
				this.busy.delete(group.tag);
				const next = this.groups.get(group.tag);
				if (next?.due) this.send(next);
			},
		};
	}
}
