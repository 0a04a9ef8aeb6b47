import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const CACHE_DB = 2;

describe('API Cache resource', () => {
	it('sets several responses with expressions under api:{namespace}:{key} as JSON with their TTL', async () => {
		const p = uniquePrefix('api');
		const result = await runNode({
			parameters: {
				resource: 'apiCache',
				operation: 'set',
				namespace: `={{ "${p}" + $json.ns }}`,
				cacheKey: '={{ $json.domain }}',
				value: '={{ JSON.stringify($json.data) }}',
				ttl: '={{ $json.ttl }}',
			},
			items: [
				{ ns: 'competitors', domain: 'acme.com', data: { employees: 120, funding: 'B' }, ttl: 7200 },
				{ ns: 'competitors', domain: 'globex.io', data: [1, 2], ttl: 30 },
				{ ns: 'linkedin', domain: 'acme.com', data: 'just a string', ttl: 600 },
			],
		});
		expect(result.error).toBeUndefined();
		expect(result.outputs[0][0]).toEqual({
			namespace: `${p}competitors`,
			cacheKey: 'acme.com',
			key: `api:${p}competitors:acme.com`,
			stored: true,
			ttl: 7200,
		});
		const raw = rawClient(CACHE_DB);
		expect(await raw.type(`api:${p}competitors:acme.com`)).toBe('string');
		expect(await raw.get(`api:${p}competitors:acme.com`)).toBe('{"employees":120,"funding":"B"}');
		expect(await raw.get(`api:${p}competitors:globex.io`)).toBe('[1,2]');
		// An expression that yields a plain string (not JSON text) is stored as a JSON string.
		expect(await raw.get(`api:${p}linkedin:acme.com`)).toBe('"just a string"');
		const ttl = await raw.ttl(`api:${p}competitors:acme.com`);
		expect(ttl).toBeGreaterThan(7100);
		expect(ttl).toBeLessThanOrEqual(7200);
		expect(await raw.ttl(`api:${p}competitors:globex.io`)).toBeLessThanOrEqual(30);
	});

	it('gets hits and misses, then deletes', async () => {
		const p = uniquePrefix('api');
		const raw = rawClient(CACHE_DB);
		await raw.set(`api:${p}ns:k1`, '{"ok":true}', 'EX', 100);
		const got = await runNode({
			parameters: { resource: 'apiCache', operation: 'get', namespace: `${p}ns`, cacheKey: '={{ $json.k }}' },
			items: [{ k: 'k1' }, { k: 'k2' }],
		});
		expect(got.outputs[0][0]).toMatchObject({ hit: true, value: { ok: true }, cacheKey: 'k1' });
		expect(got.outputs[0][0].ttl).toBeGreaterThan(90);
		expect(got.outputs[0][1]).toEqual({ namespace: `${p}ns`, cacheKey: 'k2', key: `api:${p}ns:k2`, hit: false, value: null });
		const del = await runNode({
			parameters: { resource: 'apiCache', operation: 'delete', namespace: `${p}ns`, cacheKey: '={{ $json.k }}' },
			items: [{ k: 'k1' }, { k: 'k2' }],
		});
		expect(del.outputs[0].map((o) => o.deleted)).toEqual([true, false]);
		expect(await raw.exists(`api:${p}ns:k1`)).toBe(0);
	});

	it.each([
		['an empty namespace', { namespace: '' }, /"Namespace" is empty/],
		['an empty key', { cacheKey: ' ' }, /"Key" is empty/],
		['invalid JSON', { value: '{nope}' }, /"Value" is not valid JSON/],
		['no TTL', { ttl: '' }, /"TTL \(Seconds\)" must be a positive whole number/],
		['a fractional TTL', { ttl: 2.5 }, /"TTL \(Seconds\)" must be a positive whole number.*got 2.5/],
		['a value over the size limit', { value: JSON.stringify({ blob: 'q'.repeat(2000) }), options: { maxValueBytes: 1024 } }, /"Value" the value is \d+ bytes, over the limit of 1024/],
	] as Array<[string, Record<string, unknown>, RegExp]>)('rejects %s, writing nothing', async (_label, override, message) => {
		const p = uniquePrefix('api');
		const pick = (field: string, fallback: unknown) =>
			`={{ $json.ok ? ${JSON.stringify(fallback)} : ${JSON.stringify(field in override ? override[field] : fallback)} }}`;
		const result = await runNode({
			parameters: {
				resource: 'apiCache',
				operation: 'set',
				namespace: pick('namespace', `${p}ns`),
				cacheKey: `={{ $json.ok ? "good" : ${JSON.stringify(override.cacheKey ?? 'bad')} }}`,
				value: pick('value', '{"a":1}'),
				ttl: pick('ttl', 60),
				options: override.options ?? {},
			},
			items: [{ ok: true }, { ok: false }],
		});
		expect(result.error?.message).toMatch(/ \[item 1\]$/);
		expect(result.error?.message).toMatch(message);
		expect(await rawClient(CACHE_DB).exists(`api:${p}ns:good`, `api:${p}ns:bad`)).toBe(0);
	});

	it('continues on fail with paired error items', async () => {
		const p = uniquePrefix('api');
		const result = await runNode({
			continueOnFail: true,
			parameters: { resource: 'apiCache', operation: 'set', namespace: `${p}ns`, cacheKey: '={{ $json.k }}', value: '={{ $json.v }}', ttl: 60 },
			items: [
				{ k: 'a', v: '{"x":1}' },
				{ k: 'b', v: '{broken' },
				{ k: 'c', v: '[true]' },
			],
		});
		expect(result.outputs[0].map((o) => o.stored ?? o.error)).toEqual([true, expect.stringMatching(/^"Value" is not valid JSON.* \[item 1\]$/), true]);
		expect(result.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(await rawClient(CACHE_DB).exists(`api:${p}ns:a`, `api:${p}ns:b`, `api:${p}ns:c`)).toBe(2);
	});
});
