/**
 * Cross-language, per role, both directions: what redis_manager (Python, a real redis-py
 * process) writes, the node reads in n8n's in-process engine with equal values and TTLs,
 * and the reverse. Both sides use the same key prefix and the same DB per role (none of them
 * the default, see MAPPED_DBS), as one credential and the matching environment would.
 */
import type { IDataObject } from 'n8n-workflow';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, uniquePrefix } from '../helpers/redis';
import { startTrigger, waitForSubscribers } from '../helpers/trigger';
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { describePython, MAPPED_DBS, mappedCredentials, mappedEnv, pyCalls, pyOk, spawnPython } from './python';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

/** A fresh prefix with its node credential and its Python environment, both on MAPPED_DBS. */
function side(label: string) {
	const prefix = uniquePrefix(label);
	const env = mappedEnv(prefix);
	return {
		prefix,
		keys: new KeySchema(prefix),
		credentials: mappedCredentials(prefix),
		env,
		py: (method: string, ...args: unknown[]) => pyOk({ method, args }, env),
		pyKw: (method: string, args: unknown[], kwargs: Record<string, unknown>) => pyOk({ method, args, kwargs }, env),
	};
}

async function node(credentials: IDataObject, parameters: Record<string, unknown>): Promise<IDataObject> {
	const result = await runNode({ credentials: credentials as never, parameters });
	if (result.error) throw result.error;
	return result.outputs[0][0];
}

const HOSTILE_ID = 'Jürgen {x}: 😀 with spaces';
const DATA = { name: 'Jürgen', role: 'admin', tags: ['b2b', 'ai'], nested: { big: 12345678901234, ok: true, none: null } };

describePython('cross-language: redis_manager and the node share every role', () => {
	describe('sessions (session:{id}, session role DB)', () => {
		it('Python set_session -> node Get Session: equal data and TTL', async () => {
			const s = side('xs');
			expect(s.pyKw('set_session', [HOSTILE_ID, DATA], { ttl: 1234 })).toBe(true);
			const got = await node(s.credentials, { resource: 'session', operation: 'get', sessionId: HOSTILE_ID });
			expect(got).toMatchObject({ found: true, data: DATA });
			expect(got.ttl).toBeGreaterThan(1225);
			expect(got.ttl).toBeLessThanOrEqual(1234);
		});

		it('both sides trim ids alike: Python set_session("  user_1\\n") is the node\'s "user_1", and the reverse', async () => {
			const s = side('xs');
			s.py('set_session', '  user_1\n', { a: 1 });
			expect(await node(s.credentials, { resource: 'session', operation: 'get', sessionId: 'user_1' })).toMatchObject({ found: true, data: { a: 1 } });
			await node(s.credentials, { resource: 'session', operation: 'set', sessionId: '\u3000user_2 ', data: '{"b": 2}', ttl: 60 });
			expect(s.py('get_session', 'user_2')).toEqual({ b: 2 });
		});

		it('node Set Session -> Python get_session: equal data and TTL', async () => {
			const s = side('xs');
			await node(s.credentials, { resource: 'session', operation: 'set', sessionId: HOSTILE_ID, data: JSON.stringify(DATA), ttl: 777 });
			const [data, ttl] = pyCalls(
				[
					{ method: 'get_session', args: [HOSTILE_ID] },
					{ target: 'driver', method: 'ttl', args: ['session', s.keys.session(HOSTILE_ID)] },
				],
				s.env,
			);
			expect(data).toEqual({ ok: DATA });
			expect((ttl as { ok: number }).ok).toBeGreaterThan(770);
		});
	});

	describe('content cache (content:{id}, content role DB)', () => {
		it('Python cache_content (text and JSON) -> node Get Content: same value, type and TTL', async () => {
			const s = side('xc');
			const text = 'Entwurf für Q3 ✓ — "quoted", {not JSON}';
			s.pyKw('cache_content', ['draft_456', text], { ttl: 5000 });
			s.pyKw('cache_content', ['seo_1', { keywords: ['ai'], score: 0.9 }], { ttl: 5000 });
			const got = await runNode({
				credentials: s.credentials,
				parameters: { resource: 'content', operation: 'get', contentId: '={{ $json.id }}' },
				items: [{ id: 'draft_456' }, { id: 'seo_1' }],
			});
			expect(got.outputs[0][0]).toMatchObject({ hit: true, value: text, valueType: 'text' });
			expect(got.outputs[0][1]).toMatchObject({ hit: true, value: { keywords: ['ai'], score: 0.9 }, valueType: 'json' });
			for (const out of got.outputs[0]) expect(out.ttl).toBeGreaterThan(4990);
		});

		it('node Cache Content (text and JSON) -> Python get_cached_content', async () => {
			const s = side('xc');
			await node(s.credentials, { resource: 'content', operation: 'cache', contentId: 'd1', valueType: 'text', text: 'Blog post content here', ttl: 600 });
			await node(s.credentials, { resource: 'content', operation: 'cache', contentId: 'd2', valueType: 'json', json: '{"title": "Café", "words": 812}', ttl: 600 });
			const [t, j, ttl] = pyCalls(
				[
					{ method: 'get_cached_content', args: ['d1'] },
					{ method: 'get_cached_content', args: ['d2'] },
					{ target: 'driver', method: 'ttl', args: ['content', s.keys.content('d2')] },
				],
				s.env,
			);
			expect([t, j]).toEqual([{ ok: 'Blog post content here' }, { ok: { title: 'Café', words: 812 } }]);
			expect((ttl as { ok: number }).ok).toBeGreaterThan(590);
		});
	});

	describe('API cache (search:{hash}, api:{namespace}:{key}, cache role DB)', () => {
		const results = [{ title: 'Trend report', url: 'https://example.com/r', rank: 1 }];

		it('Python cache_search_results under one spelling -> node Get Cached Results under another', async () => {
			const s = side('xa');
			s.pyKw('cache_search_results', ['AI marketing trends', results], { ttl: 3600 });
			const got = await node(s.credentials, { resource: 'search', operation: 'getResults', query: '  ai\u3000MARKETING\ttrends ' });
			expect(got).toMatchObject({ hit: true, results, key: s.keys.search('AI marketing trends') });
			expect(got.ttl).toBeGreaterThan(3590);
		});

		it('node Cache Results -> Python get_cached_search_results; API cache both ways', async () => {
			const s = side('xa');
			await node(s.credentials, { resource: 'search', operation: 'cacheResults', query: 'B2B\u00a0intent data', results: JSON.stringify(results), ttl: 900 });
			expect(s.py('get_cached_search_results', 'b2b intent   DATA')).toEqual(results);
			await node(s.credentials, { resource: 'apiCache', operation: 'set', namespace: 'linkedin', cacheKey: 'company:42', value: '{"followers": 1200}', ttl: 300 });
			expect(s.py('get_cached_api_response', 'linkedin', 'company:42')).toEqual({ followers: 1200 });
			s.py('cache_api_response', 'crunchbase', 'org:{7}', { funding: [1, 2] }, 400);
			const got = await node(s.credentials, { resource: 'apiCache', operation: 'get', namespace: 'crunchbase', cacheKey: 'org:{7}' });
			expect(got).toMatchObject({ hit: true, value: { funding: [1, 2] } });
			expect(got.ttl).toBeGreaterThan(390);
		});
	});

	describe('agent conversations (conversation:{campaign}:{agent}, session role DB)', () => {
		const history = [
			{ role: 'system', content: 'You are a B2B marketer' },
			{ role: 'user', content: 'Find three trends' },
			{ role: 'assistant', content: 'Intent data, ABM, AI SDRs', meta: { tokens: 12 } },
		];

		it('Python store_agent_conversation -> node Get History (oldest first, TTL); node Append -> Python reads on', async () => {
			const s = side('xv');
			expect(s.pyKw('store_agent_conversation', ['campaign_1', 'research_agent', history], { ttl: 5000 })).toBe(3);
			const got = await node(s.credentials, { resource: 'conversation', operation: 'getHistory', campaign: 'campaign_1', agent: 'research_agent', returnAll: true });
			expect(got).toMatchObject({ found: true, total: 3, messages: history });
			expect(got.ttl).toBeGreaterThan(4990);
			await node(s.credentials, {
				resource: 'conversation',
				operation: 'append',
				campaign: 'campaign_1',
				agent: 'research_agent',
				messages: '{"role": "user", "content": "More?"}',
				maxLength: 100,
				ttl: 600,
			});
			expect(s.py('get_agent_conversation', 'campaign_1', 'research_agent')).toEqual([...history, { role: 'user', content: 'More?' }]);
		});

		it('Python append_agent_conversation trims like the node (same script): node reads the newest', async () => {
			const s = side('xv');
			const appended = s.pyKw('append_agent_conversation', ['c', 'a', [1, 2, 3, 4].map((n) => ({ n }))], { max_messages: 3, ttl: 100 });
			expect(appended).toMatchObject({ appended: 4, length: 3, trimmed: 1 });
			const got = await node(s.credentials, { resource: 'conversation', operation: 'getHistory', campaign: 'c', agent: 'a', returnAll: false, limit: 2 });
			expect(got).toMatchObject({ total: 3, messages: [{ n: 3 }, { n: 4 }] });
			expect(got.ttl).toBeGreaterThan(90);
		});
	});

	describe('leaderboards (sorted sets named as given, default DB)', () => {
		it('Python set_score/increment_score -> node Top N and Rank; node Add -> Python top_scores', async () => {
			const s = side('xl');
			s.py('set_score', 'top_content', 'post_123', 450);
			s.py('increment_score', 'top_content', 'post_124', 320.5);
			const top = await node(s.credentials, { resource: 'leaderboard', operation: 'top', leaderboard: 'top_content', topN: 10 });
			expect(top.entries).toEqual([
				{ rank: 1, member: 'post_123', score: 450 },
				{ rank: 2, member: 'post_124', score: 320.5 },
			]);
			await node(s.credentials, { resource: 'leaderboard', operation: 'add', leaderboard: 'top_content', member: 'post_125', score: 999 });
			expect(s.py('top_scores', 'top_content', 2)).toEqual([
				{ rank: 1, member: 'post_125', score: 999 },
				{ rank: 2, member: 'post_123', score: 450 },
			]);
			const rank = await node(s.credentials, { resource: 'leaderboard', operation: 'rank', leaderboard: 'top_content', member: 'post_124' });
			expect(rank).toMatchObject({ found: true, rank: 3, score: 320.5, total: 3 });
			expect(s.py('get_rank', 'top_content', 'post_124')).toEqual({ member: 'post_124', rank: 3, score: 320.5, total: 3 });
		});
	});

	describe('content updates (PUBLISH, stream:{channel})', () => {
		it("Python publish_update -> the node's Pub/Sub trigger; durable -> its Durable Stream trigger", async () => {
			const s = side('xu');
			const channel = `${s.prefix}content_updates`;
			const pubsub = await startTrigger({ credentials: s.credentials, parameters: { event: 'contentUpdatePubSub', channels: channel } });
			const durable = await startTrigger({ credentials: s.credentials, parameters: { event: 'contentUpdateStream', channels: channel } });
			try {
				await waitForSubscribers(rawClient(0), channel);
				// The durable trigger's group starts at "$": wait until it exists before publishing.
				const stream = s.keys.updatesStream(channel);
				for (let i = 0; i < 200 && (await rawClient(MAPPED_DBS.default).exists(stream)) === 0; i++) await new Promise((r) => setTimeout(r, 25));
				const result = s.pyKw('publish_update', [channel, { draft_id: 123, status: 'approved' }], { durable: true }) as IDataObject;
				expect(result).toMatchObject({ channel, subscribers: 1, stream });
				const [plain] = await pubsub.waitFor(1);
				expect(plain).toMatchObject({ channel, message: { draft_id: 123, status: 'approved' } });
				const [entry] = await durable.waitFor(1);
				expect(entry).toMatchObject({ channel, message: { draft_id: 123, status: 'approved' }, id: result.stream_id, publishedAt: result.published_at });
			} finally {
				await pubsub.close();
				await durable.close();
			}
		});

		it('node Publish Update (durable) -> Python listen_updates gets it; both write the same stream entry', async () => {
			const s = side('xu');
			const channel = `${s.prefix}content_updates`;
			const code = [
				'import json, sys',
				'from redis_manager import get_redis_manager',
				'for update in get_redis_manager().listen_updates([sys.argv[1]], timeout=20):',
				'    print(json.dumps(update), flush=True)',
				'    break',
			].join('\n');
			const listener = spawnPython(['-c', code, channel], s.env);
			let out = '';
			listener.stdout?.on('data', (d: Buffer) => (out += d.toString()));
			const exited = new Promise<number | null>((resolve) => listener.once('exit', resolve));
			await waitForSubscribers(rawClient(0), channel);
			const published = await node(s.credentials, {
				resource: 'update',
				operation: 'publish',
				channel,
				message: '{"draft_id": 124, "status": "draft"}',
				options: { durable: true },
			});
			expect(await exited).toBe(0);
			expect(JSON.parse(out)).toMatchObject({ channel, message: { draft_id: 124, status: 'draft' } });
			s.pyKw('publish_update', [channel, { draft_id: 125 }], { durable: true });
			const entries = (await rawClient(MAPPED_DBS.default).xrange(s.keys.updatesStream(channel), '-', '+')) as Array<[string, string[]]>;
			expect(entries[0][0]).toBe(published.streamId);
			// Same fields in the same order; the values only differ by message and time.
			expect(entries.map(([, fields]) => fields.filter((_, i) => i % 2 === 0))).toEqual([
				['message', 'channel', 'publishedAt'],
				['message', 'channel', 'publishedAt'],
			]);
			expect(entries[1][1][3]).toBe(channel);
		});
	});

	describe('health (Server > Health)', () => {
		it("Python health() has the node's report shape", async () => {
			const s = side('xh');
			const py = s.py('health') as IDataObject;
			const got = await node(s.credentials, { resource: 'server', operation: 'health' });
			const shape = (o: IDataObject) =>
				Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v).sort() : typeof v]));
			const nodeShape = shape(got);
			const pyShape = shape(py);
			// Fields the node leaves undefined (absent in JSON) are null on the Python side.
			for (const section of ['memory', 'server'] as const) {
				expect((nodeShape[section] as string[]).every((k) => (pyShape[section] as string[]).includes(k))).toBe(true);
			}
			for (const section of ['keyspace', 'clients', 'roles', 'slowLog'] as const) expect(pyShape[section]).toEqual(nodeShape[section]);
			const dbs = (roles: unknown) => Object.entries(roles as Record<string, { db: number }>).map(([role, r]) => [role, r.db]);
			expect(dbs(py.roles)).toEqual(dbs(got.roles));
			expect((py.memory as IDataObject).maxBytes).toBe((got.memory as IDataObject).maxBytes);
		});
	});
});

