import { Command } from 'ioredis';

import { firstKeyOf, keySlot } from '../../platform/cluster-slot';

/** The slot ioredis routes a single-key command to, and checks cluster pipelines by. */
function ioredisSlot(key: string | Buffer): number | null {
	return new Command('get', [key]).getSlot();
}

describe('keySlot (cluster-key-slot, as bundled with ioredis)', () => {
	it('is CRC16/XMODEM of the key modulo 16384, or of its hash tag', () => {
		// The check value of CRC16/XMODEM is 0x31C3 = 12739.
		expect(keySlot('123456789')).toBe(12739);
		expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
		expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
		expect(keySlot(Buffer.from('ünï{cøde}'))).toBe(keySlot('ünï{cøde}'));
	});

	it('gives every key the slot ioredis routes it to, so a batch grouped by it is a pipeline ioredis accepts', () => {
		const keys = ['foo', 'session:abc', '{queue:jobs}:inflight', 'a{}b', '{}x', 'x{y', 'ünï{cøde}', 'p{a}{b}', 'foo{}{bar}', ''];
		for (const key of keys) expect([key, keySlot(key)]).toEqual([key, ioredisSlot(key)]);
	});

	it('finds the key of the commands batches send', () => {
		expect(firstKeyOf('set', ['k', 'v'])).toBe('k');
		expect(firstKeyOf('evalsha', ['sha', 1, 'k', 'a'])).toBe('k');
		expect(firstKeyOf('xreadgroup', ['GROUP', 'g', 'c', 'STREAMS', 's1', '>'])).toBe('s1');
		expect(firstKeyOf('publish', ['channel', 'm'])).toBeUndefined();
	});
});
