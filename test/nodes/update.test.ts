import type Redis from 'ioredis';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

/** A subscriber as the Streamlit dashboard would run it (redis-py pubsub.subscribe). */
async function subscribe(channel: string, db: number): Promise<{ client: Redis; received: string[] }> {
	const client = rawClient(db);
	const received: string[] = [];
	client.on('message', (ch: string, message: string) => {
		if (ch === channel) received.push(message);
	});
	await client.subscribe(channel);
	return { client, received };
}

async function until(check: () => boolean): Promise<void> {
	for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('Update resource', () => {
	it('publishes each item as JSON and reports how many subscribers got it, whatever their DB', async () => {
		const channel = uniquePrefix('updates');
		const a = await subscribe(channel, 0);
		const b = await subscribe(channel, 3);
		const result = await runNode({
			parameters: {
				resource: 'update',
				operation: 'publish',
				channel,
				message: '={{ JSON.stringify({ draft_id: $json.id, status: $json.status }) }}',
			},
			items: [
				{ id: 123, status: 'approved' },
				{ id: 124, status: 'rejected' },
			],
		});
		expect(result.error).toBeUndefined();
		expect(result.outputs[0][0]).toMatchObject({ channel, published: true, subscribers: 2 });
		expect(result.outputs[0][0].publishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
		expect(result.outputs[0][0].stream).toBeUndefined();
		expect(result.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		await until(() => a.received.length === 2 && b.received.length === 2);
		expect(a.received.map((m) => JSON.parse(m))).toEqual([
			{ draft_id: 123, status: 'approved' },
			{ draft_id: 124, status: 'rejected' },
		]);
		expect(b.received).toEqual(a.received);
		// Without the durable option nothing is stored.
		expect(await rawClient(0).exists(`stream:${channel}`)).toBe(0);
	});

	it('reports 0 subscribers when nobody listens, on the default channel content_updates', async () => {
		const result = await runNode({
			parameters: { resource: 'update', operation: 'publish', message: '{"ping": true}' },
		});
		expect(result.outputs[0][0]).toMatchObject({ channel: 'content_updates', published: true });
		expect(typeof result.outputs[0][0].subscribers).toBe('number');
	});

	it('durable: appends {message, channel, publishedAt} to stream:{channel} in the same pipeline', async () => {
		const channel = uniquePrefix('durable');
		const sub = await subscribe(channel, 0);
		const result = await runNode({
			parameters: {
				resource: 'update',
				operation: 'publish',
				channel,
				message: '={{ JSON.stringify({ n: $json.n }) }}',
				options: { durable: true },
			},
			items: [{ n: 1 }, { n: 2 }, { n: 3 }],
		});
		expect(result.error).toBeUndefined();
		const out = result.outputs[0];
		expect(out[0]).toMatchObject({ subscribers: 1, stream: `stream:${channel}` });
		expect(out.map((o) => o.streamId)).toEqual([expect.stringMatching(/^\d+-\d+$/), expect.any(String), expect.any(String)]);
		const raw = rawClient(0);
		expect(await raw.type(`stream:${channel}`)).toBe('stream');
		const entries = await raw.xrange(`stream:${channel}`, '-', '+');
		expect(entries.map(([id]) => id)).toEqual(out.map((o) => o.streamId));
		const fields = Object.fromEntries(
			entries[0][1].reduce<string[][]>((acc, v, i) => (i % 2 ? acc[acc.length - 1].push(v) : acc.push([v]), acc), []),
		);
		expect(fields).toEqual({ message: '{"n":1}', channel, publishedAt: out[0].publishedAt });
		await until(() => sub.received.length === 3);
		expect(sub.received).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
		await raw.del(`stream:${channel}`);
	});

	it('durable: caps the stream with MAXLEN ~', async () => {
		const channel = uniquePrefix('capped');
		const items = Array.from({ length: 400 }, (_, n) => ({ n }));
		const result = await runNode({
			parameters: {
				resource: 'update',
				operation: 'publish',
				channel,
				message: '={{ JSON.stringify($json) }}',
				options: { durable: true, streamMaxLength: 10 },
			},
			items,
		});
		expect(result.outputs[0]).toHaveLength(400);
		const raw = rawClient(0);
		const length = await raw.xlen(`stream:${channel}`);
		// Approximate trimming drops whole radix-tree nodes (100 entries each by default).
		expect(length).toBeGreaterThanOrEqual(10);
		expect(length).toBeLessThan(400);
		const [last] = await raw.xrevrange(`stream:${channel}`, '+', '-', 'COUNT', 1);
		expect(last[1]).toContain('{"n":399}');
		await raw.del(`stream:${channel}`);
	});

	it.each([
		['an empty channel', { channel: '' }, /"Channel" is empty/],
		['invalid JSON', { message: '{"draft_id": }' }, /"Message" is not valid JSON/],
		['a zero stream length', { options: { durable: true, streamMaxLength: '={{ $json.ok ? 100 : 0 }}' } }, /"Stream Max Length" must be a positive whole number/],
		['a message over the size limit', { message: JSON.stringify({ body: 'x'.repeat(300) }), options: { maxValueBytes: 200 } }, /"Message" the value is \d+ bytes, over the limit of 200/],
	] as Array<[string, Record<string, unknown>, RegExp]>)('rejects %s: nothing is published or stored', async (_label, override, message) => {
		const channel = uniquePrefix('badupd');
		const sub = await subscribe(channel, 0);
		const result = await runNode({
			parameters: {
				resource: 'update',
				operation: 'publish',
				channel: `={{ $json.ok ? "${channel}" : ${JSON.stringify(override.channel ?? channel)} }}`,
				message: `={{ $json.ok ? '{"ok":1}' : ${JSON.stringify(override.message ?? '{"ok":2}')} }}`,
				options: { durable: true, ...((override.options as object) ?? {}) },
			},
			items: [{ ok: true }, { ok: false }],
		});
		expect(result.error?.message).toMatch(/ \[item 1\]$/);
		expect(result.error?.message).toMatch(message);
		// A PING round trip on the subscriber proves any message would have arrived by now.
		await sub.client.ping();
		expect(sub.received).toEqual([]);
		expect(await rawClient(0).exists(`stream:${channel}`)).toBe(0);
	});

	it('continues on fail: the bad item becomes an error item and the good ones are published', async () => {
		const channel = uniquePrefix('cof');
		const sub = await subscribe(channel, 0);
		const result = await runNode({
			continueOnFail: true,
			parameters: { resource: 'update', operation: 'publish', channel, message: '={{ $json.m }}' },
			items: [{ m: '{"a":1}' }, { m: 'not json' }, { m: '{"c":3}' }],
		});
		expect(result.outputs[0][0]).toMatchObject({ subscribers: 1 });
		expect(result.outputs[0][1].error).toMatch(/^"Message" is not valid JSON.* \[item 1\]$/);
		expect(result.items[0][1].pairedItem).toEqual({ item: 1 });
		await until(() => sub.received.length === 2);
		expect(sub.received).toEqual(['{"a":1}', '{"c":3}']);
	});
});
