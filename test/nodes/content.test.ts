import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const CONTENT_DB = 1;

interface BadInput {
	contentId?: string;
	valueType?: string;
	text?: string;
	json?: string;
	ttl?: unknown;
	options?: Record<string, unknown>;
}

describe('Content resource', () => {
	it('caches text per item with expressions: raw UTF-8 string under content:{id} with the TTL', async () => {
		const p = uniquePrefix('cnt');
		const result = await runNode({
			parameters: {
				resource: 'content',
				operation: 'cache',
				contentId: `={{ "${p}" + $json.id }}`,
				valueType: 'text',
				text: '={{ $json.body }}',
				ttl: '={{ $json.ttl }}',
			},
			items: [
				{ id: 'd1', body: 'Blog post content here', ttl: 86400 },
				{ id: 'd2', body: 'Ünïcode ✓ 42', ttl: 120 },
				{ id: 'd3', body: '{"looks": "like json"}', ttl: 60 },
			],
		});
		expect(result.error).toBeUndefined();
		expect(result.outputs[0]).toHaveLength(3);
		expect(result.outputs[0][0]).toEqual({ id: `${p}d1`, key: `content:${p}d1`, stored: true, ttl: 86400, bytes: 22 });
		expect(result.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		const raw = rawClient(CONTENT_DB);
		expect(await raw.type(`content:${p}d1`)).toBe('string');
		expect(await raw.get(`content:${p}d1`)).toBe('Blog post content here');
		expect(await raw.get(`content:${p}d2`)).toBe('Ünïcode ✓ 42');
		expect(await raw.get(`content:${p}d3`)).toBe('{"looks": "like json"}');
		const ttl1 = await raw.ttl(`content:${p}d1`);
		expect(ttl1).toBeGreaterThan(86000);
		expect(ttl1).toBeLessThanOrEqual(86400);
		const ttl2 = await raw.ttl(`content:${p}d2`);
		expect(ttl2).toBeGreaterThan(100);
		expect(ttl2).toBeLessThanOrEqual(120);
		// The content role has its own DB: nothing leaked into DB 0.
		expect(await rawClient(0).exists(`content:${p}d1`)).toBe(0);
	});

	it('caches JSON as compact JSON text, using the default TTL of one day', async () => {
		const p = uniquePrefix('cnt');
		const result = await runNode({
			parameters: {
				resource: 'content',
				operation: 'cache',
				contentId: `${p}seo`,
				valueType: 'json',
				json: '={{ JSON.stringify({ keywords: $json.kw, score: 0.93 }) }}',
			},
			items: [{ kw: ['ai', 'b2b'] }],
		});
		expect(result.error).toBeUndefined();
		const raw = rawClient(CONTENT_DB);
		expect(await raw.get(`content:${p}seo`)).toBe('{"keywords":["ai","b2b"],"score":0.93}');
		expect(await raw.ttl(`content:${p}seo`)).toBeGreaterThan(86000);
	});

	it('gets hits and misses in one batch, decoding JSON and keeping text as text', async () => {
		const p = uniquePrefix('cnt');
		const raw = rawClient(CONTENT_DB);
		await raw.set(`content:${p}text`, 'Plain draft', 'EX', 500);
		await raw.set(`content:${p}json`, '{"title":"Q3 plan","words":812}', 'EX', 500);
		const result = await runNode({
			parameters: { resource: 'content', operation: 'get', contentId: `={{ "${p}" + $json.id }}` },
			items: [{ id: 'text' }, { id: 'json' }, { id: 'missing' }],
		});
		expect(result.error).toBeUndefined();
		const [text, json, missing] = result.outputs[0];
		expect(text).toMatchObject({ id: `${p}text`, hit: true, value: 'Plain draft', valueType: 'text' });
		expect(text.ttl).toBeGreaterThan(400);
		expect(json).toMatchObject({ hit: true, value: { title: 'Q3 plan', words: 812 }, valueType: 'json' });
		expect(missing).toEqual({ id: `${p}missing`, key: `content:${p}missing`, hit: false, value: null });
		expect(result.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
	});

	it('reads as text on request, and fails a JSON read of non-JSON with a clear message', async () => {
		const p = uniquePrefix('cnt');
		const raw = rawClient(CONTENT_DB);
		await raw.set(`content:${p}n`, '42', 'EX', 500);
		await raw.set(`content:${p}t`, 'not json', 'EX', 500);
		const asText = await runNode({
			parameters: { resource: 'content', operation: 'get', contentId: `${p}n`, getOptions: { readAs: 'text' } },
		});
		expect(asText.outputs[0][0]).toMatchObject({ hit: true, value: '42', valueType: 'text' });
		const asJson = await runNode({
			continueOnFail: true,
			parameters: { resource: 'content', operation: 'get', contentId: `={{ "${p}" + $json.id }}`, getOptions: { readAs: 'json' } },
			items: [{ id: 'n' }, { id: 't' }],
		});
		expect(asJson.outputs[0][0]).toMatchObject({ hit: true, value: 42 });
		expect(asJson.outputs[0][1].error).toMatch(/^Get Content failed: the cached value is not JSON.* \[item 1\]$/);
	});

	it('deletes and reports whether something was there', async () => {
		const p = uniquePrefix('cnt');
		const raw = rawClient(CONTENT_DB);
		await raw.set(`content:${p}a`, 'x', 'EX', 500);
		const result = await runNode({
			parameters: { resource: 'content', operation: 'delete', contentId: `={{ "${p}" + $json.id }}` },
			items: [{ id: 'a' }, { id: 'b' }],
		});
		expect(result.outputs[0].map((o) => o.deleted)).toEqual([true, false]);
		expect(await raw.exists(`content:${p}a`)).toBe(0);
	});

	it.each([
		['an empty ID', { contentId: '' }, /"Content ID" is empty/],
		['a whitespace ID', { contentId: '   ' }, /"Content ID" is empty/],
		['empty text', { text: '' }, /"Text" is empty/],
		['invalid JSON', { valueType: 'json', json: '{"a": ' }, /"JSON" is not valid JSON/],
		['a negative TTL', { ttl: -5 }, /"TTL \(Seconds\)" must be a positive whole number.* of seconds, got -5/],
		['a zero TTL', { ttl: 0 }, /"TTL \(Seconds\)" must be a positive whole number.*got 0/],
		['a fractional TTL', { ttl: 1.5 }, /"TTL \(Seconds\)" must be a positive whole number.*got 1.5/],
		['a text TTL', { ttl: 'soon' }, /"TTL \(Seconds\)" must be a positive whole number.*got "soon"/],
		['text over the size limit', { text: 'x'.repeat(101), options: { maxValueBytes: 100 } }, /"Text" the value is 101 bytes, over the limit of 100/],
		['JSON over the size limit', { valueType: 'json', json: JSON.stringify({ a: 'y'.repeat(100) }), options: { maxValueBytes: 50 } }, /"JSON" the value is \d+ bytes, over the limit of 50/],
	] as Array<[string, BadInput, RegExp]>)('rejects %s before writing anything', async (_label, override, message) => {
		const p = uniquePrefix('cnt');
		const result = await runNode({
			parameters: {
				resource: 'content',
				operation: 'cache',
				contentId: `={{ $json.id === "good" ? "${p}good" : ${JSON.stringify(override.contentId ?? `${p}bad`)} }}`,
				valueType: override.valueType ?? 'text',
				text: `={{ $json.id === "good" ? "fine" : ${JSON.stringify(override.text ?? 'bad item')} }}`,
				json: `={{ $json.id === "good" ? "{}" : ${JSON.stringify(override.json ?? '{}')} }}`,
				ttl: `={{ $json.id === "good" ? 60 : ${JSON.stringify(override.ttl ?? 60)} }}`,
				options: override.options ?? {},
			},
			items: [{ id: 'good' }, { id: 'bad' }],
		});
		expect(result.error?.message).toMatch(/ \[item 1\]$/);
		expect(result.error?.message).toMatch(message);
		// The first, valid item was not written either: validation runs before any send.
		expect(await rawClient(CONTENT_DB).exists(`content:${p}good`, `content:${p}bad`)).toBe(0);
	});

	it('turns WRONGTYPE into a readable item error under continueOnFail, while other items succeed', async () => {
		const p = uniquePrefix('cnt');
		const raw = rawClient(CONTENT_DB);
		await raw.rpush(`content:${p}list`, 'a');
		const result = await runNode({
			continueOnFail: true,
			parameters: { resource: 'content', operation: 'get', contentId: `={{ "${p}" + $json.id }}` },
			items: [{ id: 'list' }, { id: 'none' }],
		});
		expect(result.error).toBeUndefined();
		expect(result.outputs[0][0].error).toMatch(/^Get Content failed: The key already holds a different kind of value.* \[item 0\]$/);
		expect(result.outputs[0][0].error).not.toMatch(/at .*\.ts/);
		expect(result.outputs[0][1]).toMatchObject({ hit: false });
		await raw.del(`content:${p}list`);
	});
});
