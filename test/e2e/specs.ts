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

export const SPECS: TemplateSpec[] = [rateLimited];
export { waitFor };
