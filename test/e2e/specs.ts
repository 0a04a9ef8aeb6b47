// One spec per template in workflows/: how the suite runs it inside real n8n and what must be true
// afterwards, both in the execution's output and in Redis. A template without a spec fails the suite.
import { createHash } from 'node:crypto';

import { sleep } from '../../scripts/lib/process';
import { expect, expectEqual } from './lib/report';
import { nodeItems, ranNodes } from './lib/execution';
import { noFailedExecutions, waitFor, type SpecContext } from './lib/context';
import { celeryDraftAgent, researchFanOut } from './result-specs';

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
		await waitFor(
			'three drafts cached by the worker',
			async () => {
				await noFailedExecutions(ctx, 'tplQueueWorker01');
				return (await db1.exists(...drafts)) === 3;
			},
			60_000,
		);
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
		// Each job's result is the first item of the execution's last node, from the run n8n handed back.
		const record = JSON.parse((await db3.get('{queue:content_generation}:result:brief-101-blog')) ?? '{}') as Record<string, unknown>;
		expectEqual(record.status, 'completed', 'result record of brief-101-blog');
		expectEqual((record.result as Record<string, unknown> | null)?.key, 'content:draft-101-blog', "the result: Cache Draft's output");
		const executions = await waitFor(
			'three successful worker executions',
			async () => {
				const list = await ctx.rest!.executions('tplQueueWorker01');
				return list.filter((e) => e.status === 'success').length >= 3 ? list : undefined;
			},
			30_000,
		);
		return `${executions.length} executions (${executions.map((e) => e.status).join(',')}); 3 drafts in DB 1; queue empty, 0 in flight, 0 dead; results stored`;
	},
};

const contentApproval: TriggerSpec = {
	kind: 'trigger',
	file: 'content-approval.json',
	async fire(ctx) {
		const db0 = ctx.redis.db(0);
		await db0.del('top_content');
		await ctx.redis.db(1).del('content:approval-123', 'content:approval-124');
		const messages = [
			{ draft_id: 123, status: 'approved', score: 5, approved_by: 'maria' },
			{ draft_id: 124, status: 'draft', score: 9 },
			{ draft_id: 123, status: 'approved', score: 2, approved_by: 'li' },
		];
		for (const message of messages) {
			// PUBLISH answers how many subscribers got it: 0 means the trigger is not listening (yet).
			const receivers = await waitFor('a subscriber on content_updates', async () => (await db0.publish('content_updates', JSON.stringify(message))) || undefined, 15_000);
			expect(receivers >= 1, 'nobody subscribed to content_updates');
		}
	},
	async verify(ctx) {
		const db0 = ctx.redis.db(0);
		const db1 = ctx.redis.db(1);
		await waitFor(
			'top_content score 7 for draft 123',
			async () => {
				await noFailedExecutions(ctx, 'tplContentApprove');
				return (await db0.zscore('top_content', '123')) === '7';
			},
			30_000,
		);
		expectEqual(await db0.zscore('top_content', '124'), null, 'the draft (not approved) update must not reach the leaderboard');
		const approval = JSON.parse((await db1.get('content:approval-123')) ?? 'null') as Record<string, unknown> | null;
		// Both approvals of draft 123 write this key, and n8n runs pub/sub executions concurrently, so either may land
		// last (seen once on a loaded machine with n8n 2.41.1): any one of the two is right, a mixture or a draft is not.
		expect(
			approval?.status === 'approved' && ['maria', 'li'].includes(String(approval?.approved_by)),
			`content:approval-123 = ${JSON.stringify(approval)}`,
		);
		const ttl = await db1.ttl('content:approval-123');
		expect(ttl > 2_500_000 && ttl <= 2_592_000, `approval record TTL ${ttl}`);
		expectEqual(await db1.exists('content:approval-124'), 0, 'no approval record for the unapproved draft');
		const executions = await waitFor(
			'two successful executions',
			async () => {
				const list = await ctx.rest!.executions('tplContentApprove');
				return list.filter((e) => e.status === 'success').length >= 2 ? list : undefined;
			},
			20_000,
		);
		await sleep(1500);
		const after = await ctx.rest!.executions('tplContentApprove');
		expectEqual(after.length, 2, 'executions (the filtered-out message must not start one)');
		return `3 published, 2 executions (${executions.map((e) => e.status).join(',')}); ZSCORE top_content 123 = 7; content:approval-123 TTL ${ttl} s`;
	},
};

const SEARCH_QUERY = 'AI marketing trends';
const searchKey = () => `search:${createHash('sha256').update(SEARCH_QUERY.trim().toLowerCase().replace(/\s+/g, ' ')).digest('hex')}`;

const searchCacheAside: ExecuteSpec = {
	kind: 'execute',
	file: 'search-cache-aside.json',
	async run(ctx) {
		const db2 = ctx.redis.db(2);
		const key = searchKey();
		await db2.del(key);
		const first = await ctx.execute('tplSearchCache01');
		const fresh = nodeItems(first, 'Return Fresh');
		expectEqual(fresh.map((j) => j.source), ['computed'], 'first run: a miss, computed');
		expectEqual(nodeItems(first, 'Return Cached').length, 0, 'first run: nothing from the cache');
		const results = fresh[0].results as Array<Record<string, unknown>>;
		expectEqual(results.length, 3, 'computed results');
		const stored = await db2.get(key);
		expect(stored?.includes('AI marketing trends: result 1'), `${key} (DB 2) must hold the results, got ${stored?.slice(0, 200)}`);
		const ttl = await db2.ttl(key);
		expect(ttl > 0 && ttl <= 3600, `cache entry TTL ${ttl}`);
		const second = await ctx.execute('tplSearchCache01');
		const cached = nodeItems(second, 'Return Cached');
		expectEqual(cached.map((j) => j.source), ['cache'], 'second run: a hit');
		expectEqual(cached[0].results, results, 'cached results equal the computed ones');
		expect(!ranNodes(second).includes('Run Search'), 'second run must not compute');
		return `run 1 miss -> computed and cached as ${key.slice(0, 20)}... (TTL ${ttl} s); run 2 hit`;
	},
};

/** History as the Get History operation outputs it: one item per message, or one item with a messages list. */
function historyMessages(items: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
	if (items.length === 1 && Array.isArray(items[0].messages)) return items[0].messages as Array<Record<string, unknown>>;
	return items;
}

const agentMemory: ExecuteSpec = {
	kind: 'execute',
	file: 'agent-conversation-memory.json',
	async run(ctx) {
		const db0 = ctx.redis.db(0);
		const key = 'conversation:spring_launch:copywriter';
		await db0.del(key);
		const first = await ctx.execute('tplAgentMemory01');
		expectEqual(historyMessages(nodeItems(first, 'Read History')).length, 2, 'history after one turn');
		const second = await ctx.execute('tplAgentMemory01');
		const history = historyMessages(nodeItems(second, 'Read History'));
		expectEqual(history.length, 4, 'history after two turns');
		expectEqual(history.map((m) => m.role), ['user', 'assistant', 'user', 'assistant'], 'roles, oldest first');
		expect(String(history[0].content).includes('LinkedIn hook'), `first message: ${JSON.stringify(history[0])}`);
		expectEqual(await db0.llen(key), 4, `LLEN ${key}`);
		const ttl = await db0.ttl(key);
		expect(ttl > 0 && ttl <= 604_800, `conversation TTL ${ttl}`);
		const raw = JSON.parse((await db0.lindex(key, 0)) ?? '{}') as Record<string, unknown>;
		expectEqual(raw.role, 'user', 'first stored message role (plain JSON, readable from Python)');
		return `2 runs -> ${key} holds 4 JSON messages (TTL ${ttl} s); Get History returns them oldest first`;
	},
};

const healthCheck: ExecuteSpec = {
	kind: 'execute',
	file: 'redis-health-check.json',
	async run(ctx) {
		const db0 = ctx.redis.db(0);
		const threshold = ((await db0.config('GET', 'slowlog-log-slower-than')) as string[])[1];
		await db0.call('SLOWLOG', 'RESET');
		const calm = await ctx.execute('tplHealthCheck01');
		const [health] = nodeItems(calm, 'Server Health');
		expect(health && typeof health.memory === 'object' && typeof health.keyspace === 'object', `Server Health output: ${JSON.stringify(health)?.slice(0, 300)}`);
		expectEqual(nodeItems(calm, 'Needs Attention?', 1).length, 1, 'a calm server goes to Healthy');
		expectEqual(nodeItems(calm, 'Alert').length, 0, 'no alert for a calm server');
		// Make every command "slow", so the slow log fills up, and check that the alert fires.
		try {
			await db0.config('SET', 'slowlog-log-slower-than', '0');
			await db0.set('e2e:slow-probe', 'x', 'EX', 60);
			const alarmed = await ctx.execute('tplHealthCheck01');
			const [alert] = nodeItems(alarmed, 'Alert');
			expect(alert?.alert === true, `expected an alert, got ${JSON.stringify(nodeItems(alarmed, 'Needs Attention?', 1))?.slice(0, 300)}`);
			expect(Number(alert.slowLogLength) > 0 && String(alert.text).includes('slow-log'), `alert: ${JSON.stringify(alert)}`);
			return `calm -> Healthy; with slowlog-log-slower-than 0 -> Alert: "${String(alert.text).slice(0, 90)}..."`;
		} finally {
			await db0.config('SET', 'slowlog-log-slower-than', threshold);
			await db0.call('SLOWLOG', 'RESET');
		}
	},
};

const FAIR_QUEUE = 'account_api_calls';

/** Fair queue plus Wait Until Allowed: one big account and two small ones through a per-account token bucket. */
const manyAccounts: ExecuteSpec = {
	kind: 'execute',
	file: 'rate-limited-api-many-accounts.json',
	async run(ctx) {
		const db3 = ctx.redis.db(3);
		const db4 = ctx.redis.db(4);
		const stale = [...(await db3.keys(`{queue:${FAIR_QUEUE}}:*`)), `queue:${FAIR_QUEUE}`];
		await db3.del(...stale);
		await db4.del('ratelimit:api:acme', 'ratelimit:api:globex', 'ratelimit:api:initech');
		const execution = await ctx.execute('tplFairApiCalls1');
		const taken = nodeItems(execution, 'Take Fairly').map((j) => String((j.payload as { requestId: string }).requestId));
		expectEqual(taken.length, 10, 'jobs taken by Take Fairly');
		// Round robin over the accounts with waiting jobs: acme's batch came first but holds nobody behind it.
		const firstThree = new Set(taken.slice(0, 3).map((id) => id.split('-')[0]));
		expectEqual([...firstThree].sort(), ['acme', 'globex', 'initech'], 'accounts of the first three takes');
		const smallDone = Math.max(...['globex-1', 'globex-2', 'initech-1', 'initech-2'].map((id) => taken.indexOf(id)));
		expect(smallDone < 6, `every globex and initech job within the first 6 takes: ${taken.join(', ')}`);
		expectEqual(taken.filter((id) => id.startsWith('acme')), ['acme-1', 'acme-2', 'acme-3', 'acme-4', 'acme-5', 'acme-6'], "acme's jobs in order");
		const checks = nodeItems(execution, "Wait for the Account's Slot");
		expect(checks.length === 10 && checks.every((j) => j.allowed === true), `every request allowed after its wait: ${JSON.stringify(checks)}`);
		const waited = (account: string) => checks.filter((j) => String(j.key).endsWith(account)).map((j) => Number(j.waitedMs ?? 0));
		// Burst 2: the small accounts never wait; acme's 6th token comes 2 s after its burst at 2 per second.
		expect([...waited('globex'), ...waited('initech')].every((ms) => ms === 0), `small accounts waited: ${JSON.stringify(checks)}`);
		const acme = waited('acme');
		expect(Math.max(...acme) >= 1000, `acme's later requests must wait for their tokens: ${JSON.stringify(acme)}`);
		const completed = nodeItems(execution, 'Complete Job');
		expect(completed.length === 10 && completed.every((j) => j.completed === true), `all 10 jobs completed: ${JSON.stringify(completed)}`);
		const record = JSON.parse((await db3.get(`{queue:${FAIR_QUEUE}}:result:initech-2`)) ?? 'null') as { status?: string } | null;
		expectEqual(record?.status, 'completed', 'result record of initech-2');
		expectEqual(await db3.zcard(`{queue:${FAIR_QUEUE}}:inflight`), 0, 'jobs left in flight');
		return `takes: ${taken.join(', ')}; acme waited up to ${Math.max(...acme)} ms, globex/initech 0 ms; 10 completed with results`;
	},
};

export const SPECS: TemplateSpec[] = [
	contentApproval,
	rateLimited,
	searchCacheAside,
	jobProducer,
	queueWorker,
	agentMemory,
	healthCheck,
	researchFanOut,
	celeryDraftAgent,
	manyAccounts,
];
export { waitFor };
