/**
 * The output table of docs/RESOURCES.md ("Output keys of every operation") says what each operation really
 * outputs. Every resource/operation pair of the node description is run here through n8n-core's real
 * engine against the real Redis, in the cases that change the shape of its output (hit and miss, held and
 * free, ...), and the keys of its output items are compared with the documented row:
 *   - "always": keys present in every output item of every case;
 *   - "sometimes": keys present in some items only.
 * A new operation without a row here and in the docs fails the test, and so does a row for an operation
 * the node no longer has.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { IDataObject } from 'n8n-workflow';

import { RESOURCES } from '../../nodes/MarketingRedis/resources';
import { sharedPool } from '../../platform/connection-pool';
import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, uniquePrefix } from '../helpers/redis';
import { REPO_ROOT } from '../helpers/redis-server';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const DOC = 'docs/RESOURCES.md';
const START = '<!-- output-keys -->';
const END = '<!-- /output-keys -->';

interface Row {
	always: string[];
	sometimes: string[];
}

/** The rows between the markers: `| Session: Get (`session`/`get`) | `a` `b` | `c` |`. */
function documentedOutputKeys(markdown: string): Map<string, Row> {
	const from = markdown.indexOf(START);
	const to = markdown.indexOf(END);
	if (from < 0 || to < from) throw new Error(`${DOC} has no ${START} ... ${END} table`);
	const rows = new Map<string, Row>();
	const ticks = (cell: string) => [...new Set([...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]))];
	for (const line of markdown.slice(from, to).split('\n')) {
		const cells = line.split('|').slice(1, -1);
		const pair = /`(\w+)`\/`(\w+)`/.exec(cells[0] ?? '');
		if (cells.length !== 3 || !pair) continue;
		const id = `${pair[1]}/${pair[2]}`;
		if (rows.has(id)) throw new Error(`${DOC}: two rows for ${id}`);
		rows.set(id, { always: ticks(cells[1]).sort(), sometimes: ticks(cells[2]).sort() });
	}
	return rows;
}

type Params = Record<string, unknown>;
/** Runs the cases of one operation in order; a case may use what earlier runs output (a token, a lease). */
type Scenario = (run: (resource: string, operation: string, parameters: Params, items?: IDataObject[]) => Promise<IDataObject[]>) => Promise<void>;

const s = (suffix: string) => `${uniquePrefix('outkeys')}${suffix}`;

/**
 * One scenario per operation. `run` runs any operation (setup included); only the outputs of the
 * operation under test are collected.
 */
const SCENARIOS: Record<string, Scenario> = {
	'session/set': async (run) => {
		await run('session', 'set', { sessionId: s('a'), data: '{"a":1}', ttl: 60 });
	},
	'session/get': async (run) => {
		const id = s('a');
		await run('session', 'set', { sessionId: id, data: '{"a":1}', ttl: 60 });
		await run('session', 'get', { sessionId: id });
		await run('session', 'get', { sessionId: s('missing') });
	},
	'session/delete': async (run) => {
		const id = s('a');
		await run('session', 'set', { sessionId: id, data: '{"a":1}', ttl: 60 });
		await run('session', 'delete', { sessionId: id });
		await run('session', 'delete', { sessionId: id });
	},
	'session/refresh': async (run) => {
		const id = s('a');
		await run('session', 'set', { sessionId: id, data: '{"a":1}', ttl: 60 });
		await run('session', 'refresh', { sessionId: id, ttl: 120 });
		await run('session', 'refresh', { sessionId: s('missing'), ttl: 120 });
	},
	'content/cache': async (run) => {
		await run('content', 'cache', { contentId: s('t'), valueType: 'text', text: 'hello', ttl: 60 });
		await run('content', 'cache', { contentId: s('j'), valueType: 'json', json: '{"title":"x"}', ttl: 60 });
	},
	'content/get': async (run) => {
		const id = s('t');
		await run('content', 'cache', { contentId: id, valueType: 'text', text: 'hello', ttl: 60 });
		await run('content', 'get', { contentId: id });
		await run('content', 'get', { contentId: s('missing') });
	},
	'content/delete': async (run) => {
		const id = s('t');
		await run('content', 'cache', { contentId: id, valueType: 'text', text: 'hello', ttl: 60 });
		await run('content', 'delete', { contentId: id });
		await run('content', 'delete', { contentId: id });
	},
	'search/cacheResults': async (run) => {
		await run('search', 'cacheResults', { query: s(' AI trends'), results: '[{"title":"x"}]', ttl: 60 });
	},
	'search/getResults': async (run) => {
		const query = s(' AI trends');
		await run('search', 'cacheResults', { query, results: '[{"title":"x"}]', ttl: 60 });
		await run('search', 'getResults', { query });
		await run('search', 'getResults', { query: s(' nothing') });
	},
	'apiCache/set': async (run) => {
		await run('apiCache', 'set', { namespace: s('ns'), cacheKey: 'k', value: '{"a":1}', ttl: 60 });
	},
	'apiCache/get': async (run) => {
		const namespace = s('ns');
		await run('apiCache', 'set', { namespace, cacheKey: 'k', value: '{"a":1}', ttl: 60 });
		await run('apiCache', 'get', { namespace, cacheKey: 'k' });
		await run('apiCache', 'get', { namespace, cacheKey: 'missing' });
	},
	'apiCache/delete': async (run) => {
		const namespace = s('ns');
		await run('apiCache', 'set', { namespace, cacheKey: 'k', value: '{"a":1}', ttl: 60 });
		await run('apiCache', 'delete', { namespace, cacheKey: 'k' });
		await run('apiCache', 'delete', { namespace, cacheKey: 'k' });
	},
	'rateLimit/check': async (run) => {
		// Three requests against a limit of two: allowed, allowed, limited.
		await run('rateLimit', 'check', { limitKey: s('rl'), maxRequests: 2, windowSeconds: 60 }, [{}, {}, {}]);
		// Waiting adds how long the item waited; a token bucket adds its refill rate.
		await run('rateLimit', 'check', { limitKey: s('rl'), maxRequests: 1, windowSeconds: 60, whenLimited: 'wait', maxWaitSeconds: 0 }, [{}, {}]);
		await run('rateLimit', 'check', { limitKey: s('rl'), algorithm: 'tokenBucket', burst: 2, refillPerSecond: 1 });
	},
	'rateLimit/status': async (run) => {
		const limitKey = s('rl');
		await run('rateLimit', 'status', { limitKey, maxRequests: 2, windowSeconds: 60 });
		await run('rateLimit', 'check', { limitKey, maxRequests: 2, windowSeconds: 60 }, [{}, {}]);
		await run('rateLimit', 'status', { limitKey, maxRequests: 2, windowSeconds: 60 });
		await run('rateLimit', 'status', { limitKey: s('rl'), algorithm: 'tokenBucket', burst: 2, refillPerSecond: 1 });
		await run('rateLimit', 'status', { limitKey: s('rl'), algorithm: 'fixedWindow', maxRequests: 2, windowSeconds: 60 });
	},
	'rateLimit/reset': async (run) => {
		const limitKey = s('rl');
		await run('rateLimit', 'check', { limitKey, maxRequests: 2, windowSeconds: 60 });
		await run('rateLimit', 'reset', { limitKey });
		await run('rateLimit', 'reset', { limitKey });
	},
	'conversation/append': async (run) => {
		const messages = '[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]';
		await run('conversation', 'append', { campaign: s('c'), agent: 'writer', messages, maxLength: 1 });
		await run('conversation', 'append', { format: 'langchain', sessionId: s('lc'), messages });
	},
	'conversation/getHistory': async (run) => {
		const campaign = s('c');
		await run('conversation', 'append', { campaign, agent: 'writer', messages: '[{"role":"user","content":"hi"}]' });
		await run('conversation', 'getHistory', { campaign, agent: 'writer' });
		await run('conversation', 'getHistory', { campaign, agent: 'nobody', returnAll: true });
		await run('conversation', 'getHistory', { format: 'langchain', sessionId: s('lc') });
	},
	'conversation/clear': async (run) => {
		const campaign = s('c');
		await run('conversation', 'append', { campaign, agent: 'writer', messages: '[{"role":"user","content":"hi"}]' });
		await run('conversation', 'clear', { campaign, agent: 'writer' });
		await run('conversation', 'clear', { campaign, agent: 'writer' });
		await run('conversation', 'clear', { format: 'langchain', sessionId: s('lc') });
	},
	'update/publish': async (run) => {
		await run('update', 'publish', { channel: s('ch'), message: '{"a":1}' });
		await run('update', 'publish', { channel: s('ch'), message: '{"a":1}', options: { durable: true } });
	},
	'lock/acquire': async (run) => {
		const lockName = s('l');
		await run('lock', 'acquire', { lockName, lockTtl: 30 });
		await run('lock', 'acquire', { lockName, lockTtl: 30 });
	},
	'lock/release': async (run) => {
		const lockName = s('l');
		const [held] = await run('lock', 'acquire', { lockName, lockTtl: 30 });
		await run('lock', 'release', { lockName, lockToken: 'not-the-token' });
		await run('lock', 'release', { lockName, lockToken: held.token as string });
		await run('lock', 'release', { lockName, lockToken: held.token as string });
	},
	'lock/extend': async (run) => {
		const lockName = s('l');
		const [held] = await run('lock', 'acquire', { lockName, lockTtl: 30 });
		await run('lock', 'extend', { lockName, lockToken: held.token as string, lockTtl: 30 });
		await run('lock', 'extend', { lockName, lockToken: 'not-the-token', lockTtl: 30 });
		await run('lock', 'extend', { lockName: s('free'), lockToken: 'x', lockTtl: 30 });
	},
	'leaderboard/add': async (run) => {
		const leaderboard = s('lb');
		await run('leaderboard', 'add', { leaderboard, member: 'a', score: 5 });
		await run('leaderboard', 'add', { leaderboard, member: 'a', score: 2, scoreMode: 'increment' });
	},
	'leaderboard/top': async (run) => {
		const leaderboard = s('lb');
		await run('leaderboard', 'add', { leaderboard, member: 'a', score: 5 });
		await run('leaderboard', 'top', { leaderboard, topN: 10 });
		await run('leaderboard', 'top', { leaderboard, topN: 10, leaderboardReadOptions: { splitEntries: true } });
	},
	'leaderboard/rank': async (run) => {
		const leaderboard = s('lb');
		await run('leaderboard', 'add', { leaderboard, member: 'a', score: 5 });
		await run('leaderboard', 'rank', { leaderboard, member: 'a' });
		await run('leaderboard', 'rank', { leaderboard, member: 'nobody' });
	},
	'leaderboard/remove': async (run) => {
		const leaderboard = s('lb');
		await run('leaderboard', 'add', { leaderboard, member: 'a', score: 5 });
		await run('leaderboard', 'remove', { leaderboard, member: 'a' });
		await run('leaderboard', 'remove', { leaderboard, member: 'a' });
	},
	'job/enqueue': async (run) => {
		const queue = s('q');
		await run('job', 'enqueue', { queue, payload: '{"a":1}', options: { jobId: 'j1' } });
		await run('job', 'enqueue', { queue, payload: '{"a":1}', options: { jobId: 'j1' } });
		await run('job', 'enqueue', { queue, payload: '{"a":1}', options: { waitForResult: 0.1, errorOnTimeout: false } });
	},
	'job/dequeue': async (run) => {
		const queue = s('q');
		await run('job', 'enqueue', { queue, payload: '{"a":1}' });
		await run('job', 'dequeue', { queue, timeout: 0 });
		await run('job', 'dequeue', { queue, timeout: 0, whenEmpty: 'emptyFlag' });
	},
	'job/complete': async (run) => {
		const queue = s('q');
		await run('job', 'enqueue', { queue, payload: '{"a":1}' });
		const [job] = await run('job', 'dequeue', { queue, timeout: 0 });
		await run('job', 'complete', { queue, jobId: job.id as string, options: { lease: job.lease } });
		await run('job', 'complete', { queue, jobId: job.id as string });
	},
	'job/fail': async (run) => {
		const queue = s('q');
		await run('job', 'enqueue', { queue, payload: '{"a":1}', options: { maxAttempts: 2 } });
		const [first] = await run('job', 'dequeue', { queue, timeout: 0 });
		await run('job', 'fail', { queue, jobId: first.id as string, errorMessage: 'boom' });
		await run('job', 'enqueue', { queue, payload: '{"b":1}', options: { maxAttempts: 1 } });
		const [second] = (await run('job', 'dequeue', { queue, timeout: 0 })).filter((j) => j.id !== first.id);
		if (second) await run('job', 'fail', { queue, jobId: second.id as string, errorMessage: 'boom' });
		await run('job', 'fail', { queue, jobId: 'not-in-flight', errorMessage: 'boom' });
	},
	'job/stats': async (run) => {
		const queue = s('q');
		await run('job', 'stats', { queue });
		await run('job', 'enqueue', { queue, payload: '{"a":1}' });
		await run('job', 'stats', { queue });
	},
	'job/recoverStalled': async (run) => {
		await run('job', 'recoverStalled', { queue: s('q') });
	},
	'job/retryDead': async (run) => {
		const queue = s('q');
		await run('job', 'enqueue', { queue, payload: '{"a":1}', options: { maxAttempts: 1 } });
		const [job] = await run('job', 'dequeue', { queue, timeout: 0 });
		await run('job', 'fail', { queue, jobId: job.id as string, errorMessage: 'boom' });
		await run('job', 'retryDead', { queue });
		await run('job', 'retryDead', { queue });
	},
	'job/purgeDead': async (run) => {
		const queue = s('q');
		await run('job', 'enqueue', { queue, payload: '{"a":1}', options: { maxAttempts: 1 } });
		const [job] = await run('job', 'dequeue', { queue, timeout: 0 });
		await run('job', 'fail', { queue, jobId: job.id as string, errorMessage: 'boom' });
		await run('job', 'purgeDead', { queue });
	},
	'job/sendCeleryTask': async (run) => {
		await run('job', 'sendCeleryTask', { celeryQueue: s('celery'), taskName: 'tasks.generate', args: '[1]', kwargs: '{"a":1}' });
		// No worker runs it: the wait ends with the PENDING state.
		const options = { waitForResult: 0.1, errorOnTimeout: false };
		await run('job', 'sendCeleryTask', { celeryQueue: s('celery'), taskName: 'tasks.generate', args: '[1]', kwargs: '{}', options });
	},
	'job/getResult': async (run) => {
		const queue = s('q');
		await run('job', 'enqueue', { queue, payload: '{"a":1}', options: { jobId: 'done' } });
		const [job] = await run('job', 'dequeue', { queue, timeout: 0 });
		await run('job', 'complete', { queue, jobId: job.id as string, options: { result: '{"ok":true}' } });
		await run('job', 'getResult', { queue, jobId: 'done' });
		await run('job', 'enqueue', { queue, payload: '{"a":1}', options: { jobId: 'dead', maxAttempts: 1 } });
		await run('job', 'dequeue', { queue, timeout: 0 });
		await run('job', 'fail', { queue, jobId: 'dead', errorMessage: 'boom' });
		await run('job', 'getResult', { queue, jobId: 'dead' });
		await run('job', 'getResult', { queue, jobId: 'unknown' });
		await run('job', 'getResult', { queue, jobId: 'unknown', options: { waitForResult: 0.1, errorOnTimeout: false } });
	},
	'job/getCeleryResult': async (run) => {
		const success = s('task-ok').replace(/:/g, '-');
		const failure = s('task-failed').replace(/:/g, '-');
		const meta = (status: string, result: unknown, traceback: string | null) =>
			JSON.stringify({ status, result, traceback, children: [], date_done: '2026-01-31T09:00:00.000000', task_id: 'x' });
		await rawClient(3).set(`celery-task-meta-${success}`, meta('SUCCESS', 5, null), 'EX', 60);
		await rawClient(3).set(`celery-task-meta-${failure}`, meta('FAILURE', { exc_type: 'ValueError', exc_message: ['boom'] }, 'Traceback ...'), 'EX', 60);
		await run('job', 'getCeleryResult', { taskId: success });
		await run('job', 'getCeleryResult', { taskId: failure, options: { includeTraceback: true } });
		await run('job', 'getCeleryResult', { taskId: s('never'), options: { waitForResult: 0.1, errorOnTimeout: false } });
	},
	'server/health': async (run) => {
		await run('server', 'health', {});
	},
};

const OPERATIONS = RESOURCES.flatMap((r) => Object.keys(r.operations).map((op) => `${r.value}/${op}`));
const documented = documentedOutputKeys(readFileSync(join(REPO_ROOT, DOC), 'utf8'));

describe(`output keys documented in ${DOC}`, () => {
	it('the node has the operations this test and the docs know, no more and no fewer', () => {
		expect(OPERATIONS.length).toBeGreaterThanOrEqual(36);
		expect(Object.keys(SCENARIOS).sort()).toEqual([...OPERATIONS].sort());
		expect([...documented.keys()].sort()).toEqual([...OPERATIONS].sort());
	});

	it.each(OPERATIONS)('%s outputs the documented keys', async (id) => {
		const [resource, operation] = id.split('/');
		const scenario = SCENARIOS[id];
		expect(scenario).toBeDefined();
		const outputs: IDataObject[] = [];
		await scenario(async (res, op, parameters, items) => {
			const result = await runNode({ parameters: { resource: res, operation: op, ...parameters }, items: items ?? [{}] });
			if (result.error) throw new Error(`${res}/${op} failed: ${result.error.message}`);
			const out = result.outputs.flat();
			if (res === resource && op === operation) outputs.push(...out);
			return out;
		});
		expect(outputs.length).toBeGreaterThan(0);
		const seen = new Set(outputs.flatMap((o) => Object.keys(o)));
		const always = [...seen].filter((k) => outputs.every((o) => k in o)).sort();
		const sometimes = [...seen].filter((k) => !always.includes(k)).sort();
		expect({ always, sometimes }).toEqual(documented.get(id) ?? { always: [], sometimes: [] });
	});
});
