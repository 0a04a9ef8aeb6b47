import type { PlatformLogger } from '../connection-watch';
import type { RedisLike } from '../scripts';
import { toFields } from './entries';

/** Who reads through the group, and where its log lines go. */
export interface GroupMember {
	group: string;
	consumer: string;
	label: string;
	logger: PlatformLogger;
}

/** Creates the consumer group at `startAt` (and the stream with it) unless it exists. */
export async function ensureGroup(client: RedisLike, key: string, startAt: string, member: GroupMember): Promise<void> {
	try {
		await client.xgroup('CREATE', key, member.group, startAt, 'MKSTREAM');
		member.logger.debug(`${member.label}: created consumer group "${member.group}" on ${key} at ${startAt}`);
	} catch (error) {
		if (!String((error as Error).message).startsWith('BUSYGROUP')) throw error;
	}
}

/**
 * Moves the pending entries of earlier activations of this listener (consumers named with
 * `prefix`) to this consumer, then deletes those consumers: what they never acknowledged is
 * now ours to deliver.
 */
export async function takeOverPending(client: RedisLike, key: string, prefix: string, member: GroupMember): Promise<void> {
	const consumers = (await client.xinfo('CONSUMERS', key, member.group)) as unknown[][];
	for (const row of consumers) {
		const info = toFields(row.map(String));
		const name = info.name;
		if (!name || name === member.consumer || !name.startsWith(prefix)) continue;
		let moved = 0;
		for (;;) {
			const pending = (await client.xpending(key, member.group, '-', '+', 500, name)) as Array<[string]>;
			if (pending.length === 0) break;
			const ids = pending.map((p) => p[0]);
			await client.xclaim(key, member.group, member.consumer, 0, ...ids, 'JUSTID');
			moved += ids.length;
		}
		await client.xgroup('DELCONSUMER', key, member.group, name);
		if (moved > 0) member.logger.info(`${member.label}: took over ${moved} unacknowledged updates from ${name}`);
	}
}
