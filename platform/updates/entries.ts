/** What the update streams hold and how their replies read, shared by the reader and the follower. */

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

/** XREAD / XREADGROUP reply: per stream, its entries; an entry's fields are null once MAXLEN trimmed it. */
export type StreamReply = Array<[string, Array<[string, string[] | null]>]> | null;

export function toFields(list: string[]): Record<string, string> {
	const out: Record<string, string> = {};
	for (let i = 0; i + 1 < list.length; i += 2) out[list[i]] = list[i + 1];
	return out;
}

/** One key for an entry across streams: ids are only unique within their stream. */
export function entryTag(streamKey: string, id: string): string {
	return `${streamKey}\u0000${id}`;
}

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
