import type { RedisLike } from '../scripts';
import { toFields, type StreamReply } from './entries';

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
