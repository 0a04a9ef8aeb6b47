/**
 * Identifiers that become key parts are trimmed of surrounding whitespace, the same way in every
 * resource and the same way Python's str.strip() does, so `= {{ $json.id }}` (a space after the
 * "=") or an ID with a trailing newline from a sheet names the key the clean ID names, here and in
 * the platform's Python services. Whitespace inside an ID is kept.
 */
import { spawnSync } from 'node:child_process';

import { trimIdentifier } from '../../platform/keys';
import { sharedPool } from '../../platform/connection-pool';
import { runNode } from '../helpers/n8n';
import { closeRawClients, deleteKeys, rawClient, testConfig, uniquePrefix } from '../helpers/redis';

const dbs = testConfig().dbs;
const written: Array<[number, string]> = [];

afterAll(async () => {
	for (const [db, pattern] of written) await deleteKeys(rawClient(db), pattern);
	await sharedPool.closeAll();
	await closeRawClients();
});

/** The two ways a stray space reaches a field: text around an expression, and the item's own value. */
const FORMS = [
	['"= {{ $json.id }}" (a space after the "=")', '= {{ $json.id }}', (id: string) => id],
	['"={{ $json.id }}" with a value padded by a tab and a newline', '={{ $json.id }}', (id: string) => `\t${id} \n`],
] as const;

interface Case {
	name: string;
	parameters: (id: string) => Record<string, unknown>;
	db: number;
	key: (id: string) => string;
	/** Where the output names the identifier. */
	echoed: string;
}

const CASES: Case[] = [
	{
		name: 'session',
		parameters: (id) => ({ resource: 'session', operation: 'set', sessionId: id, data: '{"a":1}', ttl: 60 }),
		db: dbs.session,
		key: (id) => `session:${id}`,
		echoed: 'sessionId',
	},
	{
		name: 'content',
		parameters: (id) => ({ resource: 'content', operation: 'cache', contentId: id, valueType: 'text', text: 'Hello', ttl: 60 }),
		db: dbs.content,
		key: (id) => `content:${id}`,
		echoed: 'id',
	},
	{
		name: 'lock',
		parameters: (id) => ({ resource: 'lock', operation: 'acquire', lockName: id, lockTtl: 30 }),
		db: dbs.default,
		key: (id) => `lock:${id}`,
		echoed: 'lock',
	},
	{
		name: 'API cache key',
		parameters: (id) => ({ resource: 'apiCache', operation: 'set', namespace: 'competitors', cacheKey: id, value: '{"p":1}', ttl: 60 }),
		db: dbs.cache,
		key: (id) => `api:competitors:${id}`,
		echoed: 'cacheKey',
	},
	{
		name: 'rate limit key',
		parameters: (id) => ({ resource: 'rateLimit', operation: 'check', limitKey: id, maxRequests: 5, windowSeconds: 60 }),
		db: dbs.rateLimit,
		key: (id) => `ratelimit:${id}`,
		echoed: 'key',
	},
	{
		name: 'conversation agent',
		parameters: (id) => ({
			resource: 'conversation',
			operation: 'append',
			format: 'platform',
			campaign: 'c1',
			agent: id,
			messages: '[{"role":"user","content":"hi"}]',
			maxLength: 10,
			ttl: 60,
		}),
		db: dbs.session,
		key: (id) => `conversation:c1:${id}`,
		echoed: 'agent',
	},
];

describe('identifiers are trimmed in every resource', () => {
	describe.each(FORMS)('given as %s', (_form, expression, pad) => {
		it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
			const id = `${uniquePrefix('trim')}e 1`;
			written.push([c.db, `*${id}*`]);
			const result = await runNode({ parameters: c.parameters(expression), items: [{ id: pad(id) }] });
			expect(result.error).toBeUndefined();
			expect(result.outputs[0][0][c.echoed]).toBe(id);
			// The only key with this ID: nothing was written under a padded variant.
			expect(await rawClient(c.db).keys(`*${id.slice(0, -'e 1'.length)}*`)).toEqual([c.key(id)]);
		});
	});

	it('leaderboard name and member', async () => {
		const board = `${uniquePrefix('trim')}board`;
		written.push([dbs.default, `*${board}*`]);
		const result = await runNode({
			parameters: { resource: 'leaderboard', operation: 'add', leaderboard: '= {{ $json.board }}', member: '={{ $json.member }}', score: 3, scoreMode: 'set' },
			items: [{ board, member: ' post_1\n' }],
		});
		expect(result.error).toBeUndefined();
		expect(await rawClient(dbs.default).zscore(board, 'post_1')).toBe('3');
	});

	it('job queue and job ID: Enqueue and Complete agree on the trimmed ID', async () => {
		const queue = uniquePrefix('trimq');
		written.push([dbs.queue, `*${queue}*`]);
		const enqueue = (jobId: string) =>
			runNode({ parameters: { resource: 'job', operation: 'enqueue', queue: ` ${queue} `, payload: '{"a":1}', options: { jobId } } });
		expect((await enqueue(' j1 ')).outputs[0][0]).toMatchObject({ queue, id: 'j1', enqueued: true });
		// The same ID without the spaces is the same job.
		expect((await enqueue('j1')).outputs[0][0]).toMatchObject({ id: 'j1', duplicate: true });
		const taken = await runNode({ parameters: { resource: 'job', operation: 'dequeue', queue, visibilityTimeout: 30, timeout: 0 } });
		expect(taken.outputs[0][0]).toMatchObject({ queue, id: 'j1' });
		const done = await runNode({
			parameters: { resource: 'job', operation: 'complete', queue, jobId: '\tj1\n', options: { lease: taken.outputs[0][0].lease } },
		});
		expect(done.outputs[0][0]).toMatchObject({ id: 'j1', completed: true });
	});

	it('an ID that is only whitespace is still refused, naming the field', async () => {
		const result = await runNode({ parameters: { resource: 'session', operation: 'get', sessionId: '= {{ $json.id }}' }, items: [{ id: ' \t' }] });
		expect(result.error?.message).toBe('"Session ID" is empty [item 0]');
		expect(result.error?.description).toMatch(/spaces around it are ignored/);
	});
});

describe('the trimmed whitespace is Python\'s', () => {
	// Every character str.isspace() accepts, plus U+FEFF, which JavaScript's trim() would remove.
	const SPACES = ['\t', '\n', '\v', '\f', '\r', '\x1c', '\x1d', '\x1e', '\x1f', ' ', '\x85', '\xa0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff'];

	it('trims every str.isspace() character and keeps U+FEFF', () => {
		for (const space of SPACES) {
			const expected = space === '\ufeff' ? `${space}id${space}` : 'id';
			expect(trimIdentifier(`${space}id${space}`)).toBe(expected);
		}
		expect(trimIdentifier(' a b ')).toBe('a b');
	});

	const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;
	(hasPython ? it : it.skip)('matches python3 str.strip() character for character', () => {
		const values = SPACES.map((space) => `${space}id x${space}${space}`);
		const run = spawnSync('python3', ['-c', 'import json, sys; print(json.dumps([v.strip() for v in json.load(sys.stdin)]))'], {
			input: JSON.stringify(values),
			encoding: 'utf8',
		});
		expect(run.status).toBe(0);
		expect(JSON.parse(run.stdout)).toEqual(values.map(trimIdentifier));
	});
});
