/**
 * Redis Cluster's key -> hash slot function: CRC16 (XMODEM) of the key, or of its hash tag
 * (the text between the first `{` and the next `}`, when not empty), modulo 16384.
 * Batches need it to group items by the node that owns their slot before pipelining.
 */

const TABLE = (() => {
	const table = new Uint16Array(256);
	for (let i = 0; i < 256; i++) {
		let crc = i << 8;
		for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
		table[i] = crc;
	}
	return table;
})();

function crc16(bytes: Uint8Array, from: number, to: number): number {
	let crc = 0;
	for (let i = from; i < to; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
	return crc;
}

export const CLUSTER_SLOTS = 16384;

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }

export function keySlot(key: string | Buffer): number {
	const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
	let from = 0;
	let to = bytes.length;
	const open = bytes.indexOf(OPEN);
	if (open >= 0) {
		const close = bytes.indexOf(CLOSE, open + 1);
		// `{}` (empty tag) hashes the whole key, as Redis does.
		if (close > open + 1) {
			from = open + 1;
			to = close;
		}
	}
	return crc16(bytes, from, to) % CLUSTER_SLOTS;
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
