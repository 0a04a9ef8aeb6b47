import type Redis from 'ioredis';

import { runNode } from '../helpers/n8n';
import { closeRawClients, keysMatching, rawClient, testCredentials, testServer, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';
import { RESOURCES } from '../../nodes/MarketingRedis/resources';

/**
 * The bad-input matrix: every case runs two items, a valid one first and a bad one second,
 * with the bad value coming from an expression. Each must fail with an error that names
 * item 1 and the field, and nothing at all may be written, not even the valid item: the
 * credential's key prefix is unique per case, so a scan of every DB for it finds any key
 * the run left behind.
 */

interface BadCase {
	name: string;
	resource: string;
	operation: string;
	/** Fixed parameters of the operation. */
	params: Record<string, unknown>;
	/** The parameter that varies per item: `$json.v` is good for item 0 and bad for item 1. */
	field: string;
	good: string | number;
	bad: string | number;
	/** The field label the error must name. */
	label: string;
	/** What the message must say about the problem. */
	problem: RegExp;
}

const DBS = [0, 1, 2, 3, 4, 5];
const HUGE = 'x'.repeat(2048);

/** Sets `path` (dotted for collections, e.g. options.maxValueBytes) to an expression reading $json.v. */
function withExpression(params: Record<string, unknown>, path: string): Record<string, unknown> {
	const out: Record<string, unknown> = structuredClone(params);
	const parts = path.split('.');
	let target = out;
	for (const part of parts.slice(0, -1)) {
		target[part] = { ...((target[part] as Record<string, unknown>) ?? {}) };
		target = target[part] as Record<string, unknown>;
	}
	target[parts[parts.length - 1]] = '={{ $json.v }}';
	return out;
}

const session = { sessionId: 'user_1', data: '{"name":"Ann"}', ttl: 60 };
const content = { contentId: 'draft_1', valueType: 'text', text: 'Hello', json: '{}', ttl: 60 };
const search = { query: 'ai marketing trends', results: '[{"title":"x"}]', ttl: 60 };
const apiCache = { namespace: 'competitors', cacheKey: 'acme', value: '{"price":1}', ttl: 60 };
const conversation = {
	format: 'platform',
	campaign: 'campaign_1',
	agent: 'research_agent',
	messages: '[{"role":"user","content":"hi"}]',
	maxLength: 100,
	ttl: 600,
};
const update = { channel: 'content_updates', message: '{"draft_id":1}', options: { durable: true } };
const rate = { limitKey: 'api_linkedin', maxRequests: 10, windowSeconds: 60 };
const lock = { lockName: 'campaign_123', lockTtl: 30, lockToken: 'token-1', waitMs: 0, retryMs: 100 };
const board = { leaderboard: 'top_content', member: 'post_1', score: 1, scoreMode: 'set', topN: 10 };
const job = { queue: 'content_generation', payload: '{"task":"draft"}' };

const CASES: BadCase[] = [
	// Session
	{ name: 'session set: blank ID', resource: 'session', operation: 'set', params: session, field: 'sessionId', good: 'u1', bad: '   ', label: 'Session ID', problem: /is empty/ },
	{ name: 'session set: data is an array', resource: 'session', operation: 'set', params: session, field: 'data', good: '{"a":1}', bad: '[1,2]', label: 'Data', problem: /must be a JSON object/ },
	{ name: 'session set: invalid JSON string', resource: 'session', operation: 'set', params: session, field: 'data', good: '{"a":1}', bad: '{"a":', label: 'Data', problem: /is not valid JSON/ },
	{ name: 'session set: negative TTL', resource: 'session', operation: 'set', params: session, field: 'ttl', good: 60, bad: -5, label: 'TTL (Seconds)', problem: /positive whole number.*got -5/ },
	{ name: 'session set: fractional TTL', resource: 'session', operation: 'set', params: session, field: 'ttl', good: 60, bad: 1.5, label: 'TTL (Seconds)', problem: /got 1\.5/ },
	{ name: 'session set: over the size limit', resource: 'session', operation: 'set', params: { ...session, options: { maxValueBytes: 1024 } }, field: 'data', good: '{"a":1}', bad: JSON.stringify({ big: HUGE }), label: 'Data', problem: /over the limit of 1024 bytes/ },
	{ name: 'session refresh: NaN TTL', resource: 'session', operation: 'refresh', params: session, field: 'ttl', good: 60, bad: 'NaN', label: 'TTL (Seconds)', problem: /positive whole number/ },
	// Content
	{ name: 'content cache: blank ID', resource: 'content', operation: 'cache', params: content, field: 'contentId', good: 'd1', bad: '', label: 'Content ID', problem: /is empty/ },
	{ name: 'content cache: zero TTL', resource: 'content', operation: 'cache', params: content, field: 'ttl', good: 60, bad: 0, label: 'TTL (Seconds)', problem: /got 0/ },
	{ name: 'content cache: invalid JSON value', resource: 'content', operation: 'cache', params: { ...content, valueType: 'json' }, field: 'json', good: '{"a":1}', bad: '{oops}', label: 'JSON', problem: /not valid JSON/ },
	{ name: 'content cache: text over the size limit', resource: 'content', operation: 'cache', params: { ...content, options: { maxValueBytes: 1024 } }, field: 'text', good: 'short', bad: HUGE, label: 'Text', problem: /limit/ },
	// Search cache
	{ name: 'search cache: whitespace-only query', resource: 'search', operation: 'cacheResults', params: search, field: 'query', good: 'ai trends', bad: ' \t  ', label: 'Query', problem: /empty/ },
	{ name: 'search cache: invalid JSON results', resource: 'search', operation: 'cacheResults', params: search, field: 'results', good: '[]', bad: '[1,', label: 'Results', problem: /not valid JSON/ },
	{ name: 'search cache: Infinity TTL', resource: 'search', operation: 'cacheResults', params: search, field: 'ttl', good: 60, bad: 'Infinity', label: 'TTL (Seconds)', problem: /positive whole number/ },
	// API cache
	{ name: 'api cache set: blank namespace', resource: 'apiCache', operation: 'set', params: apiCache, field: 'namespace', good: 'competitors', bad: ' ', label: 'Namespace', problem: /is empty/ },
	{ name: 'api cache set: blank key', resource: 'apiCache', operation: 'set', params: apiCache, field: 'cacheKey', good: 'acme', bad: '', label: 'Key', problem: /is empty/ },
	{ name: 'api cache set: invalid JSON value', resource: 'apiCache', operation: 'set', params: apiCache, field: 'value', good: '{}', bad: '{"a" 1}', label: 'Value', problem: /not valid JSON/ },
	{ name: 'api cache set: negative TTL', resource: 'apiCache', operation: 'set', params: apiCache, field: 'ttl', good: 60, bad: -1, label: 'TTL (Seconds)', problem: /got -1/ },
	// Conversation
	{ name: 'conversation append: blank campaign', resource: 'conversation', operation: 'append', params: conversation, field: 'campaign', good: 'c1', bad: '', label: 'Campaign', problem: /is empty/ },
	{ name: 'conversation append: invalid JSON messages', resource: 'conversation', operation: 'append', params: conversation, field: 'messages', good: '[{"role":"user","content":"a"}]', bad: '[{"role":', label: 'Messages', problem: /not valid JSON/ },
	{ name: 'conversation append: negative max length', resource: 'conversation', operation: 'append', params: conversation, field: 'maxLength', good: 10, bad: -1, label: 'Max Messages', problem: /got -1/ },
	{ name: 'conversation append: negative TTL', resource: 'conversation', operation: 'append', params: conversation, field: 'ttl', good: 600, bad: -1, label: 'TTL (Seconds)', problem: /got -1/ },
	{ name: 'conversation append: blank LangChain session', resource: 'conversation', operation: 'append', params: { ...conversation, format: 'langchain', sessionId: 's1', langchainKeyPrefix: 'message_store:' }, field: 'sessionId', good: 's1', bad: '  ', label: 'Session ID', problem: /is empty/ },
	// Update
	{ name: 'update publish: blank channel', resource: 'update', operation: 'publish', params: update, field: 'channel', good: 'content_updates', bad: '  ', label: 'Channel', problem: /is empty/ },
	{ name: 'update publish: invalid JSON message', resource: 'update', operation: 'publish', params: update, field: 'message', good: '{"a":1}', bad: '{"a":1', label: 'Message', problem: /not valid JSON/ },
	// Rate limit
	{ name: 'rate limit check: blank key', resource: 'rateLimit', operation: 'check', params: rate, field: 'limitKey', good: 'api', bad: '', label: 'Key', problem: /is empty/ },
	{ name: 'rate limit check: zero max requests', resource: 'rateLimit', operation: 'check', params: rate, field: 'maxRequests', good: 5, bad: 0, label: 'Max Requests', problem: /got 0/ },
	{ name: 'rate limit check: fractional max requests', resource: 'rateLimit', operation: 'check', params: rate, field: 'maxRequests', good: 5, bad: 2.5, label: 'Max Requests', problem: /got 2\.5/ },
	{ name: 'rate limit check: negative window', resource: 'rateLimit', operation: 'check', params: rate, field: 'windowSeconds', good: 60, bad: -10, label: 'Window (Seconds)', problem: /got -10/ },
	{ name: 'rate limit check: Infinity window', resource: 'rateLimit', operation: 'check', params: rate, field: 'windowSeconds', good: 60, bad: 'Infinity', label: 'Window (Seconds)', problem: /positive whole number/ },
	{ name: 'rate limit status: NaN window', resource: 'rateLimit', operation: 'status', params: rate, field: 'windowSeconds', good: 60, bad: 'NaN', label: 'Window (Seconds)', problem: /positive whole number/ },
	// Lock
	{ name: 'lock acquire: blank name', resource: 'lock', operation: 'acquire', params: lock, field: 'lockName', good: 'c1', bad: ' ', label: 'Lock Name', problem: /is empty/ },
	{ name: 'lock acquire: zero TTL', resource: 'lock', operation: 'acquire', params: lock, field: 'lockTtl', good: 30, bad: 0, label: 'TTL (Seconds)', problem: /got 0/ },
	{ name: 'lock acquire: negative wait', resource: 'lock', operation: 'acquire', params: lock, field: 'waitMs', good: 0, bad: -1, label: 'Wait Up To (Ms)', problem: /got -1/ },
	{ name: 'lock acquire: NaN retry interval', resource: 'lock', operation: 'acquire', params: lock, field: 'retryMs', good: 100, bad: 'NaN', label: 'Retry Interval (Ms)', problem: /positive whole number/ },
	{ name: 'lock extend: fractional TTL', resource: 'lock', operation: 'extend', params: lock, field: 'lockTtl', good: 30, bad: 1.5, label: 'TTL (Seconds)', problem: /got 1\.5/ },
	{ name: 'lock release: blank token', resource: 'lock', operation: 'release', params: lock, field: 'lockToken', good: 'abc', bad: '', label: 'Token', problem: /is empty/ },
	// Leaderboard
	{ name: 'leaderboard add: NaN score', resource: 'leaderboard', operation: 'add', params: board, field: 'score', good: 3, bad: 'NaN', label: 'Score', problem: /finite number/ },
	{ name: 'leaderboard add: Infinity score', resource: 'leaderboard', operation: 'add', params: board, field: 'score', good: 3, bad: 'Infinity', label: 'Score', problem: /finite number/ },
	{ name: 'leaderboard add: text score', resource: 'leaderboard', operation: 'add', params: board, field: 'score', good: 3, bad: 'high', label: 'Score', problem: /finite number/ },
	{ name: 'leaderboard add: blank member', resource: 'leaderboard', operation: 'add', params: board, field: 'member', good: 'post_1', bad: '', label: 'Member', problem: /is empty/ },
	{ name: 'leaderboard add: unknown mode', resource: 'leaderboard', operation: 'add', params: board, field: 'scoreMode', good: 'set', bad: 'multiply', label: 'Mode', problem: /must be one of/ },
	{ name: 'leaderboard add: negative expiry', resource: 'leaderboard', operation: 'add', params: board, field: 'leaderboardOptions.expireSeconds', good: 60, bad: -3, label: 'Expire After (Seconds)', problem: /got -3/ },
	{ name: 'leaderboard top: zero count', resource: 'leaderboard', operation: 'top', params: board, field: 'topN', good: 5, bad: 0, label: 'Count', problem: /got 0/ },
	// Job queue
	{ name: 'job enqueue: blank queue', resource: 'job', operation: 'enqueue', params: job, field: 'queue', good: 'content_generation', bad: '', label: 'Queue Name', problem: /is empty/ },
	{ name: 'job enqueue: invalid JSON payload', resource: 'job', operation: 'enqueue', params: job, field: 'payload', good: '{"a":1}', bad: '{"a":', label: 'Payload', problem: /not valid JSON/ },
	{ name: 'job enqueue: negative priority', resource: 'job', operation: 'enqueue', params: job, field: 'options.priority', good: 1, bad: -1, label: 'Priority', problem: /got -1/ },
];

const REGISTERED = new Set(RESOURCES.map((r) => r.value));
const ACTIVE = CASES.filter((c) => REGISTERED.has(c.resource));

let raws: Redis[] = [];

beforeAll(() => {
	raws = DBS.map((db) => rawClient(db));
});

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

/** Every key in DBs 0-5 that carries the prefix anywhere (queue keys start with a hash tag "{"). */
async function keysWithPrefix(prefix: string): Promise<string[]> {
	const found = await Promise.all(raws.map((raw, i) => keysMatching(raw, `*${prefix}*`).then((keys) => keys.map((k) => `db${DBS[i]}:${k}`))));
	return found.flat();
}

function escapeRegExp(text: string): string {
	return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('bad-input matrix', () => {
	it('covers at least 30 cases across every registered resource that takes input', () => {
		expect(ACTIVE.length).toBeGreaterThanOrEqual(30);
		const covered = new Set(ACTIVE.map((c) => c.resource));
		for (const resource of ['session', 'rateLimit', 'lock', 'leaderboard']) expect(covered).toContain(resource);
		// Every registered resource except the read-only server health has cases.
		for (const resource of REGISTERED) if (resource !== 'server') expect(covered).toContain(resource);
	});

	it.each(ACTIVE.map((c) => [c.name, c] as const))('%s: clear error naming item 1 and the field, nothing written', async (_name, c) => {
		const prefix = uniquePrefix('bad');
		expect(await keysWithPrefix(prefix)).toEqual([]);
		const result = await runNode({
			credentials: testCredentials({ keyPrefix: prefix }) as never,
			credentialId: `bad-input-${c.resource}`,
			parameters: { resource: c.resource, operation: c.operation, ...withExpression(c.params, c.field) },
			items: [{ v: c.good }, { v: c.bad }],
		});
		expect(result.error).toBeDefined();
		const message = result.error!.message;
		expect(message).toMatch(new RegExp(`^"${escapeRegExp(c.label)}" .* \\[item 1\\]$`));
		expect(message).toMatch(c.problem);
		// No stack or raw driver text, and never the password.
		expect(message).not.toMatch(/\n\s+at /);
		const password = testServer().password;
		if (password) expect(`${message} ${result.error!.description ?? ''}`).not.toContain(password);
		expect(await keysWithPrefix(prefix)).toEqual([]);
	});

	it('with continueOnFail, writes the good item only and pairs the error with the bad one', async () => {
		const prefix = uniquePrefix('bad');
		const result = await runNode({
			continueOnFail: true,
			credentials: testCredentials({ keyPrefix: prefix }) as never,
			credentialId: 'bad-input-continue',
			parameters: { resource: 'rateLimit', operation: 'check', ...withExpression(rate, 'maxRequests') },
			items: [{ v: 5 }, { v: -1 }],
		});
		expect(result.error).toBeUndefined();
		expect(result.outputs[0][0]).toMatchObject({ allowed: true });
		expect(result.outputs[0][1].error).toMatch(/^"Max Requests" .* \[item 1\]$/);
		expect(result.items[0][1].pairedItem).toEqual({ item: 1 });
		expect(await keysWithPrefix(prefix)).toEqual([`db4:${prefix}ratelimit:api_linkedin`]);
		await raws[4].del(`${prefix}ratelimit:api_linkedin`);
	});
});
