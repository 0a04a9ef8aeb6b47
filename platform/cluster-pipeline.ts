import { firstKeyOf, keySlot } from './cluster-slot';
import type { ChainableCommander, Cluster } from './redis-driver';
import type { RedisLike } from './scripts';

/** Entries per pipeline: bounds reply buffering while keeping the socket full. */
export const PIPELINE_CHUNK = 2000;

/** One reply of a pipeline: [error, value]. */
export type PipelineReply = [Error | null, unknown];

/** The commands of one entry (a batch item, a lock's first try), queued on a pipeline. */
export interface PipelineEntry {
	send(pipeline: ChainableCommander): void;
	/** Cluster only: the key that routes the entry; defaults to the first key it sends. */
	slotKey?: string;
}

export function isCluster(client: RedisLike): client is Cluster {
	return (client as { isCluster?: boolean }).isCluster === true;
}

function lost(error: unknown): PipelineReply {
	return [error instanceof Error ? error : new Error(String(error)), null];
}

/** Queues every entry on one pipeline, runs it and cuts the replies back into per-entry lists. */
async function execOne(
	pipeline: ChainableCommander,
	entries: Array<{ send(pipeline: ChainableCommander): void }>,
): Promise<PipelineReply[][]> {
	const spans: Array<[number, number]> = [];
	for (const entry of entries) {
		const before = pipeline.length;
		entry.send(pipeline);
		spans.push([before, pipeline.length]);
	}
	let replies: PipelineReply[];
	try {
		replies = ((await pipeline.exec()) ?? []) as PipelineReply[];
	} catch (error) {
		return spans.map(([from, to]) => Array.from({ length: Math.max(1, to - from) }, () => lost(error)));
	}
	return spans.map(([from, to]) => {
		const mine = replies.slice(from, to);
		// Fewer replies than commands: the connection dropped before they came back.
		while (mine.length < to - from) mine.push(lost(new Error('Connection is closed.')));
		return mine;
	});
}

type Call = { name: string; args: unknown[] };

/** Captures the commands an entry queues, so they can be routed and then replayed. */
function record(entry: PipelineEntry): Call[] {
	const calls: Call[] = [];
	const recorder: ChainableCommander = new Proxy({} as ChainableCommander, {
		get(_target, name) {
			if (name === 'length') return calls.length;
			return (...args: unknown[]) => {
				calls.push({ name: String(name), args });
				return recorder;
			};
		},
	});
	entry.send(recorder);
	return calls;
}

function replay(calls: Call[], pipeline: ChainableCommander): void {
	const target = pipeline as unknown as Record<string, (...args: unknown[]) => unknown>;
	for (const { name, args } of calls) target[name](...args);
}

/**
 * Runs the entries pipelined and returns each entry's replies, in entry order.
 *
 * Standalone/Sentinel: one pipeline. Cluster: an ioredis Cluster pipeline may only touch slots
 * of one node, so entries are grouped by the node that owns their key's slot and every node
 * gets one pipeline, all sent at once; entries of one node keep their relative order. An entry
 * whose own keys span nodes runs alone, so only that entry fails.
 */
export async function execPipelined(client: RedisLike, entries: PipelineEntry[]): Promise<PipelineReply[][]> {
	if (entries.length === 0) return [];
	if (!isCluster(client)) return execOne(client.pipeline(), entries);
	// The slot map arrives with the first connection; any command waits for it.
	if (client.slots.length === 0) {
		try {
			await client.ping();
		} catch (error) {
			return entries.map(() => [lost(error)]);
		}
	}
	const nodeOf = (key: string | Buffer): string => {
		const slot = keySlot(key);
		return client.slots[slot]?.join(';') ?? `slot ${slot}`;
	};
	const groups = new Map<string, Array<{ at: number; calls: Call[] }>>();
	entries.forEach((entry, at) => {
		const calls = record(entry);
		const keys = calls.map((c) => firstKeyOf(c.name, c.args)).filter((k) => k !== undefined);
		const slotKey = entry.slotKey ?? keys[0];
		let group = slotKey === undefined ? 'any' : nodeOf(slotKey);
		if (keys.some((k) => nodeOf(k) !== group)) group = `alone ${at}`;
		const list = groups.get(group) ?? [];
		list.push({ at, calls });
		groups.set(group, list);
	});
	const out: PipelineReply[][] = new Array(entries.length);
	await Promise.all(
		[...groups.values()].map(async (list) => {
			const replies = await execOne(
				client.pipeline(),
				list.map(({ calls }) => ({ send: (pipeline: ChainableCommander) => replay(calls, pipeline) })),
			);
			list.forEach(({ at }, n) => (out[at] = replies[n]));
		}),
	);
	return out;
}

/**
 * execPipelined over any number of entries: pipelines of PIPELINE_CHUNK entries, all sent at
 * once, so a large batch neither buffers every reply in one go nor waits a round trip per chunk.
 */
export async function execChunked(client: RedisLike, entries: PipelineEntry[]): Promise<PipelineReply[][]> {
	const chunks: Array<Promise<PipelineReply[][]>> = [];
	for (let start = 0; start < entries.length; start += PIPELINE_CHUNK) {
		chunks.push(execPipelined(client, entries.slice(start, start + PIPELINE_CHUNK)));
	}
	return (await Promise.all(chunks)).flat();
}
