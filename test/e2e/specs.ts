// One spec per template in workflows/: how the suite runs it inside real n8n and what must be true
// afterwards, both in the execution's output and in Redis. A template without a spec fails the suite.
import { expect, expectEqual } from './lib/report';
import { nodeItems, ranNodes } from './lib/execution';
import { waitFor, type SpecContext } from './lib/context';

export interface ExecuteSpec {
	kind: 'execute';
	/** File name in workflows/. */
	file: string;
	run(ctx: SpecContext): Promise<string>;
}

export interface TriggerSpec {
	kind: 'trigger';
	file: string;
	/** Publishes, enqueues ... once n8n serves with the workflow active. */
	fire(ctx: SpecContext): Promise<void>;
	/** Waits for and checks the executions' effects. */
	verify(ctx: SpecContext): Promise<string>;
}

export type TemplateSpec = ExecuteSpec | TriggerSpec;

const rateLimited: ExecuteSpec = {
	kind: 'execute',
	file: 'rate-limited-api-call.json',
	async run(ctx) {
		await ctx.redis.db(4).del('ratelimit:competitor_api');
		const first = await ctx.execute('tplRateLimitApi1');
		expectEqual(nodeItems(first, 'Check Rate Limit', 0).length, 3, 'allowed items of the first run');
		expectEqual(nodeItems(first, 'Check Rate Limit', 1).length, 2, 'limited items of the first run');
		const called = nodeItems(first, 'Call Competitor API').map((j) => j.competitor);
		expectEqual(called, ['acme', 'globex', 'initech'], 'competitors called');
		const retry = nodeItems(first, 'Retry Later');
		expectEqual(retry.map((j) => j.competitor), ['umbrella', 'hooli'], 'competitors to retry');
		expect(retry.every((j) => Number(j.retryAfterMs) > 0), `retryAfterMs must be > 0: ${JSON.stringify(retry)}`);
		const counted = await ctx.redis.db(4).zcard('ratelimit:competitor_api');
		expectEqual(counted, 3, 'requests counted in ratelimit:competitor_api (DB 4)');
		const ttl = await ctx.redis.db(4).pttl('ratelimit:competitor_api');
		expect(ttl > 0 && ttl <= 60_000, `the counter must expire with the window, PTTL ${ttl}`);
		// Within the same minute the window is full: everything goes to Limited.
		const second = await ctx.execute('tplRateLimitApi1');
		expectEqual(nodeItems(second, 'Check Rate Limit', 0).length, 0, 'allowed items of the second run');
		expectEqual(nodeItems(second, 'Check Rate Limit', 1).length, 5, 'limited items of the second run');
		expect(!ranNodes(second).includes('Call Competitor API'), 'the API must not be called on the second run');
		return 'run 1: 3 allowed + 2 limited, ZCARD 3; run 2: 0 allowed + 5 limited';
	},
};

const QUEUE = {
	waiting: 'queue:content_generation',
	inflight: '{queue:content_generation}:inflight',
	jobs: '{queue:content_generation}:jobs',
	dead: '{queue:content_generation}:dead',
};
const BRIEFS = ['brief-101-blog', 'brief-101-linkedin', 'brief-102-newsletter'];

const jobProducer: ExecuteSpec = {
	kind: 'execute',
	file: 'job-producer.json',
	async run(ctx) {
		const execution = await ctx.execute('tplJobProducer01');
		const enqueued = nodeItems(execution, 'Enqueue Content Job');
		expectEqual(enqueued.map((j) => j.id), BRIEFS, 'job ids');
		expect(enqueued.every((j) => j.enqueued === true), `every brief must be newly enqueued: ${JSON.stringify(enqueued)}`);
		const [stats] = nodeItems(execution, 'Queue Stats');
		expectEqual(stats?.waiting, 3, 'Queue Stats waiting');
		const db3 = ctx.redis.db(3);
		expectEqual(await db3.llen(QUEUE.waiting), 3, `LLEN ${QUEUE.waiting} (DB 3)`);
		const envelope = JSON.parse((await db3.lindex(QUEUE.waiting, -1)) ?? 'null') as Record<string, unknown> | null;
		expect(envelope && JSON.stringify(envelope).includes('AI marketing trends 2026'), `queued envelope: ${JSON.stringify(envelope)}`);
		expectEqual(await db3.ttl(QUEUE.waiting), -1, 'the queue must not expire (no TTL under volatile-lru)');
		// De-duplication: a second run while the jobs are live queues nothing new.
		const again = await ctx.execute('tplJobProducer01');
		expect(nodeItems(again, 'Enqueue Content Job').every((j) => j.duplicate === true), 'second run must report duplicates');
		expectEqual(await db3.llen(QUEUE.waiting), 3, 'LLEN after the second run');
		return `3 jobs on ${QUEUE.waiting} (DB 3), no TTL; a second run was de-duplicated`;
	},
};

const queueWorker: TriggerSpec = {
	kind: 'trigger',
	file: 'queue-worker.json',
	// The producer's three jobs are already waiting: the worker takes them as soon as it is active.
	async fire() {},
	async verify(ctx) {
		const db1 = ctx.redis.db(1);
		const db3 = ctx.redis.db(3);
		const drafts = ['content:draft-101-blog', 'content:draft-101-linkedin', 'content:draft-102-newsletter'];
		await waitFor('three drafts cached by the worker', async () => (await db1.exists(...drafts)) === 3, 60_000);
		const draft = JSON.parse((await db1.get('content:draft-101-blog')) ?? '{}') as Record<string, unknown>;
		expectEqual(draft.title, 'AI marketing trends 2026 (blog)', 'cached draft title');
		const ttl = await db1.ttl('content:draft-101-blog');
		expect(ttl > 0 && ttl <= 86_400, `drafts carry a TTL, got ${ttl}`);
		// Acked: nothing waiting, nothing in flight, nothing dead, no envelope left behind.
		await waitFor(
			'the queue to be empty and every job acked',
			async () =>
				(await db3.llen(QUEUE.waiting)) === 0 &&
				(await db3.zcard(QUEUE.inflight)) === 0 &&
				(await db3.hlen(QUEUE.jobs)) === 0,
			30_000,
		);
		expectEqual(await db3.llen(QUEUE.dead), 0, 'dead-lettered jobs');
		const executions = await waitFor(
			'three successful worker executions',
			async () => {
				const list = await ctx.rest!.executions('tplQueueWorker01');
				return list.filter((e) => e.status === 'success').length >= 3 ? list : undefined;
			},
			30_000,
		);
		return `${executions.length} executions (${executions.map((e) => e.status).join(',')}); 3 drafts in DB 1; queue empty, 0 in flight, 0 dead`;
	},
};

export const SPECS: TemplateSpec[] = [rateLimited, jobProducer, queueWorker];
export { waitFor };
