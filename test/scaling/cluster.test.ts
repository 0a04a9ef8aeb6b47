/**
 * Every operation of the Marketing Redis node, run against a real 3-master Redis Cluster
 * through n8n's execution engine with a Cluster-mode credential. Each case sends a batch of
 * items whose keys land on several nodes, so per-node pipelining and hash tags are exercised.
 * A registered operation without a case here fails the suite: add one when adding an operation.
 */
import { Cluster } from 'ioredis';
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { RESOURCES } from '../../nodes/MarketingRedis/resources';
import { sharedPool } from '../../platform/connection-pool';
import { keySlot } from '../../platform/cluster-slot';
import { KeySchema } from '../../platform/keys';
import { runNode, type RunNodeResult } from '../helpers/n8n';
import { closeRawClients, uniquePrefix } from '../helpers/redis';
import { startClusterTopology, type ClusterTopology } from '../helpers/topology';

let topology: ClusterTopology;
let raw: Cluster;

beforeAll(async () => {
	topology = await startClusterTopology();
	raw = new Cluster(
		topology.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
		{ redisOptions: { password: topology.password } },
	);
	await raw.ping();
}, 60_000);

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
	raw?.disconnect();
	await topology?.stop();
});

/** What each case gets: a unique prefix, the node runner and a raw cluster client. */
interface Tools {
	p: string;
	raw: Cluster;
	/** `count` ids under this case's prefix. */
	ids(count: number, label?: string): string[];
	/** Runs the node in Cluster mode; fails on a node error or any CROSSSLOT error item. */
	run(parameters: Record<string, unknown>, items: IDataObject[], options?: { continueOnFail?: boolean; keyPrefix?: string }): Promise<RunNodeResult>;
	/** Asserts that the keys live on at least two different master nodes. */
	expectSpread(keys: string[]): void;
}

function nodeOf(key: string): string {
	return raw.slots[keySlot(key)]?.[0] ?? 'unknown';
}

function tools(): Tools {
	const p = uniquePrefix('cl');
	return {
		p,
		raw,
		ids: (count, label = 'i') => Array.from({ length: count }, (_, i) => `${p}${label}${i}`),
		async run(parameters, items, options = {}) {
			const result = await runNode({
				parameters,
				items,
				continueOnFail: options.continueOnFail,
				credentials: topology.credentials({ keyPrefix: options.keyPrefix ?? '' }) as ICredentialDataDecryptedObject,
				credentialId: `cluster-${options.keyPrefix ?? ''}`,
			});
			expect(result.error?.message).toBeUndefined();
			expect(JSON.stringify(result.outputs)).not.toMatch(/CROSSSLOT|same slot|slots allocation group/i);
			return result;
		},
		expectSpread(keys) {
			expect(new Set(keys.map(nodeOf)).size).toBeGreaterThanOrEqual(2);
		},
	};
}

const keys = new KeySchema('');
const BATCH = 12;

/** One case per `resource.operation`. */
const CASES: Record<string, (t: Tools) => Promise<void>> = {
	'session.set': async (t) => {
		const ids = t.ids(BATCH);
		const result = await t.run(
			{ resource: 'session', operation: 'set', sessionId: '={{ $json.id }}', data: '={{ JSON.stringify({ n: $json.n }) }}', ttl: 120 },
			ids.map((id, n) => ({ id, n })),
		);
		expect(result.outputs[0]).toHaveLength(BATCH);
		expect(result.items[0].map((i) => i.pairedItem)).toEqual(ids.map((_, item) => ({ item })));
		t.expectSpread(ids.map((id) => keys.session(id)));
		for (const [n, id] of ids.entries()) expect(JSON.parse((await t.raw.get(keys.session(id)))!)).toEqual({ n });
	},
	'session.get': async (t) => {
		const ids = t.ids(BATCH);
		for (const [n, id] of ids.entries()) if (n % 2 === 0) await t.raw.set(keys.session(id), JSON.stringify({ n }), 'EX', 60);
		const result = await t.run({ resource: 'session', operation: 'get', sessionId: '={{ $json.id }}' }, ids.map((id) => ({ id })));
		expect(result.outputs[0].map((o) => o.found)).toEqual(ids.map((_, n) => n % 2 === 0));
		expect(result.outputs[0][2]).toMatchObject({ sessionId: ids[2], data: { n: 2 } });
	},
	'session.delete': async (t) => {
		const ids = t.ids(BATCH);
		for (const id of ids) await t.raw.set(keys.session(id), '{}', 'EX', 60);
		const result = await t.run({ resource: 'session', operation: 'delete', sessionId: '={{ $json.id }}' }, ids.map((id) => ({ id })));
		expect(result.outputs[0].every((o) => o.deleted === true)).toBe(true);
		for (const id of ids) expect(await t.raw.exists(keys.session(id))).toBe(0);
	},
	'session.refresh': async (t) => {
		const ids = t.ids(BATCH);
		for (const id of ids) await t.raw.set(keys.session(id), '{}', 'EX', 60);
		const result = await t.run(
			{ resource: 'session', operation: 'refresh', sessionId: '={{ $json.id }}', ttl: 900 },
			ids.map((id) => ({ id })),
		);
		expect(result.outputs[0].every((o) => o.found === true)).toBe(true);
		for (const id of ids) expect(await t.raw.ttl(keys.session(id))).toBeGreaterThan(800);
	},
	'content.cache': async (t) => {
		const ids = t.ids(BATCH);
		const result = await t.run(
			{ resource: 'content', operation: 'cache', contentId: '={{ $json.id }}', valueType: 'text', text: '={{ "draft " + $json.id }}', ttl: 300 },
			ids.map((id) => ({ id })),
		);
		expect(result.outputs[0]).toHaveLength(BATCH);
		t.expectSpread(ids.map((id) => keys.content(id)));
		for (const id of ids) expect(await t.raw.get(keys.content(id))).toBe(`draft ${id}`);
	},
	'content.get': async (t) => {
		const ids = t.ids(BATCH);
		for (const id of ids) await t.raw.set(keys.content(id), `body ${id}`, 'EX', 60);
		const result = await t.run({ resource: 'content', operation: 'get', contentId: '={{ $json.id }}' }, ids.map((id) => ({ id })));
		expect(result.outputs[0].map((o) => o.value)).toEqual(ids.map((id) => `body ${id}`));
	},
	'content.delete': async (t) => {
		const ids = t.ids(BATCH);
		for (const id of ids) await t.raw.set(keys.content(id), 'x', 'EX', 60);
		const result = await t.run({ resource: 'content', operation: 'delete', contentId: '={{ $json.id }}' }, ids.map((id) => ({ id })));
		expect(result.outputs[0].every((o) => o.deleted === true)).toBe(true);
		for (const id of ids) expect(await t.raw.exists(keys.content(id))).toBe(0);
	},
	'rateLimit.check': async (t) => {
		// Three keys, four requests each against a limit of 3: item order must hold per key
		// even though the keys sit on different nodes.
		const limitKeys = t.ids(6, 'api');
		const items = [...limitKeys, ...limitKeys, ...limitKeys, ...limitKeys].map((key) => ({ key }));
		const result = await t.run(
			{ resource: 'rateLimit', operation: 'check', limitKey: '={{ $json.key }}', maxRequests: 3, windowSeconds: 60 },
			items,
		);
		t.expectSpread(limitKeys.map((k) => keys.rateLimit(k)));
		expect(result.outputs[0].map((o) => o.allowed)).toEqual(items.map((_, i) => i < 18));
		expect(result.outputs[0].map((o) => o.key)).toEqual(items.map((i) => i.key));
		for (const k of limitKeys) expect(await t.raw.zcard(keys.rateLimit(k))).toBe(3);
	},
	'rateLimit.status': async (t) => {
		const limitKeys = t.ids(BATCH, 'api');
		const params = { resource: 'rateLimit', limitKey: '={{ $json.key }}', maxRequests: 5, windowSeconds: 60 };
		await t.run({ ...params, operation: 'check' }, limitKeys.map((key) => ({ key })));
		const result = await t.run({ ...params, operation: 'status' }, limitKeys.map((key) => ({ key })));
		expect(result.outputs[0].map((o) => o.used)).toEqual(limitKeys.map(() => 1));
		expect(result.outputs[0].map((o) => o.remaining)).toEqual(limitKeys.map(() => 4));
	},
	'rateLimit.reset': async (t) => {
		const limitKeys = t.ids(BATCH, 'api');
		const params = { resource: 'rateLimit', limitKey: '={{ $json.key }}', maxRequests: 5, windowSeconds: 60 };
		await t.run({ ...params, operation: 'check' }, limitKeys.map((key) => ({ key })));
		const result = await t.run({ ...params, operation: 'reset' }, limitKeys.map((key) => ({ key })));
		expect(result.outputs[0].every((o) => o.hadRequests === true)).toBe(true);
		for (const k of limitKeys) expect(await t.raw.exists(keys.rateLimit(k))).toBe(0);
	},
};

const OPERATIONS = RESOURCES.flatMap((r) => Object.keys(r.operations).map((op) => `${r.value}.${op}`));

describe('Every node operation in Cluster mode', () => {
	it.each(OPERATIONS)('%s', async (name) => {
		const run = CASES[name];
		if (!run) throw new Error(`No Cluster case for operation ${name}: add one to test/scaling/cluster.test.ts`);
		await run(tools());
	});
});

describe('Cluster batching and key layout', () => {
	it('computes the same hash slot as the server, hash tags included', async () => {
		const samples = ['foo', 'session:abc', '{queue:jobs}:inflight', 'queue:jobs', 'a{}b', '{}x', 'x{y', 'ünï{cøde}', 'p{a}{b}'];
		for (const key of samples) expect(keySlot(key)).toBe(await raw.cluster('KEYSLOT', key));
	});

	it('keeps every key of one queue in one slot, with and without a credential prefix', () => {
		for (const prefix of ['', 'staging:', 'tenant-7:']) {
			for (const name of ['emails', 'seo:audit', 'x']) {
				const q = new KeySchema(prefix).queue(name);
				const slots = new Set(Object.values(q).map((k) => keySlot(k)));
				expect(slots.size).toBe(1);
			}
		}
	});

	it('pipelines a batch larger than one chunk across all nodes, replies in item order', async () => {
		const t = t0();
		const ids = t.ids(4500);
		const result = await t.run(
			{ resource: 'session', operation: 'set', sessionId: '={{ $json.id }}', data: '={{ JSON.stringify({ n: $json.n }) }}', ttl: 60 },
			ids.map((id, n) => ({ id, n })),
		);
		expect(result.outputs[0]).toHaveLength(ids.length);
		expect(new Set(ids.map((id) => nodeOf(keys.session(id)))).size).toBe(3);
		const got = await t.run({ resource: 'session', operation: 'get', sessionId: '={{ $json.id }}' }, ids.map((id) => ({ id })));
		expect(got.outputs[0].map((o) => (o.data as IDataObject).n)).toEqual(ids.map((_, n) => n));
		expect(got.items[0].map((i) => (i.pairedItem as { item: number }).item)).toEqual(ids.map((_, n) => n));
	});

	it('continues on fail per item: a bad item on one node does not fail the others', async () => {
		const t = t0();
		const ids = t.ids(9);
		const items = ids.map((id, n) => ({ id, ttl: n === 4 ? -1 : 60 }));
		const result = await t.run(
			{ resource: 'session', operation: 'set', sessionId: '={{ $json.id }}', data: '{"a":1}', ttl: '={{ $json.ttl }}' },
			items,
			{ continueOnFail: true },
		);
		expect(result.outputs[0]).toHaveLength(9);
		expect(result.outputs[0][4].error).toMatch(/Item 4: "TTL \(Seconds\)"/);
		expect(result.outputs[0].filter((o) => o.stored === true)).toHaveLength(8);
		expect(await t.raw.exists(keys.session(ids[4]))).toBe(0);
		expect(await t.raw.exists(keys.session(ids[5]))).toBe(1);
	});

	it('applies the credential key prefix in Cluster mode too', async () => {
		const t = t0();
		const ids = t.ids(6);
		await t.run(
			{ resource: 'session', operation: 'set', sessionId: '={{ $json.id }}', data: '{"a":1}', ttl: 60 },
			ids.map((id) => ({ id })),
			{ keyPrefix: 'staging:' },
		);
		for (const id of ids) expect(await t.raw.exists(`staging:session:${id}`)).toBe(1);
	});

	it('ignores the DB mapping: every role writes to DB 0 of the cluster', async () => {
		const t = t0();
		const result = await runNode({
			parameters: { resource: 'content', operation: 'cache', contentId: `${t.p}db`, valueType: 'text', text: 'x', ttl: 60 },
			credentials: topology.credentials({ contentDb: 5 }) as ICredentialDataDecryptedObject,
			credentialId: 'cluster-db5',
		});
		expect(result.error).toBeUndefined();
		expect(await t.raw.get(keys.content(`${t.p}db`))).toBe('x');
	});
});

function t0(): Tools {
	return tools();
}
