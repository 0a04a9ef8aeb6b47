/**
 * Interop with the Python side (redis_manager.py on redis-py, LangChain agents) and with
 * n8n's Redis Chat Memory (LangChain JS). "Python" steps use raw commands exactly as redis-py
 * sends them (SETEX, GET returning bytes, RPUSH/LPUSH/LRANGE), with values produced by
 * Python's json.dumps and hashlib; when python3 is installed, the test also checks those
 * values against the real interpreter.
 */
import { spawnSync } from 'node:child_process';
import { AIMessage, HumanMessage, SystemMessage, mapStoredMessagesToChatMessages } from '@langchain/core/messages';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const DB = { session: 0, content: 1, cache: 2 };

/** What redis-py's `r.get(key)` gives and what `json.loads` / `.decode()` make of it. */
async function pyGet(db: number, key: string): Promise<string | null> {
	const bytes = await rawClient(db).getBuffer(key);
	return bytes === null ? null : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

const hasPython = spawnSync('python3', ['-c', 'import json, hashlib, re'], { encoding: 'utf8' }).status === 0;

function python(code: string): string {
	const run = spawnSync('python3', ['-c', code], { encoding: 'utf8' });
	if (run.status !== 0) throw new Error(run.stderr);
	return run.stdout.replace(/\n$/, '');
}

/** Values Python produces (json.dumps with its default separators and ensure_ascii, hashlib). */
const PY = {
	sessionData: '{"name": "J\\u00fcrgen", "role": "admin", "tags": ["b2b", "ai"]}',
	searchQuery: '  AI   Marketing  Trends 2025 ',
	// re.sub(r"\s+", " ", q.strip().lower()) -> "ai marketing trends 2025", then sha256 hex
	searchHash: '459211500e7f0360ba057bdc94735bbca50b2f35369f8742847318205bdd3dd2',
	searchResults: '[{"title": "Trend report", "url": "https://example.com/r"}]',
	// langchain_core message_to_dict(HumanMessage("Which channels work?")) through json.dumps
	lcHuman:
		'{"type": "human", "data": {"content": "Which channels work?", "additional_kwargs": {}, "response_metadata": {}, "type": "human", "name": null, "id": null, "example": false}}',
	lcAi: '{"type": "ai", "data": {"content": "LinkedIn and email.", "additional_kwargs": {}, "response_metadata": {}, "type": "ai", "name": null, "id": null, "example": false, "tool_calls": [], "invalid_tool_calls": [], "usage_metadata": null}}',
};

(hasPython ? it : it.skip)('the Python values above are what python3 really produces', () => {
	expect(python('import json; print(json.dumps({"name": "Jürgen", "role": "admin", "tags": ["b2b", "ai"]}))')).toBe(PY.sessionData);
	expect(
		python(
			`import hashlib, re; q = ${JSON.stringify(PY.searchQuery)}; n = re.sub(r"\\s+", " ", q.strip().lower()); print(hashlib.sha256(n.encode("utf-8")).hexdigest())`,
		),
	).toBe(PY.searchHash);
	expect(python('import json; print(json.dumps([{"title": "Trend report", "url": "https://example.com/r"}]))')).toBe(PY.searchResults);
});

describe('Sessions (session:{id}, DB 0)', () => {
	it('node writes, Python reads: json.loads(r.get("session:<id>")) and r.ttl()', async () => {
		const id = `${uniquePrefix('py')}user_123`;
		await runNode({
			parameters: { resource: 'session', operation: 'set', sessionId: id, data: '{"name": "Jürgen", "role": "admin"}', ttl: 3600 },
		});
		const text = await pyGet(DB.session, `session:${id}`);
		expect(JSON.parse(text!)).toEqual({ name: 'Jürgen', role: 'admin' });
		expect(await rawClient(DB.session).ttl(`session:${id}`)).toBeGreaterThan(3500);
	});

	it('Python writes (r.setex(key, 3600, json.dumps(data))), node reads', async () => {
		const id = `${uniquePrefix('py')}user_456`;
		await rawClient(DB.session).setex(`session:${id}`, 3600, PY.sessionData);
		const got = await runNode({ parameters: { resource: 'session', operation: 'get', sessionId: id } });
		expect(got.outputs[0][0]).toMatchObject({ found: true, data: { name: 'Jürgen', role: 'admin', tags: ['b2b', 'ai'] } });
	});
});

describe('Content (content:{id}, DB 1)', () => {
	it('node writes text, Python reads r.get(...).decode() as the exact text', async () => {
		const id = `${uniquePrefix('py')}draft_456`;
		const body = 'Entwurf für Q3 ✓ — "quoted", not JSON';
		await runNode({ parameters: { resource: 'content', operation: 'cache', contentId: id, valueType: 'text', text: body } });
		expect(await pyGet(DB.content, `content:${id}`)).toBe(body);
		expect(await rawClient(DB.content).ttl(`content:${id}`)).toBeGreaterThan(86000);
	});

	it('node writes JSON, Python reads it with json.loads', async () => {
		const id = `${uniquePrefix('py')}seo_1`;
		await runNode({
			parameters: { resource: 'content', operation: 'cache', contentId: id, valueType: 'json', json: '{"keywords": ["ai"], "score": 0.9}' },
		});
		expect(JSON.parse((await pyGet(DB.content, `content:${id}`))!)).toEqual({ keywords: ['ai'], score: 0.9 });
	});

	it('Python writes (cache_content: setex of a str, or of json.dumps), node reads both', async () => {
		const p = uniquePrefix('py');
		const raw = rawClient(DB.content);
		await raw.setex(`content:${p}text`, 86400, 'Blog post content here');
		await raw.setex(`content:${p}json`, 86400, '{"title": "Caf\\u00e9 launch", "words": 812}');
		const got = await runNode({
			parameters: { resource: 'content', operation: 'get', contentId: `={{ "${p}" + $json.id }}` },
			items: [{ id: 'text' }, { id: 'json' }],
		});
		expect(got.outputs[0][0]).toMatchObject({ hit: true, value: 'Blog post content here', valueType: 'text' });
		expect(got.outputs[0][1]).toMatchObject({ hit: true, value: { title: 'Café launch', words: 812 }, valueType: 'json' });
	});
});

describe('Search cache (search:{sha256 of normalised query}, DB 2)', () => {
	it('node writes; Python computes the same key with hashlib and reads json.loads', async () => {
		const result = await runNode({
			parameters: {
				resource: 'search',
				operation: 'cacheResults',
				query: PY.searchQuery,
				results: '[{"title": "Trend report", "url": "https://example.com/r"}]',
				ttl: 600,
			},
		});
		const key = `search:${PY.searchHash}`;
		expect(result.outputs[0][0].key).toBe(key);
		expect(JSON.parse((await pyGet(DB.cache, key))!)).toEqual([{ title: 'Trend report', url: 'https://example.com/r' }]);
		await rawClient(DB.cache).del(key);
	});

	it('Python writes under its hashlib key; the node finds it from any spelling of the query', async () => {
		const key = `search:${PY.searchHash}`;
		await rawClient(DB.cache).setex(key, 3600, PY.searchResults);
		const got = await runNode({
			parameters: { resource: 'search', operation: 'getResults', query: '={{ $json.q }}' },
			items: [{ q: 'ai marketing trends 2025' }, { q: 'AI Marketing\tTrends   2025' }],
		});
		for (const out of got.outputs[0]) {
			expect(out).toMatchObject({ hit: true, key, results: [{ title: 'Trend report', url: 'https://example.com/r' }] });
		}
		await rawClient(DB.cache).del(key);
	});
});

describe('Conversations, platform format (conversation:{campaign}:{agent}, DB 0)', () => {
	it('node appends; Python reads [json.loads(m) for m in r.lrange(key, 0, -1)] oldest first', async () => {
		const campaign = `${uniquePrefix('py')}campaign_1`;
		await runNode({
			parameters: {
				resource: 'conversation',
				operation: 'append',
				campaign,
				agent: 'research_agent',
				messages: '={{ JSON.stringify($json.m) }}',
			},
			items: [{ m: [{ role: 'user', content: 'Find trends' }] }, { m: { role: 'assistant', content: 'Trend A, B' } }],
		});
		const list = await rawClient(DB.session).lrangeBuffer(`conversation:${campaign}:research_agent`, 0, -1);
		expect(list.map((b) => JSON.parse(b.toString('utf8')))).toEqual([
			{ role: 'user', content: 'Find trends' },
			{ role: 'assistant', content: 'Trend A, B' },
		]);
	});

	it('Python appends (rpush of json.dumps + expire); the node reads the history oldest first', async () => {
		const campaign = `${uniquePrefix('py')}campaign_2`;
		const key = `conversation:${campaign}:writer`;
		const raw = rawClient(DB.session);
		await raw.rpush(key, '{"role": "user", "content": "Draft a post"}', '{"role": "assistant", "content": "Here it is"}');
		await raw.expire(key, 3600);
		const got = await runNode({
			parameters: { resource: 'conversation', operation: 'getHistory', campaign, agent: 'writer', returnAll: true },
		});
		expect(got.outputs[0][0].messages).toEqual([
			{ role: 'user', content: 'Draft a post' },
			{ role: 'assistant', content: 'Here it is' },
		]);
	});
});

describe('Conversations, LangChain format (message_store:{session}, DB 0)', () => {
	it("node appends; Python RedisChatMessageHistory.messages (lrange reversed, messages_from_dict) gets them in order", async () => {
		const session = `${uniquePrefix('py')}chat`;
		await runNode({
			parameters: {
				resource: 'conversation',
				operation: 'append',
				format: 'langchain',
				sessionId: session,
				messages: JSON.stringify([
					{ role: 'system', content: 'You are a B2B marketer' },
					{ role: 'user', content: 'Which channels work?' },
					{ role: 'assistant', content: 'LinkedIn and email.' },
				]),
			},
		});
		// RedisChatMessageHistory.messages: items = [json.loads(m.decode("utf-8")) for m in _items[::-1]]
		const items = (await rawClient(DB.session).lrangeBuffer(`message_store:${session}`, 0, -1))
			.reverse()
			.map((b) => JSON.parse(b.toString('utf8')) as { type: string; data: Record<string, unknown> });
		// messages_from_dict needs a known "type" and builds the class from "data" (content required).
		expect(items.map((m) => [m.type, m.data.content])).toEqual([
			['system', 'You are a B2B marketer'],
			['human', 'Which channels work?'],
			['ai', 'LinkedIn and email.'],
		]);
	});

	it('Python add_message (lpush json.dumps(message_to_dict(m)) + expire); the node reads oldest first', async () => {
		const session = `${uniquePrefix('py')}chat`;
		const key = `message_store:${session}`;
		const raw = rawClient(DB.session);
		await raw.lpush(key, PY.lcHuman);
		await raw.lpush(key, PY.lcAi);
		await raw.expire(key, 600);
		const got = await runNode({
			parameters: { resource: 'conversation', operation: 'getHistory', format: 'langchain', sessionId: session, returnAll: true },
		});
		const messages = got.outputs[0][0].messages as Array<{ type: string; data: { content: string } }>;
		expect(messages.map((m) => [m.type, m.data.content])).toEqual([
			['human', 'Which channels work?'],
			['ai', 'LinkedIn and email.'],
		]);
		// And the node can append after Python without disturbing its entries.
		await runNode({
			parameters: { resource: 'conversation', operation: 'append', format: 'langchain', sessionId: session, messages: '{"role":"user","content":"More?"}' },
		});
		expect(await raw.lrange(key, 1, 2)).toEqual([PY.lcAi, PY.lcHuman]);
	});
});

describe("n8n's Redis Chat Memory (LangChain JS, key = bare session id)", () => {
	it('node appends with an empty key prefix; LangChain JS getMessages() rebuilds the messages', async () => {
		const session = `${uniquePrefix('mem')}chat`;
		await runNode({
			parameters: {
				resource: 'conversation',
				operation: 'append',
				format: 'langchain',
				sessionId: session,
				langchainKeyPrefix: '',
				messages: JSON.stringify([
					{ role: 'system', content: 'Be brief' },
					{ role: 'user', content: 'Hi' },
					{ role: 'assistant', content: 'Hello!' },
				]),
				ttl: 600,
			},
		});
		// @langchain/redis RedisChatMessageHistory.getMessages: lRange(0, -1), reverse, JSON.parse, map.
		const stored = (await rawClient(DB.session).lrange(session, 0, -1)).reverse().map((m) => JSON.parse(m));
		const messages = mapStoredMessagesToChatMessages(stored);
		expect(messages[0]).toBeInstanceOf(SystemMessage);
		expect(messages[1]).toBeInstanceOf(HumanMessage);
		expect(messages[2]).toBeInstanceOf(AIMessage);
		expect(messages.map((m) => m.content)).toEqual(['Be brief', 'Hi', 'Hello!']);
		await rawClient(DB.session).del(session);
	});

	it('LangChain JS addMessage (lPush of toDict() + expire); the node reads it, oldest first', async () => {
		const session = `${uniquePrefix('mem')}chat`;
		const raw = rawClient(DB.session);
		for (const message of [new HumanMessage('What is our CTR?'), new AIMessage('2.4% last week')]) {
			await raw.lpush(session, JSON.stringify(message.toDict()));
			await raw.expire(session, 600);
		}
		const got = await runNode({
			parameters: {
				resource: 'conversation',
				operation: 'getHistory',
				format: 'langchain',
				sessionId: session,
				langchainKeyPrefix: '',
				returnAll: false,
				limit: 10,
			},
		});
		const messages = got.outputs[0][0].messages as Array<{ type: string; data: { content: string } }>;
		expect(messages.map((m) => [m.type, m.data.content])).toEqual([
			['human', 'What is our CTR?'],
			['ai', '2.4% last week'],
		]);
		// A message stored by LangChain JS can be appended back unchanged (the stored shape is accepted).
		const appended = await runNode({
			parameters: {
				resource: 'conversation',
				operation: 'append',
				format: 'langchain',
				sessionId: session,
				langchainKeyPrefix: '',
				messages: JSON.stringify(messages[1]),
			},
		});
		expect(appended.error).toBeUndefined();
		const all = mapStoredMessagesToChatMessages((await raw.lrange(session, 0, -1)).reverse().map((m) => JSON.parse(m)));
		expect(all.map((m) => m.content)).toEqual(['What is our CTR?', '2.4% last week', '2.4% last week']);
		await raw.del(session);
	});
});
