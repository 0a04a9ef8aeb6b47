import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';
import { searchHash } from '../../platform/keys';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const CACHE_DB = 2;

describe('Search cache resource', () => {
	it('uses the documented key: sha256 hex of the trimmed, lower-cased, space-collapsed query', () => {
		// Python: hashlib.sha256("ai marketing trends".encode()).hexdigest()
		const python = 'a46724ac99ff53c7e01d3392c3bf15065d5731dd06929b472c552c3a7de19e8a';
		expect(searchHash('AI marketing trends')).toBe(python);
		expect(searchHash('  ai  Marketing\t\ntrends ')).toBe(python);
	});

	it('caches results per item; equivalent spellings of a query share one entry', async () => {
		const p = uniquePrefix('srch');
		const result = await runNode({
			parameters: {
				resource: 'search',
				operation: 'cacheResults',
				query: '={{ $json.q }}',
				results: '={{ JSON.stringify($json.results) }}',
				ttl: '={{ $json.ttl }}',
			},
			items: [
				{ q: `  ${p} AI   Marketing trends `, results: [{ title: 'first' }], ttl: 3600 },
				{ q: `${p} B2B intent data`, results: [{ title: 'b2b', url: 'https://x.test' }], ttl: 90 },
			],
		});
		expect(result.error).toBeUndefined();
		const key0 = `search:${searchHash(`${p} ai marketing trends`)}`;
		expect(result.outputs[0][0]).toEqual({
			query: `  ${p} AI   Marketing trends `,
			normalisedQuery: `${p} ai marketing trends`,
			key: key0,
			stored: true,
			ttl: 3600,
		});
		const raw = rawClient(CACHE_DB);
		expect(await raw.type(key0)).toBe('string');
		expect(JSON.parse((await raw.get(key0))!)).toEqual([{ title: 'first' }]);
		const ttl0 = await raw.ttl(key0);
		expect(ttl0).toBeGreaterThan(3500);
		expect(ttl0).toBeLessThanOrEqual(3600);
		const key1 = `search:${searchHash(`${p} b2b intent data`)}`;
		const ttl1 = await raw.ttl(key1);
		expect(ttl1).toBeGreaterThan(0);
		expect(ttl1).toBeLessThanOrEqual(90);

		const got = await runNode({
			parameters: { resource: 'search', operation: 'getResults', query: '={{ $json.q }}' },
			items: [{ q: `${p} ai marketing TRENDS` }, { q: `${p} never searched` }],
		});
		expect(got.outputs[0][0]).toMatchObject({ hit: true, key: key0, results: [{ title: 'first' }] });
		expect(got.outputs[0][0].ttl).toBeGreaterThan(3500);
		expect(got.outputs[0][1]).toMatchObject({ hit: false, results: null, normalisedQuery: `${p} never searched` });
		expect(got.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
	});

	it('uses the default TTL of one hour', async () => {
		const p = uniquePrefix('srch');
		await runNode({ parameters: { resource: 'search', operation: 'cacheResults', query: `${p}q`, results: '[1,2,3]' } });
		const ttl = await rawClient(CACHE_DB).ttl(`search:${searchHash(`${p}q`)}`);
		expect(ttl).toBeGreaterThan(3500);
		expect(ttl).toBeLessThanOrEqual(3600);
	});

	it.each([
		['a query of only spaces', { query: '   ' }, /"Query" is empty/],
		['invalid JSON results', { results: '[{"a":1},' }, /"Results" is not valid JSON/],
		['a negative TTL', { ttl: -1 }, /"TTL \(Seconds\)" must be a positive whole number.*got -1/],
		['results over the size limit', { results: JSON.stringify(['z'.repeat(300)]), options: { maxValueBytes: 256 } }, /"Results" the value is \d+ bytes, over the limit of 256/],
	] as Array<[string, Record<string, unknown>, RegExp]>)('rejects %s, writing nothing', async (_label, override, message) => {
		const p = uniquePrefix('srch');
		const result = await runNode({
			parameters: {
				resource: 'search',
				operation: 'cacheResults',
				query: `={{ $json.ok ? "${p}good" : ${JSON.stringify(override.query ?? `${p}bad`)} }}`,
				results: `={{ $json.ok ? "[]" : ${JSON.stringify(override.results ?? '[]')} }}`,
				ttl: `={{ $json.ok ? 60 : ${JSON.stringify(override.ttl ?? 60)} }}`,
				options: override.options ?? {},
			},
			items: [{ ok: true }, { ok: false }],
		});
		expect(result.error?.message).toMatch(/ \[item 1\]$/);
		expect(result.error?.message).toMatch(message);
		const raw = rawClient(CACHE_DB);
		expect(await raw.exists(`search:${searchHash(`${p}good`)}`, `search:${searchHash(`${p}bad`)}`)).toBe(0);
	});

	it('continues on fail: the bad item becomes an error item, the good one is cached', async () => {
		const p = uniquePrefix('srch');
		const result = await runNode({
			continueOnFail: true,
			parameters: { resource: 'search', operation: 'cacheResults', query: '={{ $json.q }}', results: '={{ $json.r }}', ttl: 60 },
			items: [
				{ q: '', r: '[]' },
				{ q: `${p}fine`, r: '{"n": 1}' },
			],
		});
		expect(result.outputs[0][0].error).toMatch(/^"Query" is empty.* \[item 0\]$/);
		expect(result.items[0][0].pairedItem).toEqual({ item: 0 });
		expect(result.outputs[0][1]).toMatchObject({ stored: true });
		expect(await rawClient(CACHE_DB).get(`search:${searchHash(`${p}fine`)}`)).toBe('{"n":1}');
	});
});
