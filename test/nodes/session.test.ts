import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

describe('Session resource', () => {
	it('sets sessions for several items with per-item expressions and a TTL', async () => {
		const p = uniquePrefix('sess');
		const result = await runNode({
			parameters: {
				resource: 'session',
				operation: 'set',
				sessionId: `={{ "${p}" + $json.user }}`,
				data: '={{ JSON.stringify({ name: $json.name, role: "admin" }) }}',
				ttl: 120,
			},
			items: [
				{ user: 'u1', name: 'Ann' },
				{ user: 'u2', name: 'Bob' },
			],
		});
		expect(result.error).toBeUndefined();
		expect(result.outputs[0]).toHaveLength(2);
		expect(result.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		const raw = rawClient(0);
		expect(JSON.parse((await raw.get(`session:${p}u1`))!)).toEqual({ name: 'Ann', role: 'admin' });
		expect(await raw.type(`session:${p}u2`)).toBe('string');
		const ttl = await raw.ttl(`session:${p}u2`);
		expect(ttl).toBeGreaterThan(100);
		expect(ttl).toBeLessThanOrEqual(120);
	});

	it('rejects a negative TTL naming the item and field, writing nothing', async () => {
		const p = uniquePrefix('sess');
		const result = await runNode({
			parameters: { resource: 'session', operation: 'set', sessionId: `={{ "${p}" + $json.user }}`, data: '{"a":1}', ttl: '={{ $json.ttl }}' },
			items: [
				{ user: 'ok', ttl: 60 },
				{ user: 'bad', ttl: -5 },
			],
		});
		expect(result.error?.message).toMatch(/^"TTL \(Seconds\)" must be a positive whole number.*got -5.* \[item 1\]$/);
		const raw = rawClient(0);
		expect(await raw.exists(`session:${p}ok`, `session:${p}bad`)).toBe(0);
	});

	it('continues on fail with an error item paired to the bad input', async () => {
		const p = uniquePrefix('sess');
		const result = await runNode({
			continueOnFail: true,
			parameters: { resource: 'session', operation: 'set', sessionId: `={{ "${p}" + $json.user }}`, data: '={{ $json.data }}', ttl: 60 },
			items: [
				{ user: 'a', data: '{"x":1}' },
				{ user: 'b', data: '[1,2]' },
			],
		});
		expect(result.error).toBeUndefined();
		expect(result.outputs[0][0]).toMatchObject({ stored: true });
		expect(result.outputs[0][1].error).toMatch(/^"Data" must be a JSON object.* \[item 1\]$/);
		expect(result.items[0][1].pairedItem).toEqual({ item: 1 });
		expect(await rawClient(0).exists(`session:${p}b`)).toBe(0);
	});

	it('gets, refreshes and deletes', async () => {
		const p = uniquePrefix('sess');
		const raw = rawClient(0);
		await raw.set(`session:${p}x`, JSON.stringify({ n: 1 }), 'EX', 50);
		const got = await runNode({ parameters: { resource: 'session', operation: 'get', sessionId: `${p}x` } });
		expect(got.outputs[0][0]).toMatchObject({ found: true, data: { n: 1 } });
		const missing = await runNode({ parameters: { resource: 'session', operation: 'get', sessionId: `${p}nope` } });
		expect(missing.outputs[0][0]).toMatchObject({ found: false, data: null });
		await runNode({ parameters: { resource: 'session', operation: 'refresh', sessionId: `${p}x`, ttl: 900 } });
		expect(await raw.ttl(`session:${p}x`)).toBeGreaterThan(800);
		const del = await runNode({ parameters: { resource: 'session', operation: 'delete', sessionId: `${p}x` } });
		expect(del.outputs[0][0]).toMatchObject({ deleted: true });
		expect(await raw.exists(`session:${p}x`)).toBe(0);
	});
});
