import type { DbRole } from '../config';
import type { ChainableCommander } from '../redis-driver';
import type { RedisLike } from '../scripts';

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
