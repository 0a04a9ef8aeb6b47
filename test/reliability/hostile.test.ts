/**
 * 5. Hostile input across every operation. Each case runs with its own credential key prefix
 * and must end in either a clear error (naming the item and the field or the action) or a
 * correct literal result. Every DB is scanned before and after: a case may only leave the
 * keys it is expected to write, and an error case none at all.
 */
import type Redis from 'ioredis';
import type { IDataObject } from 'n8n-workflow';
import { randomBytes } from 'node:crypto';

import { sharedPool } from '../../platform/connection-pool';
import { KeySchema, searchHash } from '../../platform/keys';
import { runNode, type RunNodeResult } from '../helpers/n8n';
import type { RedisServerHandle } from '../helpers/redis-server';
import { credentialsFor, raw, report, scanKeys, startServer, stopAll } from './support';

/** Every character that means something to Lua, to RESP or to a glob, in one string. */
const LUA = `q"'\\]]--[[%s%d\0\n\r;return redis.call('FLUSHALL')--*?[a]{x}`;
const HUGE = 'x'.repeat(2 * 1024 * 1024);
/** A session object whose one field is an array nested 5,000 deep. */
const DEEP = `{"d":${'['.repeat(5000)}${']'.repeat(5000)}}`;
/** A validation error of the first item: `"Field" problem [item 0]` (the problem may quote a value with newlines). */
const FIELD = (field: string) => new RegExp(`^"${field.replace(/[()]/g, '\\$&')}" [\\s\\S]* \\[item 0\\]$`);

let server: RedisServerHandle;
const clients = new Map<number, Redis>();
const db = (n: number) => {
	if (!clients.has(n)) clients.set(n, raw(server, n));
	return clients.get(n) as Redis;
};

beforeAll(async () => {
	server = await startServer();
});

afterAll(async () => {
	await sharedPool.closeAll();
	await stopAll();
});

async function allKeys(): Promise<Set<string>> {
	const out = new Set<string>();
	for (let n = 0; n < 16; n++) for (const key of await scanKeys(db(n))) out.add(`${n}/${key}`);
	return out;
}

interface Ctx {
	/** This case's key prefix (the credential's Key Prefix). */
	P: string;
	k: KeySchema;
	result: RunNodeResult;
}

interface Case {
	name: string;
	parameters: Record<string, unknown>;
	items?: IDataObject[];
	/** Writes made before the node runs (raw, as the Python side would), as db/key. */
	setup?: (c: Omit<Ctx, 'result'>) => Promise<string[]>;
	/** The node must fail with this message. */
	error?: RegExp;
	/** With `error`: a correct literal result (checked by `allowed` and `check`) is fine too. */
	orLiteral?: boolean;
	/** db/key entries the node may create. */
	allowed?: (c: Omit<Ctx, 'result'>) => string[];
	check?: (c: Ctx) => Promise<void> | void;
}

const session = (id: unknown, extra: Record<string, unknown> = {}) => ({
	resource: 'session',
	operation: 'set',
	sessionId: '={{ $json.id }}',
	data: '{"a":1}',
	ttl: 60,
	...extra,
	_id: id,
});

function withItem(parameters: Record<string, unknown>): { parameters: Record<string, unknown>; items?: IDataObject[] } {
	if (!('_id' in parameters)) return { parameters };
	const { _id, ...rest } = parameters;
	return { parameters: rest, items: [{ id: _id as string }] };
}

/** A session id that is used as it is, or (`stored`) with only its surrounding whitespace trimmed. */
const literalSession = (id: string, stored = id): Case => ({
	name:
		stored === id
			? `session id ${JSON.stringify(id)} is a literal key`
			: `session id ${JSON.stringify(id)} is the key ${JSON.stringify(stored)}: trimmed around, literal inside`,
	...withItem(session(id)),
	allowed: ({ k }) => [`0/${k.session(stored)}`],
	check: async ({ k, result }) => {
		expect(result.outputs[0][0]).toMatchObject({ stored: true, sessionId: stored });
		expect(await db(0).exists(k.session(stored))).toBe(1);
	},
});

const cases: Case[] = [
	// ---- Session -------------------------------------------------------------------------------
	{ name: 'session over 1 MB', ...withItem(session('big', { data: `={{ JSON.stringify({ v: "${'x'.repeat(16)}".repeat(70000) }) }}` })), error: FIELD('Data') },
	{
		name: 'session JSON nested 5,000 deep: stored exactly or refused by name',
		error: FIELD('Data'),
		orLiteral: true,
		parameters: { resource: 'session', operation: 'set', sessionId: 'deep', data: '={{ $json.data }}', ttl: 60 },
		items: [{ data: DEEP }],
		allowed: ({ k }) => [`0/${k.session('deep')}`],
		check: async ({ k }) => {
			const text = (await db(0).get(k.session('deep'))) as string;
			expect(text).toBe(DEEP);
		},
	},
	{ name: 'session data that is an array', ...withItem(session('arr', { data: '[1,2]' })), error: FIELD('Data') },
	{ name: 'session data that is not JSON', ...withItem(session('bad', { data: '{"a":' })), error: FIELD('Data') },
	{ name: 'session TTL NaN', ...withItem(session('nan', { ttl: '={{ NaN }}' })), error: FIELD('TTL (Seconds)') },
	{ name: 'session TTL Infinity', ...withItem(session('inf', { ttl: '={{ Infinity }}' })), error: FIELD('TTL (Seconds)') },
	{ name: 'session TTL -5', ...withItem(session('neg', { ttl: -5 })), error: /^"TTL \(Seconds\)" must be a positive whole number.*got -5 \[item 0\]$/ },
	{ name: 'session TTL 1.5', ...withItem(session('frac', { ttl: 1.5 })), error: FIELD('TTL (Seconds)') },
	{ name: 'session TTL "10s"', ...withItem(session('str', { ttl: '10s' })), error: FIELD('TTL (Seconds)') },
	{ name: 'session id empty', ...withItem(session('')), error: FIELD('Session ID') },
	{ name: 'session id only spaces', ...withItem(session('   ')), error: FIELD('Session ID') },
	{ name: 'session id over 1 KB', ...withItem(session('i'.repeat(2000))), error: FIELD('Session ID') },
	literalSession('user*'),
	literalSession('user?'),
	literalSession('[a-z]*'),
	literalSession('line\nbreak\r\n', 'line\nbreak'),
	literalSession('with space\tand tab'),
	literalSession('nul\0byte'),
	literalSession(LUA),
	{
		name: 'session __proto__ payload is stored as plain data, no pollution',
		...withItem(session('proto', { data: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"a":1}' })),
		allowed: ({ k }) => [`0/${k.session('proto')}`],
		check: async ({ k }) => {
			expect(({} as Record<string, unknown>).polluted).toBeUndefined();
			const stored = JSON.parse((await db(0).get(k.session('proto'))) as string) as Record<string, unknown>;
			expect(Object.prototype.hasOwnProperty.call(stored, '__proto__')).toBe(true);
			expect(stored.a).toBe(1);
		},
	},
	{
		name: 'session Get "user*" does not match user1 (no glob)',
		parameters: { resource: 'session', operation: 'get', sessionId: 'user*' },
		setup: async ({ k }) => {
			await db(0).set(k.session('user1'), '{"x":1}');
			return [`0/${k.session('user1')}`];
		},
		check: ({ result }) => expect(result.outputs[0][0]).toMatchObject({ found: false }),
	},
	{
		name: 'session Delete "*" deletes nothing else',
		parameters: { resource: 'session', operation: 'delete', sessionId: '*' },
		setup: async ({ k }) => {
			await db(0).set(k.session('keep'), '{}');
			return [`0/${k.session('keep')}`];
		},
		check: async ({ k, result }) => {
			expect(result.outputs[0][0]).toMatchObject({ deleted: false });
			expect(await db(0).exists(k.session('keep'))).toBe(1);
		},
	},
	{
		name: 'session Get of invalid UTF-8 written by another client',
		parameters: { resource: 'session', operation: 'get', sessionId: 'bin' },
		setup: async ({ k }) => {
			await db(0).set(k.session('bin'), Buffer.from([0xff, 0xfe, 0x7b, 0xc3]));
			return [`0/${k.session('bin')}`];
		},
		check: ({ result }) => {
			expect(result.error).toBeUndefined();
			expect(result.outputs[0][0]).toMatchObject({ found: true });
		},
	},
	{
		name: 'session ids with lone surrogates (no UTF-8 form, would collide as U+FFFD) are refused',
		parameters: { resource: 'session', operation: 'set', sessionId: '={{ $json.id }}', data: '={{ JSON.stringify({ n: $json.n }) }}', ttl: 60 },
		items: [{ id: 'a\ud800', n: 1 }, { id: 'a\udfff', n: 2 }],
		error: FIELD('Session ID'),
	},
	{ name: 'session refresh TTL 0', parameters: { resource: 'session', operation: 'refresh', sessionId: 'x', ttl: 0 }, error: FIELD('TTL (Seconds)') },

	// ---- Content, search and API cache -----------------------------------------------------------
	{
		name: 'content text with Lua/RESP characters round-trips exactly',
		parameters: { resource: 'content', operation: 'cache', contentId: LUA, valueType: 'text', text: `={{ ${JSON.stringify(LUA)} }}`, ttl: 60 },
		allowed: ({ k }) => [`1/${k.content(LUA)}`],
		check: async ({ k }) => {
			expect(await db(1).get(k.content(LUA))).toBe(LUA);
			expect(await db(1).ttl(k.content(LUA))).toBeGreaterThan(0);
		},
	},
	{ name: 'content over 1 MB', parameters: { resource: 'content', operation: 'cache', contentId: 'big', valueType: 'text', text: `={{ "x".repeat(${HUGE.length}) }}`, ttl: 60 }, error: FIELD('Text') },
	{ name: 'content TTL Infinity', parameters: { resource: 'content', operation: 'cache', contentId: 'c', valueType: 'text', text: 'x', ttl: '={{ Infinity }}' }, error: FIELD('TTL (Seconds)') },
	{ name: 'content JSON invalid', parameters: { resource: 'content', operation: 'cache', contentId: 'c', valueType: 'json', json: '{"a":}', ttl: 60 }, error: FIELD('JSON') },
	{
		name: 'search query made of glob characters is hashed literally',
		parameters: { resource: 'search', operation: 'cacheResults', query: '  *?[]  ', results: '[{"t":1}]', ttl: 60 },
		allowed: ({ k }) => [`2/${k.search('*?[]')}`],
		check: async ({ P }) => {
			expect(await db(2).exists(`${P}search:${searchHash('*?[]')}`)).toBe(1);
		},
	},
	{ name: 'search query only whitespace', parameters: { resource: 'search', operation: 'getResults', query: '={{ "  \\t " }}' }, error: FIELD('Query') },
	{ name: 'search TTL negative', parameters: { resource: 'search', operation: 'cacheResults', query: 'q', results: '[]', ttl: -1 }, error: FIELD('TTL (Seconds)') },
	{
		name: 'API cache namespace and key with ":" and "*" stay literal',
		parameters: { resource: 'apiCache', operation: 'set', namespace: 'comp:*', cacheKey: '*', value: '{"__proto__":{"x":1}}', ttl: 60 },
		allowed: ({ k }) => [`2/${k.apiCache('comp:*', '*')}`],
		check: async ({ k }) => expect(await db(2).get(k.apiCache('comp:*', '*'))).toBe('{"__proto__":{"x":1}}'),
	},
	{
		name: 'API cache Delete key "*" deletes only the literal',
		parameters: { resource: 'apiCache', operation: 'delete', namespace: 'n', cacheKey: '*' },
		setup: async ({ k }) => {
			await db(2).set(k.apiCache('n', 'a'), '1', 'EX', 60);
			return [`2/${k.apiCache('n', 'a')}`];
		},
		check: async ({ k }) => expect(await db(2).exists(k.apiCache('n', 'a'))).toBe(1),
	},

	// ---- Rate limit (Lua) ------------------------------------------------------------------------
	{
		name: 'rate limit key with Lua characters',
		parameters: { resource: 'rateLimit', operation: 'check', limitKey: LUA, maxRequests: 2, windowSeconds: 60 },
		allowed: ({ k }) => [`4/${k.rateLimit(LUA)}`],
		check: async ({ k, result }) => {
			expect(result.outputs[0][0]).toMatchObject({ allowed: true, remaining: 1 });
			expect(await db(4).zcard(k.rateLimit(LUA))).toBe(1);
		},
	},
	{ name: 'rate limit max requests -1', parameters: { resource: 'rateLimit', operation: 'check', limitKey: 'r', maxRequests: -1, windowSeconds: 60 }, error: FIELD('Max Requests') },
	{ name: 'rate limit max requests NaN', parameters: { resource: 'rateLimit', operation: 'check', limitKey: 'r', maxRequests: '={{ NaN }}', windowSeconds: 60 }, error: FIELD('Max Requests') },
	{ name: 'rate limit window Infinity', parameters: { resource: 'rateLimit', operation: 'check', limitKey: 'r', maxRequests: 5, windowSeconds: '={{ Infinity }}' }, error: FIELD('Window (Seconds)') },
	{ name: 'rate limit window 0', parameters: { resource: 'rateLimit', operation: 'status', limitKey: 'r', maxRequests: 5, windowSeconds: 0 }, error: FIELD('Window (Seconds)') },

	// ---- Lock (Lua) ------------------------------------------------------------------------------
	{
		name: 'lock name with Lua characters; release with a wrong Lua-laden token keeps it',
		parameters: { resource: 'lock', operation: 'release', lockName: LUA, lockToken: `${LUA}'"` },
		setup: async ({ k }) => {
			await db(0).set(k.lock(LUA), 'real-token', 'PX', 60_000);
			return [`0/${k.lock(LUA)}`];
		},
		check: async ({ k, result }) => {
			expect(result.outputs[0][0]).toMatchObject({ released: false, outcome: 'notOwner' });
			expect(await db(0).get(k.lock(LUA))).toBe('real-token');
		},
	},
	{
		name: 'lock acquire with Lua characters in the name',
		parameters: { resource: 'lock', operation: 'acquire', lockName: LUA, lockTtl: 5 },
		allowed: ({ k }) => [`0/${k.lock(LUA)}`],
		check: async ({ k, result }) => {
			expect(result.outputs[0][0]).toMatchObject({ acquired: true });
			// The value ends with the holder's token (a lease may prefix its deadline: "<ms>:<token>").
			expect((await db(0).get(k.lock(LUA)))?.endsWith(`${result.outputs[0][0].token as string}`)).toBe(true);
		},
	},
	{ name: 'lock release with token "*"', parameters: { resource: 'lock', operation: 'release', lockName: 'l', lockToken: '*' }, check: ({ result }) => expect(result.outputs[0][0]).toMatchObject({ released: false }) },
	{ name: 'lock TTL NaN', parameters: { resource: 'lock', operation: 'acquire', lockName: 'l', lockTtl: '={{ NaN }}' }, error: FIELD('TTL (Seconds)') },
	{ name: 'lock TTL -1', parameters: { resource: 'lock', operation: 'acquire', lockName: 'l', lockTtl: -1 }, error: FIELD('TTL (Seconds)') },
	{ name: 'lock wait negative', parameters: { resource: 'lock', operation: 'acquire', lockName: 'l', lockTtl: 5, waitMs: -10 }, error: FIELD('Wait Up To (Ms)') },

	// ---- Leaderboard -----------------------------------------------------------------------------
	{ name: 'leaderboard score NaN', parameters: { resource: 'leaderboard', operation: 'add', leaderboard: 'b', member: 'm', score: '={{ NaN }}' }, error: FIELD('Score') },
	{ name: 'leaderboard score Infinity', parameters: { resource: 'leaderboard', operation: 'add', leaderboard: 'b', member: 'm', score: '={{ Infinity }}' }, error: FIELD('Score') },
	{ name: 'leaderboard score "abc"', parameters: { resource: 'leaderboard', operation: 'add', leaderboard: 'b', member: 'm', score: 'abc' }, error: FIELD('Score') },
	{ name: 'leaderboard top -3', parameters: { resource: 'leaderboard', operation: 'top', leaderboard: 'b', topN: -3 }, error: FIELD('Count') },
	{
		name: 'leaderboard name "*" and member with NUL and Lua characters are literal',
		parameters: { resource: 'leaderboard', operation: 'add', leaderboard: 'top_*', member: LUA, score: 7 },
		allowed: ({ P }) => [`0/${P}top_*`],
		check: async ({ P }) => expect(await db(0).zscore(`${P}top_*`, LUA)).toBe('7'),
	},

	// ---- Job queue (Lua) -------------------------------------------------------------------------
	{
		name: 'job payload with Lua characters and __proto__ round-trips through enqueue and dequeue',
		parameters: { resource: 'job', operation: 'enqueue', queue: 'q', payload: `{"s":${JSON.stringify(LUA)},"__proto__":{"x":1}}` },
		allowed: ({ k }) => Object.values(k.queue('q')).map((key) => `3/${key}`),
		check: async ({ P }) => {
			const taken = await runNode({
				credentials: credentialsFor(server, { keyPrefix: P }),
				parameters: { resource: 'job', operation: 'dequeue', queue: 'q', timeout: 0, visibilityTimeout: 60 },
			});
			const payload = taken.outputs[0][0].payload as Record<string, unknown>;
			expect(payload.s).toBe(LUA);
			expect(Object.prototype.hasOwnProperty.call(payload, '__proto__')).toBe(true);
		},
	},
	{
		name: 'job id with Lua characters',
		parameters: { resource: 'job', operation: 'enqueue', queue: 'q', payload: '{}', options: { jobId: LUA } },
		allowed: ({ k }) => Object.values(k.queue('q')).map((key) => `3/${key}`),
		check: ({ result }) => expect(result.outputs[0][0]).toMatchObject({ id: LUA, enqueued: true }),
	},
	// Braces would split a queue's keys across Cluster slots, so they are refused everywhere.
	{ name: 'queue name with hash-tag characters', parameters: { resource: 'job', operation: 'enqueue', queue: 'a}{b', payload: '{}' }, error: FIELD('Queue Name') },
	{ name: 'job payload over 1 MB', parameters: { resource: 'job', operation: 'enqueue', queue: 'q', payload: `={{ JSON.stringify({ v: "x".repeat(${HUGE.length}) }) }}` }, error: FIELD('Payload') },
	{ name: 'job priority 101', parameters: { resource: 'job', operation: 'enqueue', queue: 'q', payload: '{}', options: { priority: 101 } }, error: FIELD('Priority') },
	{ name: 'job max attempts 0', parameters: { resource: 'job', operation: 'enqueue', queue: 'q', payload: '{}', options: { maxAttempts: 0 } }, error: FIELD('Max Attempts') },
	{ name: 'job delay -1', parameters: { resource: 'job', operation: 'enqueue', queue: 'q', payload: '{}', options: { delaySeconds: -1 } }, error: FIELD('Delay (Seconds)') },
	{ name: 'job dequeue timeout NaN', parameters: { resource: 'job', operation: 'dequeue', queue: 'q', timeout: '={{ NaN }}', visibilityTimeout: 60 }, error: FIELD('Timeout (Seconds)') },
	{
		name: 'job fail with a Lua-laden error message on an unknown id',
		parameters: { resource: 'job', operation: 'fail', queue: 'q', jobId: LUA, errorMessage: LUA },
		check: ({ result }) => expect(result.error).toBeUndefined(),
	},
	{ name: 'celery kwargs not an object', parameters: { resource: 'job', operation: 'sendCeleryTask', celeryQueue: 'celery', taskName: 't', args: '[]', kwargs: '[1]' }, error: FIELD('Kwargs') },
	{
		name: 'celery task name with quotes and Lua characters is JSON-escaped',
		parameters: { resource: 'job', operation: 'sendCeleryTask', celeryQueue: 'celery', taskName: LUA, args: `={{ ${JSON.stringify(JSON.stringify([LUA]))} }}`, kwargs: '{}' },
		allowed: ({ P }) => [`3/${P}celery`],
		check: async ({ P }) => {
			const message = JSON.parse((await db(3).lindex(`${P}celery`, 0)) as string) as { headers: { task: string }; body: string };
			expect(message.headers.task).toBe(LUA);
			expect(JSON.parse(Buffer.from(message.body, 'base64').toString('utf8'))[0]).toEqual([LUA]);
		},
	},

	// ---- Conversation (Lua), update, server --------------------------------------------------------
	{
		name: 'conversation messages with Lua characters, campaign "*"',
		parameters: { resource: 'conversation', operation: 'append', format: 'platform', campaign: '*', agent: LUA, messages: JSON.stringify([{ role: 'user', content: LUA }]), maxLength: 10, ttl: 60 },
		allowed: ({ k }) => [`0/${k.conversation('*', LUA)}`],
		check: async ({ k }) => {
			const [entry] = await db(0).lrange(k.conversation('*', LUA), 0, -1);
			expect((JSON.parse(entry) as { content: string }).content).toBe(LUA);
		},
	},
	{ name: 'conversation messages not JSON', parameters: { resource: 'conversation', operation: 'append', format: 'platform', campaign: 'c', agent: 'a', messages: '[{', maxLength: 10, ttl: 60 }, error: FIELD('Messages') },
	{ name: 'conversation max length -1', parameters: { resource: 'conversation', operation: 'append', format: 'platform', campaign: 'c', agent: 'a', messages: '[{"role":"user","content":"hi"}]', maxLength: -1, ttl: 60 }, error: FIELD('Max Messages') },
	{ name: 'publish message over 1 MB', parameters: { resource: 'update', operation: 'publish', channel: 'c', message: `={{ JSON.stringify({ v: "x".repeat(${HUGE.length}) }) }}` }, error: FIELD('Message') },
	{
		name: 'publish to channel "content_*" is a literal channel',
		parameters: { resource: 'update', operation: 'publish', channel: 'content_*', message: '{"a":1}' },
		check: ({ result }) => expect(result.outputs[0][0]).toMatchObject({ channel: 'content_*', published: true, subscribers: 0 }),
	},
	{ name: 'health slow log count -1', parameters: { resource: 'server', operation: 'health', healthOptions: { slowLogCount: -1 } }, error: FIELD('Slow Log Entries') },
];

describe('hostile input', () => {
	let errors = 0;
	let literals = 0;

	afterAll(() => {
		report('Hostile input', ['figure', 'value'], [
			['cases', cases.length],
			['clear errors', errors],
			['correct literal results', literals],
		]);
	});

	it('has at least 40 cases', () => expect(cases.length).toBeGreaterThanOrEqual(40));

	it.each(cases.map((c) => ({ ...c, label: c.name })))('$label', async (c) => {
		const P = `h${randomBytes(3).toString('hex')}:`;
		const k = new KeySchema(P);
		const before = await allKeys();
		const seeded = new Set((await c.setup?.({ P, k })) ?? []);
		const result = await runNode({ credentials: credentialsFor(server, { keyPrefix: P }), parameters: c.parameters, items: c.items });
		const after = await allKeys();
		const created = [...after].filter((key) => !before.has(key) && !seeded.has(key));
		const removed = [...before].filter((key) => !after.has(key));
		if (c.error && (result.error || !c.orLiteral)) {
			errors++;
			expect(result.error?.message).toMatch(c.error);
			expect(result.error?.message).not.toMatch(/\n\s+at |TypeError|undefined/);
			expect(created).toEqual([]);
		} else {
			literals++;
			expect(result.error?.message).toBeUndefined();
			const allowed = new Set(c.allowed?.({ P, k }) ?? []);
			expect(created.filter((key) => !allowed.has(key))).toEqual([]);
		}
		expect(removed).toEqual([]);
		if (!result.error) await c.check?.({ P, k, result });
		for (let n = 0; n < 16; n++) {
			const keys = await scanKeys(db(n), `${P}*`);
			if (keys.length > 0) await db(n).del(...keys);
		}
	});
});
