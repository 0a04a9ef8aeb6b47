import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const SESSION_DB = 0;

const append = (parameters: Record<string, unknown>) => ({ resource: 'conversation', operation: 'append', ...parameters });

describe('Conversation resource, platform format', () => {
	it('appends per item in order (RPUSH, oldest first) with the TTL, as JSON objects', async () => {
		const p = uniquePrefix('conv');
		const result = await runNode({
			parameters: append({
				campaign: `={{ "${p}" + $json.campaign }}`,
				agent: '={{ $json.agent }}',
				messages: '={{ JSON.stringify($json.messages) }}',
				ttl: 900,
			}),
			items: [
				{ campaign: 'c1', agent: 'research_agent', messages: [{ role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }] },
				{ campaign: 'c1', agent: 'research_agent', messages: { role: 'user', content: 'q2', ts: 3 } },
				{ campaign: 'c2', agent: 'writer', messages: [{ role: 'system', content: 'be brief' }] },
			],
		});
		expect(result.error).toBeUndefined();
		const key = `conversation:${p}c1:research_agent`;
		expect(result.outputs[0][0]).toEqual({
			format: 'platform',
			campaign: `${p}c1`,
			agent: 'research_agent',
			key,
			appended: 2,
			length: 2,
			trimmed: 0,
			ttl: 900,
		});
		expect(result.outputs[0][1]).toMatchObject({ appended: 1, length: 3 });
		expect(result.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		const raw = rawClient(SESSION_DB);
		expect(await raw.type(key)).toBe('list');
		expect((await raw.lrange(key, 0, -1)).map((m) => JSON.parse(m))).toEqual([
			{ role: 'user', content: 'q1' },
			{ role: 'assistant', content: 'a1' },
			{ role: 'user', content: 'q2', ts: 3 },
		]);
		const ttl = await raw.ttl(key);
		expect(ttl).toBeGreaterThan(800);
		expect(ttl).toBeLessThanOrEqual(900);
		expect(await raw.llen(`conversation:${p}c2:writer`)).toBe(1);
	});

	it('trims to the newest Max Messages in the same step, and reports how many were dropped', async () => {
		const p = uniquePrefix('conv');
		const messages = [1, 2, 3, 4, 5].map((n) => ({ role: 'user', content: `m${n}` }));
		const result = await runNode({
			parameters: append({ campaign: p, agent: 'a', messages: JSON.stringify(messages), maxLength: 3 }),
		});
		expect(result.outputs[0][0]).toMatchObject({ appended: 5, length: 3, trimmed: 2, ttl: 604800 });
		const raw = rawClient(SESSION_DB);
		expect((await raw.lrange(`conversation:${p}:a`, 0, -1)).map((m) => JSON.parse(m).content)).toEqual(['m3', 'm4', 'm5']);
		// The default TTL is 7 days.
		expect(await raw.ttl(`conversation:${p}:a`)).toBeGreaterThan(604000);
	});

	it('keeps the bound under 20 concurrent executions appending to one conversation', async () => {
		const p = uniquePrefix('conv');
		await Promise.all(
			Array.from({ length: 20 }, (_, n) =>
				runNode({
					parameters: append({ campaign: p, agent: 'a', messages: JSON.stringify([{ role: 'user', content: `r${n}a` }, { role: 'user', content: `r${n}b` }]), maxLength: 10 }),
				}),
			),
		);
		const list = await rawClient(SESSION_DB).lrange(`conversation:${p}:a`, 0, -1);
		expect(list).toHaveLength(10);
		// Each run's two messages stay adjacent: one script call per item, never interleaved.
		const contents = list.map((m) => JSON.parse(m).content as string);
		for (let i = 0; i < contents.length; i += 2) {
			expect(contents[i].replace(/a$/, '')).toBe(contents[i + 1].replace(/b$/, ''));
		}
	});

	it('appends a long batch (1,200 messages, pushed by the script in slices) in order', async () => {
		const p = uniquePrefix('conv');
		const messages = Array.from({ length: 1200 }, (_, n) => ({ role: 'user', content: `m${n}` }));
		const result = await runNode({
			parameters: append({ campaign: p, agent: 'bulk', messages: JSON.stringify(messages), maxLength: 0 }),
		});
		expect(result.outputs[0][0]).toMatchObject({ appended: 1200, length: 1200, trimmed: 0 });
		const list = await rawClient(SESSION_DB).lrange(`conversation:${p}:bulk`, 0, -1);
		expect(list.map((m) => JSON.parse(m).content)).toEqual(messages.map((m) => m.content));
		await rawClient(SESSION_DB).del(`conversation:${p}:bulk`);
	});

	it('with TTL 0 leaves the expiry alone (a new history never expires)', async () => {
		const p = uniquePrefix('conv');
		await runNode({ parameters: append({ campaign: p, agent: 'a', messages: '{"content":"x"}', ttl: 0 }) });
		expect(await rawClient(SESSION_DB).ttl(`conversation:${p}:a`)).toBe(-1);
		await rawClient(SESSION_DB).del(`conversation:${p}:a`);
	});

	it('gets the last N or all messages oldest first, and clears', async () => {
		const p = uniquePrefix('conv');
		const raw = rawClient(SESSION_DB);
		const key = `conversation:${p}:agent`;
		await raw.rpush(key, ...[1, 2, 3, 4].map((n) => JSON.stringify({ role: 'user', content: `m${n}` })));
		await raw.expire(key, 500);
		const got = await runNode({
			parameters: {
				resource: 'conversation',
				operation: 'getHistory',
				campaign: p,
				agent: 'agent',
				returnAll: '={{ $json.all }}',
				limit: 2,
			},
			items: [{ all: false }, { all: true }],
		});
		expect(got.error).toBeUndefined();
		expect(got.outputs[0][0]).toMatchObject({ found: true, count: 2, total: 4, key });
		expect((got.outputs[0][0].messages as Array<{ content: string }>).map((m) => m.content)).toEqual(['m3', 'm4']);
		expect((got.outputs[0][1].messages as Array<{ content: string }>).map((m) => m.content)).toEqual(['m1', 'm2', 'm3', 'm4']);
		expect(got.outputs[0][1].ttl).toBeGreaterThan(400);
		const none = await runNode({
			parameters: { resource: 'conversation', operation: 'getHistory', campaign: p, agent: 'nobody', returnAll: true },
		});
		expect(none.outputs[0][0]).toMatchObject({ found: false, count: 0, messages: [], ttl: null });
		const cleared = await runNode({ parameters: { resource: 'conversation', operation: 'clear', campaign: p, agent: 'agent' } });
		expect(cleared.outputs[0][0]).toMatchObject({ cleared: true, key });
		expect(await raw.exists(key)).toBe(0);
	});
});

describe('Conversation resource, LangChain format', () => {
	it('LPUSHes {type, data:{content}} under message_store:{session}, newest first, mapping roles', async () => {
		const p = uniquePrefix('lc');
		const result = await runNode({
			parameters: append({
				format: 'langchain',
				sessionId: `={{ "${p}" + $json.s }}`,
				messages: '={{ JSON.stringify($json.m) }}',
				ttl: 300,
			}),
			items: [
				{ s: 'chat', m: [{ role: 'system', content: 'You are a marketer' }, { role: 'user', content: 'hi' }] },
				{ s: 'chat', m: [{ role: 'assistant', content: 'hello' }, { type: 'human', content: 'next' }] },
				{ s: 'chat', m: { type: 'ai', data: { content: 'stored shape', additional_kwargs: {} } } },
			],
		});
		expect(result.error).toBeUndefined();
		const key = `message_store:${p}chat`;
		expect(result.outputs[0][0]).toEqual({ format: 'langchain', sessionId: `${p}chat`, key, appended: 2, length: 2, trimmed: 0, ttl: 300 });
		const raw = rawClient(SESSION_DB);
		expect(await raw.type(key)).toBe('list');
		expect((await raw.lrange(key, 0, -1)).map((m) => JSON.parse(m))).toEqual([
			{ type: 'ai', data: { content: 'stored shape', additional_kwargs: {} } },
			{ type: 'human', data: { content: 'next' } },
			{ type: 'ai', data: { content: 'hello' } },
			{ type: 'human', data: { content: 'hi' } },
			{ type: 'system', data: { content: 'You are a marketer' } },
		]);
		expect(await raw.ttl(key)).toBeGreaterThan(200);

		const got = await runNode({
			parameters: { resource: 'conversation', operation: 'getHistory', format: 'langchain', sessionId: `${p}chat`, returnAll: '={{ $json.all }}', limit: 2 },
			items: [{ all: true }, { all: false }],
		});
		const contents = (o: Record<string, unknown>) => (o.messages as Array<{ data: { content: string } }>).map((m) => m.data.content);
		expect(contents(got.outputs[0][0])).toEqual(['You are a marketer', 'hi', 'hello', 'next', 'stored shape']);
		expect(contents(got.outputs[0][1])).toEqual(['next', 'stored shape']);
	});

	it('trims LangChain lists to the newest messages too', async () => {
		const p = uniquePrefix('lc');
		const messages = [1, 2, 3, 4].map((n) => ({ role: 'user', content: `m${n}` }));
		const result = await runNode({
			parameters: append({ format: 'langchain', sessionId: p, messages: JSON.stringify(messages), maxLength: 2 }),
		});
		expect(result.outputs[0][0]).toMatchObject({ length: 2, trimmed: 2 });
		const list = await rawClient(SESSION_DB).lrange(`message_store:${p}`, 0, -1);
		expect(list.map((m) => JSON.parse(m).data.content)).toEqual(['m4', 'm3']);
	});

	it('with an empty Key Prefix uses the bare session id, as n8n Redis Chat Memory does', async () => {
		const p = uniquePrefix('n8nmem');
		await runNode({
			parameters: append({ format: 'langchain', sessionId: `${p}s1`, langchainKeyPrefix: '', messages: '{"role":"user","content":"hey"}' }),
		});
		const raw = rawClient(SESSION_DB);
		expect(await raw.lrange(`${p}s1`, 0, -1)).toEqual(['{"type":"human","data":{"content":"hey"}}']);
		expect(await raw.exists(`message_store:${p}s1`)).toBe(0);
		await raw.del(`${p}s1`);
	});
});

describe('Conversation resource, bad input', () => {
	it.each([
		['an empty campaign', { campaign: '' }, /"Campaign" is empty/],
		['an empty agent', { agent: '  ' }, /"Agent" is empty/],
		['invalid JSON messages', { messages: '[{"role":' }, /"Messages" is not valid JSON/],
		['an empty message list', { messages: '[]' }, /"Messages" is an empty list/],
		['a message that is not an object', { messages: '["hi"]' }, /"Messages" message 1 is not a JSON object/],
		['a negative max length', { maxLength: -1 }, /"Max Messages" must be a whole number of at least 0.*got -1/],
		['a negative TTL', { ttl: -5 }, /"TTL \(Seconds\)" must be a whole number of at least 0.*got -5/],
		['a fractional TTL', { ttl: 0.5 }, /"TTL \(Seconds\)" must be a whole number of at least 0.*got 0.5/],
		['messages over the size limit', { messages: JSON.stringify([{ content: 'w'.repeat(600) }]), options: { maxValueBytes: 500 } }, /"Messages" the value is \d+ bytes, over the limit of 500/],
		['a LangChain message without a role', { format: 'langchain', messages: '[{"content":"hi"}]' }, /"Messages" message 1 has role missing/],
		['a LangChain message with an unknown role', { format: 'langchain', messages: '[{"role":"user","content":"a"},{"role":"robot","content":"b"}]' }, /message 2 has role "robot"/],
		['a LangChain message without content', { format: 'langchain', messages: '[{"role":"user"}]' }, /message 1 has no text "content"/],
		['an empty session id', { format: 'langchain', sessionId: '' }, /"Session ID" is empty/],
	] as Array<[string, Record<string, unknown>, RegExp]>)('rejects %s, writing nothing', async (_label, override, message) => {
		const p = uniquePrefix('convbad');
		const pick = (field: string, fallback: unknown) =>
			`={{ $json.ok ? ${JSON.stringify(fallback)} : ${JSON.stringify(field in override ? override[field] : fallback)} }}`;
		const format = (override.format as string) ?? 'platform';
		const result = await runNode({
			parameters: append({
				format,
				campaign: pick('campaign', p),
				agent: `={{ $json.ok ? "good" : ${JSON.stringify(override.agent ?? 'bad')} }}`,
				sessionId: `={{ $json.ok ? "${p}good" : ${JSON.stringify(override.sessionId ?? `${p}bad`)} }}`,
				messages: pick('messages', '[{"role":"user","content":"fine"}]'),
				maxLength: pick('maxLength', 10),
				ttl: pick('ttl', 60),
				options: override.options ?? {},
			}),
			items: [{ ok: true }, { ok: false }],
		});
		expect(result.error?.message).toMatch(/ \[item 1\]$/);
		expect(result.error?.message).toMatch(message);
		expect(
			await rawClient(SESSION_DB).exists(`conversation:${p}:good`, `conversation:${p}:bad`, `message_store:${p}good`, `message_store:${p}bad`),
		).toBe(0);
	});

	it('reports WRONGTYPE readably when the key holds a string, leaving it untouched', async () => {
		const p = uniquePrefix('conv');
		const raw = rawClient(SESSION_DB);
		await raw.set(`conversation:${p}:a`, '[{"role":"user"}]', 'EX', 100);
		const result = await runNode({
			continueOnFail: true,
			parameters: append({ campaign: p, agent: '={{ $json.a }}', messages: '{"content":"x"}', maxLength: 5 }),
			items: [{ a: 'a' }, { a: 'b' }],
		});
		expect(result.outputs[0][0].error).toMatch(/^Append Messages failed: The key already holds a different kind of value.* \[item 0\]$/);
		expect(result.outputs[0][1]).toMatchObject({ appended: 1, length: 1 });
		expect(await raw.get(`conversation:${p}:a`)).toBe('[{"role":"user"}]');
	});
});
