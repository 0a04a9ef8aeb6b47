/**
 * 1. Batch operations through the node's real execute path (n8n-core's WorkflowExecute), with
 *    1, 100 and 10,000 items per execution, against
 *    - Baseline A: the built-in Redis node's pattern (new client per execution, one awaited
 *      command per item), run through the same WorkflowExecute;
 *    - Baseline B: raw ioredis with an explicit pipeline, no n8n;
 *    - the limit: redis-benchmark -P 16.
 * 2. Executions per second for single-item executions are the 1-item rows.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { KeySchema } from '../../platform/keys';
import { prepareEnqueue, sendEnqueue } from '../../platform/queue';
import { sendRateLimitCheck } from '../../platform/rate-limit';
import type { Redis } from '../../platform/redis-driver';
import { RESOURCES } from '../../nodes/MarketingRedis/resources';
import { BenchWorkflow, BASELINE_NODE, OUR_NODE } from '../lib/n8n-runner';
import type { BenchServer } from '../lib/server';
import type { Limit } from '../lib/redis-benchmark';
import { fmtPct, fmtRate, fmtRatio, median, nowMs, ratio } from '../lib/stats';
import type { Section } from '../lib/report';

const keys = new KeySchema('');
const QUEUE_OURS = 'bench_ours';
const QUEUE_A = 'bench_builtin';

export interface BatchItem extends IDataObject {
	id: string;
	user: string;
	data: IDataObject;
	body: string;
}

export function benchItems(n: number): BatchItem[] {
	return Array.from({ length: n }, (_, i) => ({
		id: `bench:${i}`,
		user: `bench-user-${i % 1000}`,
		data: { name: `User ${i}`, role: 'member', campaign: 'spring-launch', step: i % 7, consent: true },
		body: `Draft ${i}: ten ways AI changes B2B marketing in 2026. `.repeat(3),
	}));
}

interface Scenario {
	name: string;
	resource: string;
	operation: string;
	db: number;
	limit: 'set' | 'get';
	ours: Record<string, unknown>;
	baselineA: Record<string, unknown>;
	/** Baseline B: the same commands as ours, queued by hand on one pipeline. */
	baselineB(pipe: ReturnType<Redis['pipeline']>, item: BatchItem): void;
	/** Throws unless the node's output and Redis's state are right. */
	check(outputs: INodeExecutionData[][], raw: Redis): Promise<void>;
	/** Runs once before the scenario (e.g. sessions to read). */
	prepare?(raw: Redis, items: BatchItem[]): Promise<void>;
	cleanup?(raw: Redis): Promise<void>;
	/** What Baseline A does differently, for the report. */
	baselineNote: string;
}

function fail(what: string): never {
	throw new Error(what);
}

async function deletePattern(raw: Redis, pattern: string): Promise<void> {
	let cursor = '0';
	do {
		const [next, found] = await raw.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
		cursor = next;
		if (found.length > 0) await raw.unlink(...found);
	} while (cursor !== '0');
}

const SCENARIOS: Scenario[] = [
	{
		name: 'Set Session',
		resource: 'session',
		operation: 'set',
		db: 0,
		limit: 'set',
		ours: { resource: 'session', operation: 'set', sessionId: '={{ $json.id }}', data: '={{ $json.data }}', ttl: 3600 },
		baselineA: {
			operation: 'set',
			database: 0,
			key: '={{ "session:" + $json.id }}',
			value: '={{ JSON.stringify($json.data) }}',
			keyType: 'string',
			expire: true,
			ttl: 3600,
		},
		baselineB: (pipe, item) => void pipe.set(keys.session(item.id), JSON.stringify(item.data), 'EX', 3600),
		async check(outputs, raw) {
			if (outputs[0][0].json.stored !== true) fail('Set Session output lacks stored: true');
			const value = await raw.get(keys.session('bench:0'));
			if (value !== JSON.stringify(benchItems(1)[0].data)) fail(`session:bench:0 holds ${value}`);
			if ((await raw.ttl(keys.session('bench:0'))) <= 0) fail('session:bench:0 has no TTL');
		},
		baselineNote: 'SET, then a separate awaited EXPIRE (the built-in node\'s "Expire" option)',
	},
	{
		name: 'Get Session',
		resource: 'session',
		operation: 'get',
		db: 0,
		limit: 'get',
		ours: { resource: 'session', operation: 'get', sessionId: '={{ $json.id }}' },
		baselineA: { operation: 'get', database: 0, key: '={{ "session:" + $json.id }}', keyType: 'string', propertyName: 'session' },
		baselineB: (pipe, item) => void pipe.get(keys.session(item.id)).ttl(keys.session(item.id)),
		async prepare(raw, items) {
			const pipe = raw.pipeline();
			for (const item of items) pipe.set(keys.session(item.id), JSON.stringify(item.data), 'EX', 3600);
			await pipe.exec();
		},
		async check(outputs) {
			const first = outputs[0][0].json;
			if (first.found !== true || (first.data as IDataObject)?.name !== 'User 0') fail(`Get Session returned ${JSON.stringify(first)}`);
		},
		baselineNote: 'GET (keyType "string"); ours also reads the TTL and parses the JSON',
	},
	{
		name: 'Cache Content',
		resource: 'content',
		operation: 'cache',
		db: 1,
		limit: 'set',
		ours: { resource: 'content', operation: 'cache', contentId: '={{ $json.id }}', valueType: 'text', text: '={{ $json.body }}', ttl: 86400 },
		baselineA: {
			operation: 'set',
			database: 1,
			key: '={{ "content:" + $json.id }}',
			value: '={{ $json.body }}',
			keyType: 'string',
			expire: true,
			ttl: 86400,
		},
		baselineB: (pipe, item) => void pipe.set(keys.content(item.id), item.body, 'EX', 86400),
		async check(outputs, raw) {
			if (outputs[0][0].json.stored !== true) fail('Cache Content output lacks stored: true');
			if ((await raw.get(keys.content('bench:0'))) !== benchItems(1)[0].body) fail('content:bench:0 differs');
		},
		baselineNote: 'SET, then a separate awaited EXPIRE',
	},
	{
		name: 'Check Rate Limit',
		resource: 'rateLimit',
		operation: 'check',
		db: 4,
		limit: 'set',
		ours: { resource: 'rateLimit', operation: 'check', limitKey: '={{ $json.user }}', maxRequests: 1_000_000, windowSeconds: 10 },
		baselineA: { operation: 'incr', database: 4, key: '={{ "ratelimit-fixed:" + $json.user }}', expire: true, ttl: 10 },
		baselineB: (pipe, item) =>
			void sendRateLimitCheck(pipe, keys.rateLimit(item.user), { maxRequests: 1_000_000, windowMs: 10_000 }, true),
		async check(outputs) {
			const first = outputs[0][0].json;
			if (first.allowed !== true || typeof first.remaining !== 'number') fail(`Check Rate Limit returned ${JSON.stringify(first)}`);
		},
		async cleanup(raw) {
			await deletePattern(raw, 'ratelimit:bench-user-*');
			await deletePattern(raw, 'ratelimit-fixed:bench-user-*');
		},
		baselineNote: 'INCR then EXPIRE: a fixed-window counter, weaker than our exact sliding window (one Lua script)',
	},
	{
		name: 'Enqueue',
		resource: 'job',
		operation: 'enqueue',
		db: 3,
		limit: 'set',
		ours: { resource: 'job', operation: 'enqueue', queue: QUEUE_OURS, payload: '={{ $json.data }}' },
		baselineA: { operation: 'push', database: 3, key: `queue:${QUEUE_A}`, value: '={{ JSON.stringify($json.data) }}' },
		baselineB: (pipe, item) => void sendEnqueue(pipe, keys.queue(QUEUE_OURS), prepareEnqueue({ payload: item.data })),
		async check(outputs, raw) {
			const first = outputs[0][0].json;
			if (first.enqueued !== true || typeof first.jobId !== 'string' && typeof first.id !== 'string') {
				fail(`Enqueue returned ${JSON.stringify(first)}`);
			}
			if ((await raw.exists(keys.queue(QUEUE_OURS).waiting)) !== 1) fail('the queue list is missing');
		},
		async cleanup(raw) {
			const q = keys.queue(QUEUE_OURS);
			await raw.unlink(...Object.values(q).filter((k): k is string => typeof k === 'string'));
			await raw.unlink(`queue:${QUEUE_A}`);
		},
		baselineNote: 'LPUSH of the JSON (the built-in "Push"); ours writes a job envelope with id, attempts and de-duplication in one Lua script',
	},
];

export interface BatchRow {
	scenario: string;
	items: number;
	ours: number;
	a: number;
	b: number;
	limit: number;
}

export interface BatchOptions {
	sizes: number[];
	/** Timed rounds per size; each round times every variant once, interleaved. */
	rounds: (size: number) => { ours: number; a: number; b: number };
	/** Calls per timed sample, so that small executions are timed over a measurable span. */
	calls: (size: number) => { ours: number; a: number; b: number };
	log: (line: string) => void;
	/** Single-item executions of ours and A before anything is measured. */
	warmup: number;
}

type Variant = 'ours' | 'a' | 'b';

async function timeCalls(fn: () => Promise<void>, calls: number, opsPerCall: number): Promise<number> {
	const start = nowMs();
	for (let c = 0; c < calls; c++) await fn();
	return (opsPerCall * calls * 1000) / Math.max(nowMs() - start, 1e-3);
}

export function available(resource: string, operation: string): boolean {
	return Boolean(RESOURCES.find((r) => r.value === resource)?.operations[operation]);
}

export async function runBatchSuite(
	server: BenchServer,
	limit: Limit | undefined,
	options: BatchOptions,
): Promise<{ rows: BatchRow[]; skipped: string[]; notes: string[] }> {
	const rows: BatchRow[] = [];
	const skipped: string[] = [];
	const notes: string[] = [];
	const credentials = server.credentials() as never;
	// Warm n8n-core's and our code paths once for all scenarios, so that the first one measured
	// is not the one that pays for the JIT.
	const [first] = SCENARIOS;
	const warmItems = benchItems(1);
	const warmOurs = new BenchWorkflow({ nodeType: OUR_NODE, parameters: first.ours, items: warmItems, credentials });
	const warmA = new BenchWorkflow({ nodeType: BASELINE_NODE, parameters: first.baselineA, items: warmItems, credentials });
	for (let i = 0; i < options.warmup; i++) {
		await warmOurs.runChecked(1);
		await warmA.runChecked(1);
	}
	for (const scenario of SCENARIOS) {
		if (!available(scenario.resource, scenario.operation)) {
			skipped.push(`${scenario.name} (resource "${scenario.resource}" has no "${scenario.operation}" operation yet)`);
			continue;
		}
		const raw = server.raw(scenario.db);
		notes.push(`${scenario.name}, Baseline A: ${scenario.baselineNote}.`);
		try {
			for (const size of options.sizes) {
				const items = benchItems(size);
				if (scenario.prepare) await scenario.prepare(raw, items);
				const ours = new BenchWorkflow({ nodeType: OUR_NODE, parameters: scenario.ours, items, credentials });
				const a = new BenchWorkflow({ nodeType: BASELINE_NODE, parameters: scenario.baselineA, items, credentials });
				const runB = async () => {
					const pipe = raw.pipeline();
					for (const item of items) scenario.baselineB(pipe, item);
					const replies = (await pipe.exec()) ?? [];
					const failed = replies.find(([err]) => err);
					if (failed) throw failed[0] as Error;
				};
				// Warm-up (JIT, connections, script loading) and correctness checks.
				await scenario.check(await ours.runChecked(size), raw);
				await a.runChecked(size);
				await runB();
				const warm = size === 1 ? 50 : size <= 100 ? 5 : 0;
				for (let i = 0; i < warm; i++) {
					await ours.runChecked(size);
					await a.runChecked(size);
				}
				const fns: Record<Variant, () => Promise<void>> = {
					ours: async () => void (await ours.runChecked(size)),
					a: async () => void (await a.runChecked(size)),
					b: runB,
				};
				const rounds = options.rounds(size);
				const calls = options.calls(size);
				const samples: Record<Variant, number[]> = { ours: [], a: [], b: [] };
				const most = Math.max(rounds.ours, rounds.a, rounds.b);
				for (let r = 0; r < most; r++) {
					for (const v of ['ours', 'a', 'b'] as Variant[]) {
						if (r < rounds[v]) samples[v].push(await timeCalls(fns[v], calls[v], size));
					}
				}
				const row: BatchRow = {
					scenario: scenario.name,
					items: size,
					ours: median(samples.ours),
					a: median(samples.a),
					b: median(samples.b),
					limit: limit ? limit[scenario.limit] : Number.NaN,
				};
				rows.push(row);
				options.log(
					`  ${scenario.name} x${size}: ours ${fmtRate(row.ours)}/s, A ${fmtRate(row.a)}/s, B ${fmtRate(row.b)}/s  (our/A ${fmtRatio(ratio(row.ours, row.a))})`,
				);
			}
		} finally {
			if (scenario.cleanup) await scenario.cleanup(raw);
			await raw.quit();
		}
	}
	return { rows, skipped, notes };
}

export function batchSection(result: { rows: BatchRow[]; skipped: string[]; notes: string[] }, limit: Limit | undefined): Section {
	return {
		title: '1. Batch operations through the node (ops/s, items per second)',
		intro: [
			'Each execution runs `Items -> Marketing Redis` through n8n-core\'s `WorkflowExecute`, with per-item expressions',
			'(`={{ $json.id }}`, `={{ $json.data }}`), as a workflow builder would set the fields. **A** is the built-in Redis node\'s',
			'pattern run through the same `WorkflowExecute` (a new client per execution: connect, AUTH, SELECT, PING; one awaited',
			'command per item; QUIT), **B** is raw ioredis with one explicit pipeline and no n8n, and **limit** is',
			`${limit ? `\`${limit.command}\`` : 'redis-benchmark (not available)'}: SET for writes, GET for reads.`,
		].join(' '),
		head: ['Operation', 'Items', 'Ours', 'A (built-in pattern)', 'B (raw pipeline)', 'Limit', 'our/A', 'our/B', 'our/limit', 'B/A'],
		rows: result.rows.map((r) => [
			r.scenario,
			r.items.toLocaleString('en-US'),
			fmtRate(r.ours),
			fmtRate(r.a),
			fmtRate(r.b),
			fmtRate(r.limit),
			fmtRatio(ratio(r.ours, r.a)),
			fmtPct(ratio(r.ours, r.b)),
			fmtPct(ratio(r.ours, r.limit)),
			fmtRatio(ratio(r.b, r.a)),
		]),
		notes: [
			...result.notes,
			'Get Session sends GET and TTL per item, so its B and limit compare per item, not per command.',
			'B/A is what raw pipelining with no n8n at all reaches against A: our/A cannot exceed it by much. Where the server-side work is a Lua script (rate limit, enqueue), Redis itself is the bottleneck and B/A is small.',
			...result.skipped.map((s) => `Not measured: ${s}.`),
		],
	};
}
