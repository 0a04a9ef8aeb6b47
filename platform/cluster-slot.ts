import { clusterKeySlot } from './redis-driver';

/**
 * Redis Cluster's key -> hash slot function, as ioredis computes it (cluster-key-slot: CRC16
 * of the key, or of its `{hash tag}`, modulo 16384). Batches need it to group items by the node
 * that owns their slot before pipelining, and ioredis refuses a pipeline whose keys it maps to
 * more than one node, so the grouping uses its very function. It differs from CLUSTER KEYSLOT
 * only where ioredis itself does (an empty `{}` followed later by a `}`, as in `foo{}{bar}`;
 * unpaired UTF-16 surrogates); Redis answers MOVED there and ioredis follows it.
 */
export function keySlot(key: string | Buffer): number {
	return clusterKeySlot(key);
}

/** Commands with no key, or whose first argument is not one: any node may serve them. */
const KEYLESS = new Set(['publish', 'ping', 'echo', 'time', 'info', 'multi', 'exec', 'discard', 'script', 'select']);

function isKey(value: unknown): value is string | Buffer {
	return typeof value === 'string' || Buffer.isBuffer(value);
}

/**
 * The first key of one command as a pipeline receives it (`pipeline.set(key, ...)`,
 * `pipeline.evalsha(sha, n, key, ...)`, a custom script `pipeline.name(key..., arg...)`),
 * or undefined when the command has none. Good enough to route a batch item; an item
 * whose commands are unusual can name its key itself (PipelinedItem.slotKey).
 */
export function firstKeyOf(command: string, args: unknown[]): string | Buffer | undefined {
	let name = command.toLowerCase();
	let rest = args;
	if (name === 'call' || name === 'callbuffer') {
		name = String(args[0]).toLowerCase();
		rest = args.slice(1);
	}
	if (KEYLESS.has(name)) return undefined;
	if (name === 'eval' || name === 'evalsha' || name === 'eval_ro' || name === 'evalsha_ro' || name === 'fcall') {
		return Number(rest[1]) > 0 && isKey(rest[2]) ? rest[2] : undefined;
	}
	if (name === 'xread' || name === 'xreadgroup') {
		const at = rest.findIndex((a) => typeof a === 'string' && a.toUpperCase() === 'STREAMS');
		return at >= 0 && isKey(rest[at + 1]) ? rest[at + 1] as string | Buffer : undefined;
	}
	return isKey(rest[0]) ? rest[0] : undefined;
}

/**
 * Splits keys into groups that share a hash slot, in first-seen order: a multi-key command
 * (XREADGROUP over several streams, MGET) must be sent once per group in Cluster mode.
 */
export function groupKeysBySlot(keys: string[]): string[][] {
	const groups = new Map<number, string[]>();
	for (const key of keys) {
		const slot = keySlot(key);
		const list = groups.get(slot) ?? [];
		list.push(key);
		groups.set(slot, list);
	}
	return [...groups.values()];
}
