/**
 * Every operation of the Marketing Redis node, run against a real 3-master Redis Cluster
 * through n8n's execution engine with a Cluster-mode credential. Each case sends a batch of
 * items whose keys land on several nodes, so per-node pipelining and hash tags are exercised.
 * A registered operation without a case here fails the suite: add one when adding an operation.
 */
import { randomBytes } from 'node:crypto';

import Redis, { Cluster } from 'ioredis';
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { RESOURCES } from '../../nodes/MarketingRedis/resources';
import { sharedPool } from '../../platform/connection-pool';
import { groupKeysBySlot, keySlot } from '../../platform/cluster-slot';
import { KeySchema } from '../../platform/keys';
import { encodeLockValue, parseLockValue } from '../../platform/lock';
import { runNode, type RunNodeResult } from '../helpers/n8n';
import { closeRawClients, uniquePrefix } from '../helpers/redis';
import { startTrigger, type ActiveTrigger } from '../helpers/trigger';
import { freePort } from '../helpers/redis-server';
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
	/**
	 * `count` ids under this case's prefix. With `keyOf` (id -> Redis key), the ids are chosen
	 * so that their keys land on min(count, 3) different nodes: the batch really spans nodes.
	 */
	ids(count: number, label?: string, keyOf?: (id: string) => string): string[];
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
		ids(count, label = 'i', keyOf) {
			for (let salt = 0; salt < 1000; salt++) {
				// CRC16 is linear: ids that differ only in a trailing digit tend to share a node,
				// so each id gets random bytes of its own.
				const ids = Array.from({ length: count }, (_, i) => `${p}${label}${i}-${randomBytes(3).toString('hex')}`);
				if (!keyOf || new Set(ids.map((id) => nodeOf(keyOf(id)))).size >= Math.min(count, 3)) return ids;
			}
			throw new Error(`No ${count} ids of "${label}" spread over the nodes (slot map: ${raw.slots.length} slots)`);
		},
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

async function enqueueJobs(t: Tools, queues: string[]): Promise<void> {
	await t.run({ resource: 'job', operation: 'enqueue', queue: '={{ $json.queue }}', payload: '{"a":1}' }, queues.map((queue) => ({ queue })));
}

/** One job taken from each queue: [{ queue, id, lease }]. */
async function takeJobs(t: Tools, queues: string[]): Promise<IDataObject[]> {
	await enqueueJobs(t, queues);
	const taken = await t.run({ resource: 'job', operation: 'dequeue', queue: '={{ $json.queue }}', timeout: 0, visibilityTimeout: 60 }, queues.map((queue) => ({ queue })));
	return taken.outputs[0].map((o) => ({ queue: o.queue, id: o.id, lease: o.lease }));
}

/** One case per `resource.operation`. */
const CASES: Record<string, (t: Tools) => Promise<void>> = {
	'session.set': async (t) => {
		const ids = t.ids(BATCH, 'i', (id) => keys.session(id));
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
		const ids = t.ids(BATCH, 'i', (id) => keys.content(id));
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
		const limitKeys = t.ids(6, 'api', (k) => keys.rateLimit(k));
		const items = [...limitKeys, ...limitKeys, ...limitKeys, ...limitKeys].map((key) => ({ key }));
		const result = await t.run(
			{ resource: 'rateLimit', operation: 'check', limitKey: '={{ $json.key }}', maxRequests: 3, windowSeconds: 60 },
			items,
		);
		t.expectSpread(limitKeys.map((k) => keys.rateLimit(k)));
		expect(result.outputs[0].map((o) => o.allowed)).toEqual(items.map((_, i) => i < 18));
		expect(result.outputs[0].map((o) => o.key)).toEqual(items.map((i) => i.key));
		for (const k of limitKeys) expect(await t.raw.zcard(keys.rateLimit(k))).toBe(3);
		// Waiting: each key's waiter queue shares its slot, so the scripts run on the key's node.
		const waited = await t.run(
			{ resource: 'rateLimit', operation: 'check', limitKey: '={{ $json.key + ":tb" }}', algorithm: 'tokenBucket', burst: 1, refillPerSecond: 50, whenLimited: 'wait', maxWaitSeconds: 30 },
			[...limitKeys, ...limitKeys].map((key) => ({ key })),
		);
		expect(waited.outputs[0].map((o) => o.allowed)).toEqual(limitKeys.concat(limitKeys).map(() => true));
		expect(waited.outputs[0].slice(6).every((o) => (o.waitedMs as number) > 0)).toBe(true);
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
	'lock.acquire': async (t) => {
		const names = t.ids(BATCH, 'lock', (n) => keys.lock(n));
		const result = await t.run({ resource: 'lock', operation: 'acquire', lockName: '={{ $json.name }}', lockTtl: 30 }, names.map((name) => ({ name })));
		expect(result.outputs[0].map((o) => o.acquired)).toEqual(names.map(() => true));
		t.expectSpread(names.map((n) => keys.lock(n)));
		// Lease value "<deadline ms>:<token>" without a Redis TTL (volatile-lru must never evict a held lock).
		for (const [i, name] of names.entries()) {
			expect(await t.raw.get(keys.lock(name))).toBe(encodeLockValue(result.outputs[0][i].token as string, result.outputs[0][i].expiresAtMs as number));
			expect(await t.raw.pttl(keys.lock(name))).toBe(-1);
		}
	},
	'lock.release': async (t) => {
		const names = t.ids(BATCH, 'lock');
		const got = await t.run({ resource: 'lock', operation: 'acquire', lockName: '={{ $json.name }}', lockTtl: 30 }, names.map((name) => ({ name })));
		const items = got.outputs[0].map((o) => ({ name: o.lock, token: o.token }));
		const result = await t.run({ resource: 'lock', operation: 'release', lockName: '={{ $json.name }}', lockToken: '={{ $json.token }}' }, items);
		expect(result.outputs[0].map((o) => o.released)).toEqual(names.map(() => true));
		for (const name of names) expect(await t.raw.exists(keys.lock(name))).toBe(0);
	},
	'lock.extend': async (t) => {
		const names = t.ids(BATCH, 'lock');
		const got = await t.run({ resource: 'lock', operation: 'acquire', lockName: '={{ $json.name }}', lockTtl: 5 }, names.map((name) => ({ name })));
		const items = got.outputs[0].map((o) => ({ name: o.lock, token: o.token }));
		const result = await t.run({ resource: 'lock', operation: 'extend', lockName: '={{ $json.name }}', lockToken: '={{ $json.token }}', lockTtl: 600 }, items);
		for (const [i, name] of names.entries()) {
			const extended = result.outputs[0][i];
			expect(extended).toMatchObject({ extended: true });
			expect((extended.expiresAtMs as number) - (got.outputs[0][i].expiresAtMs as number)).toBeGreaterThan(500_000);
			expect(parseLockValue((await t.raw.get(keys.lock(name))) as string)).toEqual({ token: items[i].token, deadlineMs: extended.expiresAtMs });
		}
	},
	'leaderboard.add': async (t) => {
		const boards = t.ids(6, 'board', (b) => keys.raw(b));
		const items = boards.flatMap((board) => ['a', 'b'].map((member, i) => ({ board, member, score: 10 + i })));
		await t.run({ resource: 'leaderboard', operation: 'add', leaderboard: '={{ $json.board }}', member: '={{ $json.member }}', score: '={{ $json.score }}' }, items);
		t.expectSpread(boards.map((b) => keys.raw(b)));
		for (const board of boards) expect(await t.raw.zscore(keys.raw(board), 'b')).toBe('11');
	},
	'leaderboard.top': async (t) => {
		const boards = t.ids(6, 'board');
		for (const board of boards) await t.raw.zadd(keys.raw(board), 1, 'low', 9, 'high');
		const result = await t.run({ resource: 'leaderboard', operation: 'top', leaderboard: '={{ $json.board }}', topN: 1 }, boards.map((board) => ({ board })));
		expect(result.outputs[0].map((o) => (o.entries as IDataObject[])[0].member)).toEqual(boards.map(() => 'high'));
	},
	'leaderboard.rank': async (t) => {
		const boards = t.ids(6, 'board');
		for (const board of boards) await t.raw.zadd(keys.raw(board), 1, 'low', 9, 'high');
		const result = await t.run({ resource: 'leaderboard', operation: 'rank', leaderboard: '={{ $json.board }}', member: 'low' }, boards.map((board) => ({ board })));
		expect(result.outputs[0]).toHaveLength(6);
		expect(JSON.stringify(result.outputs[0][0])).toMatch(/"score":1\b/);
	},
	'leaderboard.remove': async (t) => {
		const boards = t.ids(6, 'board');
		for (const board of boards) await t.raw.zadd(keys.raw(board), 1, 'low', 9, 'high');
		const result = await t.run({ resource: 'leaderboard', operation: 'remove', leaderboard: '={{ $json.board }}', member: 'low' }, boards.map((board) => ({ board })));
		expect(result.outputs[0].map((o) => o.removed)).toEqual(boards.map(() => true));
		for (const board of boards) expect(await t.raw.zcard(keys.raw(board))).toBe(1);
	},
	'job.enqueue': async (t) => {
		const queues = t.ids(6, 'q', (q) => keys.queue(q).waiting);
		const items = [...queues, ...queues].map((queue, n) => ({ queue, n }));
		const result = await t.run({ resource: 'job', operation: 'enqueue', queue: '={{ $json.queue }}', payload: '={{ JSON.stringify({ n: $json.n }) }}' }, items);
		expect(result.outputs[0].map((o) => o.enqueued)).toEqual(items.map(() => true));
		t.expectSpread(queues.map((q) => keys.queue(q).waiting));
		for (const q of queues) expect(await t.raw.llen(keys.queue(q).waiting)).toBe(2);
	},
	'job.dequeue': async (t) => {
		const queues = t.ids(6, 'q');
		await enqueueJobs(t, queues);
		const result = await t.run({ resource: 'job', operation: 'dequeue', queue: '={{ $json.queue }}', timeout: 0, visibilityTimeout: 60 }, queues.map((queue) => ({ queue })));
		expect(result.outputs[0].map((o) => o.queue)).toEqual(queues);
		expect(result.outputs[0].every((o) => typeof o.lease === 'string')).toBe(true);
		// Fair queues: a group's keys are named inside the scripts, in the queue's slot.
		await t.run({ resource: 'job', operation: 'enqueue', queue: '={{ $json.queue }}', payload: '{"a":1}', options: { group: 'acct' } }, queues.map((queue) => ({ queue })));
		const grouped = await t.run(
			{ resource: 'job', operation: 'dequeue', queue: '={{ $json.queue }}', timeout: 0, visibilityTimeout: 60, options: { maxInFlightPerGroup: 1, groupRateLimit: 5 } },
			queues.map((queue) => ({ queue })),
		);
		expect(grouped.outputs[0].map((o) => [o.queue, o.group])).toEqual(queues.map((q) => [q, 'acct']));
		const stats = await t.run({ resource: 'job', operation: 'stats', queue: '={{ $json.queue }}' }, queues.map((queue) => ({ queue })));
		expect(stats.outputs[0].map((o) => o.byGroup)).toEqual(queues.map(() => []));
	},
	'job.complete': async (t) => {
		const queues = t.ids(6, 'q');
		const jobs = await takeJobs(t, queues);
		const result = await t.run({ resource: 'job', operation: 'complete', queue: '={{ $json.queue }}', jobId: '={{ $json.id }}', options: { lease: '={{ $json.lease }}' } }, jobs);
		expect(result.outputs[0].map((o) => o.completed)).toEqual(queues.map(() => true));
	},
	'job.fail': async (t) => {
		const queues = t.ids(6, 'q');
		const jobs = await takeJobs(t, queues);
		const result = await t.run({ resource: 'job', operation: 'fail', queue: '={{ $json.queue }}', jobId: '={{ $json.id }}', errorMessage: 'boom', options: { lease: '={{ $json.lease }}', retry: false } }, jobs);
		expect(result.outputs[0].map((o) => o.status)).toEqual(queues.map(() => 'dead'));
	},
	'job.stats': async (t) => {
		const queues = t.ids(6, 'q');
		await enqueueJobs(t, queues);
		const result = await t.run({ resource: 'job', operation: 'stats', queue: '={{ $json.queue }}' }, queues.map((queue) => ({ queue })));
		expect(result.outputs[0].map((o) => o.waiting)).toEqual(queues.map(() => 1));
	},
	'job.recoverStalled': async (t) => {
		const queues = t.ids(6, 'q');
		await enqueueJobs(t, queues);
		await t.run({ resource: 'job', operation: 'dequeue', queue: '={{ $json.queue }}', timeout: 0, visibilityTimeout: 1 }, queues.map((queue) => ({ queue })));
		await new Promise((r) => setTimeout(r, 1100));
		const result = await t.run({ resource: 'job', operation: 'recoverStalled', queue: '={{ $json.queue }}' }, queues.map((queue) => ({ queue })));
		expect(result.outputs[0].map((o) => o.recovered)).toEqual(queues.map(() => 1));
	},
	'job.retryDead': async (t) => {
		const queues = t.ids(6, 'q');
		const jobs = await takeJobs(t, queues);
		await t.run({ resource: 'job', operation: 'fail', queue: '={{ $json.queue }}', jobId: '={{ $json.id }}', options: { lease: '={{ $json.lease }}', retry: false } }, jobs);
		const result = await t.run({ resource: 'job', operation: 'retryDead', queue: '={{ $json.queue }}' }, queues.map((queue) => ({ queue })));
		expect(result.outputs[0].map((o) => o.retried)).toEqual(queues.map(() => 1));
	},
	'job.purgeDead': async (t) => {
		const queues = t.ids(6, 'q');
		const jobs = await takeJobs(t, queues);
		await t.run({ resource: 'job', operation: 'fail', queue: '={{ $json.queue }}', jobId: '={{ $json.id }}', options: { lease: '={{ $json.lease }}', retry: false } }, jobs);
		const result = await t.run({ resource: 'job', operation: 'purgeDead', queue: '={{ $json.queue }}' }, queues.map((queue) => ({ queue })));
		expect(result.outputs[0].map((o) => o.deleted)).toEqual(queues.map(() => 1));
	},
	'job.sendCeleryTask': async (t) => {
		const queues = t.ids(6, 'celery', (q) => q);
		const result = await t.run({ resource: 'job', operation: 'sendCeleryTask', celeryQueue: '={{ $json.queue }}', taskName: 'tasks.generate', args: '[1]', kwargs: '{}' }, queues.map((queue) => ({ queue })));
		expect(result.outputs[0].every((o) => typeof o.taskId === 'string')).toBe(true);
		t.expectSpread(queues);
		for (const q of queues) expect(await t.raw.llen(q)).toBe(1);
	},
	'job.getResult': async (t) => {
		const queues = t.ids(6, 'q', (q) => keys.queue(q).waiting);
		const jobs = await takeJobs(t, queues);
		const complete = (some: IDataObject[]) =>
			t.run({ resource: 'job', operation: 'complete', queue: '={{ $json.queue }}', jobId: '={{ $json.id }}', options: { lease: '={{ $json.lease }}', result: '={{ JSON.stringify({ q: $json.queue }) }}' } }, some);
		// Half finish before the wait (found by its read), half while it waits (published on their own node's slot).
		await complete(jobs.slice(0, 3));
		const waiting = t.run({ resource: 'job', operation: 'getResult', queue: '={{ $json.queue }}', jobId: '={{ $json.id }}', options: { waitForResult: 30 } }, jobs);
		await new Promise((r) => setTimeout(r, 200));
		await complete(jobs.slice(3));
		const result = await waiting;
		expect(result.outputs[0].map((o) => o.status)).toEqual(queues.map(() => 'completed'));
		expect(result.outputs[0].map((o) => (o.result as IDataObject).q)).toEqual(queues);
		t.expectSpread(queues.map((q) => keys.queue(q).waiting));
	},
	'job.getCeleryResult': async (t) => {
		const ids = t.ids(6, 'task', (id) => keys.celeryResult(id));
		for (const id of ids) await t.raw.set(keys.celeryResult(id), JSON.stringify({ status: 'SUCCESS', result: id, traceback: null, date_done: null, task_id: id }), 'EX', 60);
		const result = await t.run({ resource: 'job', operation: 'getCeleryResult', taskId: '={{ $json.id }}' }, ids.map((id) => ({ id })));
		expect(result.outputs[0].map((o) => [o.status, o.result])).toEqual(ids.map((id) => ['SUCCESS', id]));
		t.expectSpread(ids.map((id) => keys.celeryResult(id)));
	},
	'search.cacheResults': async (t) => {
		const queries = t.ids(BATCH, 'query ', (q) => keys.search(q));
		await t.run({ resource: 'search', operation: 'cacheResults', query: '={{ $json.q }}', results: '[{"title":"x"}]', ttl: 60 }, queries.map((q) => ({ q })));
		t.expectSpread(queries.map((q) => keys.search(q)));
		for (const q of queries) expect(await t.raw.exists(keys.search(q))).toBe(1);
	},
	'search.getResults': async (t) => {
		const queries = t.ids(BATCH, 'query ');
		await t.run({ resource: 'search', operation: 'cacheResults', query: '={{ $json.q }}', results: '[{"title":"x"}]', ttl: 60 }, queries.map((q) => ({ q })));
		const result = await t.run({ resource: 'search', operation: 'getResults', query: '={{ $json.q }}' }, queries.map((q) => ({ q })));
		expect(JSON.stringify(result.outputs[0])).toContain('"title":"x"');
		expect(result.outputs[0]).toHaveLength(BATCH);
	},
	'apiCache.set': async (t) => {
		const ids = t.ids(BATCH, 'i', (id) => keys.apiCache('competitors', id));
		await t.run({ resource: 'apiCache', operation: 'set', namespace: 'competitors', cacheKey: '={{ $json.id }}', value: '{"v":1}', ttl: 60 }, ids.map((id) => ({ id })));
		t.expectSpread(ids.map((id) => keys.apiCache('competitors', id)));
		for (const id of ids) expect(await t.raw.exists(keys.apiCache('competitors', id))).toBe(1);
	},
	'apiCache.get': async (t) => {
		const ids = t.ids(BATCH);
		for (const id of ids) await t.raw.set(keys.apiCache('competitors', id), '{"v":2}', 'EX', 60);
		const result = await t.run({ resource: 'apiCache', operation: 'get', namespace: 'competitors', cacheKey: '={{ $json.id }}' }, ids.map((id) => ({ id })));
		expect(JSON.stringify(result.outputs[0])).toContain('"v":2');
		expect(result.outputs[0]).toHaveLength(BATCH);
	},
	'apiCache.delete': async (t) => {
		const ids = t.ids(BATCH);
		for (const id of ids) await t.raw.set(keys.apiCache('competitors', id), '{"v":2}', 'EX', 60);
		const result = await t.run({ resource: 'apiCache', operation: 'delete', namespace: 'competitors', cacheKey: '={{ $json.id }}' }, ids.map((id) => ({ id })));
		expect(result.outputs[0].map((o) => o.deleted)).toEqual(ids.map(() => true));
	},
	'conversation.append': async (t) => {
		const ids = t.ids(6, 'camp', (c) => keys.conversation(c, 'writer'));
		const items = ids.flatMap((campaign) => [{ campaign, format: 'platform' }, { campaign, format: 'langchain' }]);
		await t.run(
			{ resource: 'conversation', operation: 'append', format: '={{ $json.format }}', campaign: '={{ $json.campaign }}', agent: 'writer', sessionId: '={{ $json.campaign }}', messages: '[{"role":"user","content":"hi"}]' },
			items,
		);
		t.expectSpread(ids.map((c) => keys.conversation(c, 'writer')));
		for (const c of ids) {
			expect(await t.raw.llen(keys.conversation(c, 'writer'))).toBe(1);
			expect(await t.raw.llen(keys.langchain(c))).toBe(1);
		}
	},
	'conversation.getHistory': async (t) => {
		const ids = t.ids(6, 'camp');
		const params = { resource: 'conversation', format: 'platform', campaign: '={{ $json.c }}', agent: 'writer', sessionId: 'unused' };
		await t.run({ ...params, operation: 'append', messages: '[{"role":"user","content":"hello"}]' }, ids.map((c) => ({ c })));
		const result = await t.run({ ...params, operation: 'getHistory' }, ids.map((c) => ({ c })));
		expect(result.outputs[0]).toHaveLength(6);
		expect(JSON.stringify(result.outputs[0])).toContain('hello');
	},
	'conversation.clear': async (t) => {
		const ids = t.ids(6, 'camp');
		const params = { resource: 'conversation', format: 'platform', campaign: '={{ $json.c }}', agent: 'writer', sessionId: 'unused' };
		await t.run({ ...params, operation: 'append', messages: '[{"role":"user","content":"hello"}]' }, ids.map((c) => ({ c })));
		const result = await t.run({ ...params, operation: 'clear' }, ids.map((c) => ({ c })));
		expect(result.outputs[0].map((o) => o.cleared)).toEqual(ids.map(() => true));
	},
	'update.publish': async (t) => {
		const channels = t.ids(6, 'chan', (c) => keys.updatesStream(c));
		const result = await t.run(
			{ resource: 'update', operation: 'publish', channel: '={{ $json.channel }}', message: '{"draft_id":1}', options: { durable: true } },
			channels.map((channel) => ({ channel })),
		);
		expect(result.outputs[0].map((o) => o.published)).toEqual(channels.map(() => true));
		t.expectSpread(channels.map((c) => keys.updatesStream(c)));
		for (const c of channels) expect(await t.raw.xlen(keys.updatesStream(c))).toBe(1);
	},
	'server.health': async (t) => {
		const result = await t.run({ resource: 'server', operation: 'health' }, [{}]);
		expect(result.outputs[0]).toHaveLength(1);
	},
};

const OPERATIONS = RESOURCES.flatMap((r) => Object.keys(r.operations).map((op) => `${r.value}.${op}`));

describe('Every node operation in Cluster mode', () => {
	it.each(OPERATIONS)('%s', async (name) => {
		const run = CASES[name];
		if (!run) throw new Error(`No Cluster case for operation ${name}: add one to test/system/cluster.test.ts`);
		await run(tools());
	});
});

describe('Cluster batching and key layout', () => {
	it('computes the same hash slot as the server, hash tags included', async () => {
		const samples = ['foo', 'session:abc', '{queue:jobs}:inflight', 'queue:jobs', 'a{}b', '{}x', 'x{y', 'ünï{cøde}', 'p{a}{b}'];
		for (const key of samples) expect(keySlot(key)).toBe(await raw.cluster('KEYSLOT', key));
	});

	it('groups keys by slot for multi-key commands, hash tags kept together', () => {
		const groups = groupKeysBySlot(['{a}1', 'b', '{a}2', 'c', 'b']);
		expect(groups).toContainEqual(['{a}1', '{a}2']);
		expect(groups).toContainEqual(['b', 'b']);
		expect(groups.flat()).toHaveLength(5);
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
		const t = tools();
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
		const t = tools();
		const ids = t.ids(9);
		const items = ids.map((id, n) => ({ id, ttl: n === 4 ? -1 : 60 }));
		const result = await t.run(
			{ resource: 'session', operation: 'set', sessionId: '={{ $json.id }}', data: '{"a":1}', ttl: '={{ $json.ttl }}' },
			items,
			{ continueOnFail: true },
		);
		expect(result.outputs[0]).toHaveLength(9);
		expect(result.outputs[0][4].error).toMatch(/^"TTL \(Seconds\)".* \[item 4\]$/);
		expect(result.outputs[0].filter((o) => o.stored === true)).toHaveLength(8);
		expect(await t.raw.exists(keys.session(ids[4]))).toBe(0);
		expect(await t.raw.exists(keys.session(ids[5]))).toBe(1);
	});

	it('applies the credential key prefix in Cluster mode too', async () => {
		const t = tools();
		const ids = t.ids(6);
		await t.run(
			{ resource: 'session', operation: 'set', sessionId: '={{ $json.id }}', data: '{"a":1}', ttl: 60 },
			ids.map((id) => ({ id })),
			{ keyPrefix: 'staging:' },
		);
		for (const id of ids) expect(await t.raw.exists(`staging:session:${id}`)).toBe(1);
	});

	it('fails an execution against an unreachable cluster instead of waiting forever', async () => {
		const result = await runNode({
			parameters: { resource: 'session', operation: 'set', sessionId: 'x', data: '{}', ttl: 60 },
			credentials: topology.credentials({ clusterNodes: `127.0.0.1:${await freePort()}` }) as ICredentialDataDecryptedObject,
			credentialId: 'cluster-dead',
		});
		expect(result.error?.message).toMatch(/^Set Session failed: None of the Cluster nodes or Sentinels in the credential could be reached.* \[item 0\]$/);
		expect(result.error?.message).not.toContain(topology.password);
	}, 20_000);

	it('ignores the DB mapping: every role writes to DB 0 of the cluster', async () => {
		const t = tools();
		const result = await runNode({
			parameters: { resource: 'content', operation: 'cache', contentId: `${t.p}db`, valueType: 'text', text: 'x', ttl: 60 },
			credentials: topology.credentials({ contentDb: 5 }) as ICredentialDataDecryptedObject,
			credentialId: 'cluster-db5',
		});
		expect(result.error).toBeUndefined();
		expect(await t.raw.get(keys.content(`${t.p}db`))).toBe('x');
	});
});


describe('Triggers in Cluster mode', () => {
	const active: ActiveTrigger[] = [];
	afterEach(async () => {
		for (const t of active.splice(0)) await t.close();
	});

	const clusterCreds = () => topology.credentials() as ICredentialDataDecryptedObject;

	it('pub/sub: channels and patterns receive messages published through the node on any node', async () => {
		const t = tools();
		const channels = t.ids(3, 'chan');
		const trigger = await startTrigger({
			workflowId: 'wf-cluster-pubsub',
			parameters: { event: 'contentUpdatePubSub', channels: channels.join(', '), patterns: `${t.p}pat:*`, options: {} },
			credentials: clusterCreds(),
		});
		active.push(trigger);
		// The subscriber sits on one node; a PUBLISH on any other node reaches it over the cluster bus.
		await until(async () => {
			const counts = await Promise.all(
				topology.nodes.map(async (node) => {
					const direct = new Redis({ host: '127.0.0.1', port: node.port, password: topology.password });
					try {
						return ((await direct.pubsub('NUMSUB', channels[0])) as [string, number])[1];
					} finally {
						direct.disconnect();
					}
				}),
			);
			return counts.some((c) => c >= 1);
		}, 'the subscription');
		const items = [...channels, `${t.p}pat:x`].map((channel, n) => ({ channel, n }));
		await t.run({ resource: 'update', operation: 'publish', channel: '={{ $json.channel }}', message: '={{ JSON.stringify({ n: $json.n }) }}' }, items);
		const emitted = await trigger.waitFor(4);
		expect(emitted.map((e) => e.channel).sort()).toEqual(items.map((i) => i.channel).sort());
		expect(trigger.errors).toEqual([]);
	});

	it('durable stream: updates appended through the node are emitted and acknowledged', async () => {
		const t = tools();
		const [channel] = t.ids(1, 'stream');
		const trigger = await startTrigger({
			workflowId: 'wf-cluster-stream',
			parameters: { event: 'contentUpdateStream', channels: channel, options: { startAt: 'all' } },
			credentials: clusterCreds(),
		});
		active.push(trigger);
		const items = [0, 1, 2].map((n) => ({ n }));
		await t.run(
			{ resource: 'update', operation: 'publish', channel, message: '={{ JSON.stringify({ n: $json.n }) }}', options: { durable: true } },
			items,
		);
		const emitted = await trigger.waitFor(3);
		expect(emitted).toHaveLength(3);
		expect(JSON.stringify(emitted)).toContain('"n":2');
		expect(trigger.errors).toEqual([]);
	});

	// Streams on different slots: the trigger runs one reader per stream in Cluster mode.
	it('durable stream: one trigger reads channels whose streams live on different nodes', async () => {
		const t = tools();
		const channels = t.ids(4, 'stream', (c) => keys.updatesStream(c));
		t.expectSpread(channels.map((c) => keys.updatesStream(c)));
		const trigger = await startTrigger({
			workflowId: 'wf-cluster-streams',
			parameters: { event: 'contentUpdateStream', channels: channels.join(', '), options: { startAt: 'all' } },
			credentials: clusterCreds(),
		});
		active.push(trigger);
		await t.run(
			{ resource: 'update', operation: 'publish', channel: '={{ $json.channel }}', message: '{"ok":true}', options: { durable: true } },
			channels.map((channel) => ({ channel })),
		);
		const emitted = await trigger.waitFor(4, 4000);
		expect(emitted.map((e) => e.channel).sort()).toEqual([...channels].sort());
		expect(trigger.errors).toEqual([]);
	});

	it('queue worker: jobs enqueued through the node on queues on several nodes are all processed once', async () => {
		const t = tools();
		const queues = t.ids(3, 'wq', (q) => keys.queue(q).waiting);
		const done: string[] = [];
		for (const [i, queue] of queues.entries()) {
			active.push(
				await startTrigger({
					workflowId: `wf-cluster-queue-${i}`,
					parameters: { event: 'jobAvailable', queue: queue, maxParallelJobs: 2, visibilityTimeout: 30 },
					credentials: clusterCreds(),
					execution: async (json) => void done.push(String(json.id)),
				}),
			);
		}
		t.expectSpread(queues.map((q) => keys.queue(q).waiting));
		const items = queues.flatMap((queue) => [0, 1, 2, 3].map((n) => ({ queue, n })));
		const result = await t.run({ resource: 'job', operation: 'enqueue', queue: '={{ $json.queue }}', payload: '={{ JSON.stringify({ n: $json.n }) }}' }, items);
		const ids = result.outputs[0].map((o) => String(o.id));
		await until(() => done.length >= ids.length, 'every job');
		expect([...done].sort()).toEqual([...ids].sort());
	});
});

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
	const end = Date.now() + ms;
	while (!(await check())) {
		if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 25));
	}
}
