/**
 * 3. Load: 50 concurrent simulated executions (each a full n8n WorkflowExecute run of the node
 * with 5 items) for RELIABILITY_LOAD_SECONDS (default 60), cycling through every operation.
 * Reported: errors (must be 0), p50/p99 latency per operation, and the server's client count,
 * which must stay bounded by the pool's design (one shared client per DB, plus one dedicated
 * client per blocking dequeue in progress), however many executions run.
 */
import type { IDataObject } from 'n8n-workflow';

import { sharedPool } from '../../platform/connection-pool';
import { runNode } from '../helpers/n8n';
import type { RedisServerHandle } from '../helpers/redis-server';
import { credentialsFor, percentile, raw, report, sleep, startServer, stopAll } from './support';

const SECONDS = Number(process.env.RELIABILITY_LOAD_SECONDS ?? 60);
const CONCURRENCY = Number(process.env.RELIABILITY_LOAD_CONCURRENCY ?? 50);
const ITEMS = 5;

let server: RedisServerHandle;

beforeAll(async () => {
	server = await startServer();
});

afterAll(async () => {
	await sharedPool.closeAll();
	await stopAll();
});

interface Op {
	name: string;
	parameters: (worker: number) => Record<string, unknown>;
	/** Second step that uses the first step's output (lock release, job complete). */
	then?: (out: IDataObject[]) => Record<string, unknown> | undefined;
}

const id = '={{ "u" + ($json.i % 200) }}';
const OPS: Op[] = [
	{ name: 'Session Set', parameters: () => ({ resource: 'session', operation: 'set', sessionId: id, data: '={{ JSON.stringify({ i: $json.i, role: "admin" }) }}', ttl: 600 }) },
	{ name: 'Session Get', parameters: () => ({ resource: 'session', operation: 'get', sessionId: id }) },
	{ name: 'Session Refresh TTL', parameters: () => ({ resource: 'session', operation: 'refresh', sessionId: id, ttl: 900 }) },
	{ name: 'Session Delete', parameters: () => ({ resource: 'session', operation: 'delete', sessionId: '={{ "gone" + $json.i }}' }) },
	{ name: 'Content Cache', parameters: () => ({ resource: 'content', operation: 'cache', contentId: id, valueType: 'text', text: '={{ "draft " + $json.i }}', ttl: 600 }) },
	{ name: 'Content Get', parameters: () => ({ resource: 'content', operation: 'get', contentId: id }) },
	{ name: 'Content Delete', parameters: () => ({ resource: 'content', operation: 'delete', contentId: '={{ "gone" + $json.i }}' }) },
	{ name: 'Search Cache Results', parameters: () => ({ resource: 'search', operation: 'cacheResults', query: '={{ "AI marketing " + ($json.i % 50) }}', results: '[{"t":"x"}]', ttl: 600 }) },
	{ name: 'Search Get Results', parameters: () => ({ resource: 'search', operation: 'getResults', query: '={{ "ai  MARKETING " + ($json.i % 50) }}' }) },
	{ name: 'API Cache Set', parameters: () => ({ resource: 'apiCache', operation: 'set', namespace: 'competitors', cacheKey: id, value: '{"price":1}', ttl: 600 }) },
	{ name: 'API Cache Get', parameters: () => ({ resource: 'apiCache', operation: 'get', namespace: 'competitors', cacheKey: id }) },
	{ name: 'Rate Limit Check', parameters: () => ({ resource: 'rateLimit', operation: 'check', limitKey: '={{ "api" + ($json.i % 10) }}', maxRequests: 1000, windowSeconds: 1 }) },
	{ name: 'Rate Limit Status', parameters: () => ({ resource: 'rateLimit', operation: 'status', limitKey: '={{ "api" + ($json.i % 10) }}', maxRequests: 1000, windowSeconds: 1 }) },
	{
		name: 'Lock Acquire + Release',
		parameters: (w) => ({ resource: 'lock', operation: 'acquire', lockName: `={{ "campaign-${w}-" + $json.i }}`, lockTtl: 30 }),
		then: (out) => ({ resource: 'lock', operation: 'release', lockName: `={{ ${JSON.stringify(out.map((o) => o.lock))}[$itemIndex] }}`, lockToken: `={{ ${JSON.stringify(out.map((o) => o.token))}[$itemIndex] }}` }),
	},
	{ name: 'Leaderboard Add', parameters: () => ({ resource: 'leaderboard', operation: 'add', leaderboard: 'top_content', member: id, score: '={{ $json.i }}', scoreMode: 'increment' }) },
	{ name: 'Leaderboard Top N', parameters: () => ({ resource: 'leaderboard', operation: 'top', leaderboard: 'top_content', topN: 10 }) },
	{ name: 'Leaderboard Rank', parameters: () => ({ resource: 'leaderboard', operation: 'rank', leaderboard: 'top_content', member: id }) },
	{ name: 'Job Enqueue', parameters: () => ({ resource: 'job', operation: 'enqueue', queue: 'load', payload: '={{ JSON.stringify({ i: $json.i }) }}' }) },
	{
		name: 'Job Dequeue + Complete',
		parameters: () => ({ resource: 'job', operation: 'dequeue', queue: 'load', timeout: 0, visibilityTimeout: 60, whenEmpty: 'emptyFlag' }),
		then: (out) => {
			const ids = out.filter((o) => o.id).map((o) => o.id);
			if (ids.length === 0) return undefined;
			return { resource: 'job', operation: 'complete', queue: 'load', jobId: `={{ ${JSON.stringify(ids)}[$itemIndex % ${ids.length}] }}` };
		},
	},
	{ name: 'Job Stats', parameters: () => ({ resource: 'job', operation: 'stats', queue: 'load' }) },
	{ name: 'Conversation Append', parameters: (w) => ({ resource: 'conversation', operation: 'append', format: 'platform', campaign: 'load', agent: `agent${w}`, messages: '={{ JSON.stringify([{ role: "user", content: "m" + $json.i }]) }}', maxLength: 50, ttl: 600 }) },
	{ name: 'Conversation History', parameters: (w) => ({ resource: 'conversation', operation: 'getHistory', format: 'platform', campaign: 'load', agent: `agent${w}`, returnAll: false, limit: 20 }) },
	{ name: 'Update Publish', parameters: () => ({ resource: 'update', operation: 'publish', channel: 'content_updates', message: '={{ JSON.stringify({ draft_id: $json.i, status: "approved" }) }}' }) },
	{ name: 'Server Health', parameters: () => ({ resource: 'server', operation: 'health' }) },
];

interface Sample {
	op: string;
	ms: number;
	error?: string;
}

function errorsOf(result: Awaited<ReturnType<typeof runNode>>): string[] {
	const errors = result.error ? [result.error.message] : [];
	for (const out of result.outputs) for (const json of out) if (json.error) errors.push(String(json.error));
	return errors;
}

describe(`load: ${CONCURRENCY} concurrent executions for ${SECONDS} s`, () => {
	it('mixes every operation with 0 errors and a bounded connection count', async () => {
		const samples: Sample[] = [];
		const monitor = raw(server);
		let maxClients = 0;
		let maxShared = 0;
		let maxBlocking = 0;
		let stop = false;
		const watching = (async () => {
			while (!stop) {
				const list = (await monitor.client('LIST')) as string;
				const names = list.split('\n').filter(Boolean).map((line) => /name=(\S*)/.exec(line)?.[1] ?? '');
				maxClients = Math.max(maxClients, names.length);
				maxShared = Math.max(maxShared, names.filter((n) => n.includes(':shared:')).length);
				maxBlocking = Math.max(maxBlocking, names.filter((n) => n.includes(':blocking:')).length);
				await sleep(250);
			}
		})();

		const credentials = credentialsFor(server);
		const until = Date.now() + SECONDS * 1000;
		let counter = 0;
		await Promise.all(
			Array.from({ length: CONCURRENCY }, async (_, worker) => {
				for (let n = worker; Date.now() < until; n++) {
					const op = OPS[n % OPS.length];
					const items = Array.from({ length: ITEMS }, () => ({ i: counter++ }));
					const started = performance.now();
					const first = await runNode({ credentials, parameters: op.parameters(worker), items });
					const errors = errorsOf(first);
					const next = errors.length === 0 ? op.then?.(first.outputs[0] ?? []) : undefined;
					if (next) errors.push(...errorsOf(await runNode({ credentials, parameters: next, items })));
					samples.push({ op: op.name, ms: performance.now() - started, error: errors[0] });
				}
			}),
		);
		stop = true;
		await watching;

		const rows = OPS.map((op) => {
			const mine = samples.filter((s) => s.op === op.name);
			const ms = mine.map((s) => s.ms);
			return [op.name, mine.length, mine.filter((s) => s.error).length, percentile(ms, 50), percentile(ms, 99), Math.max(...ms)];
		});
		const all = samples.map((s) => s.ms);
		rows.push(['all operations', samples.length, samples.filter((s) => s.error).length, percentile(all, 50), percentile(all, 99), Math.max(...all)]);
		report(`Load: ${CONCURRENCY} concurrent executions x ${ITEMS} items for ${SECONDS} s (latency = one whole n8n execution, ms)`, ['operation', 'executions', 'errors', 'p50 ms', 'p99 ms', 'max ms'], rows);
		report('Load: connections seen by the server (CLIENT LIST every 250 ms)', ['figure', 'value'], [
			['executions per second', Math.round(samples.length / SECONDS)],
			['max clients in total (incl. the monitor)', maxClients],
			['max shared (pooled) clients', maxShared],
			['max dedicated blocking clients', maxBlocking],
		]);
		const failed = samples.filter((s) => s.error);
		expect(failed.slice(0, 5)).toEqual([]);
		expect(samples.length).toBeGreaterThan(CONCURRENCY);
		// 5 DBs are in use (0-4): one pooled client each, however many executions ran.
		expect(maxShared).toBeLessThanOrEqual(5);
		// Dequeue with timeout 0 never blocks, so no dedicated client is needed at all.
		expect(maxClients).toBeLessThanOrEqual(5 + CONCURRENCY + 1);
	});
});
