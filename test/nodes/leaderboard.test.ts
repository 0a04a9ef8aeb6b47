import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, testCredentials, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';

const DB = 0;

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const add = (board: string, extra: Record<string, unknown> = {}) => ({
	resource: 'leaderboard',
	operation: 'add',
	leaderboard: board,
	member: '={{ $json.post }}',
	score: '={{ $json.score }}',
	...extra,
});

describe('Leaderboard resource', () => {
	it('sets scores for several items like the seed (zadd top_content), readable with ZREVRANGE WITHSCORES', async () => {
		const p = uniquePrefix('lb');
		const board = `${p}top_content`;
		const result = await runNode({
			parameters: add(board),
			items: [
				{ post: 'post_123', score: 450 },
				{ post: 'post_124', score: 320 },
				{ post: 'post_125', score: '12.5' },
			],
		});
		expect(result.error).toBeUndefined();
		expect(result.outputs[0]).toEqual([
			expect.objectContaining({ member: 'post_123', score: 450, added: true, key: board }),
			expect.objectContaining({ member: 'post_124', score: 320, added: true }),
			expect.objectContaining({ member: 'post_125', score: 12.5, added: true }),
		]);
		expect(result.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		const raw = rawClient(DB);
		expect(await raw.type(board)).toBe('zset');
		// redis-py: r.zrevrange('top_content', 0, 9, withscores=True)
		expect(await raw.zrevrange(board, 0, 9, 'WITHSCORES')).toEqual(['post_123', '450', 'post_124', '320', 'post_125', '12.5']);
		// A leaderboard is state, not cache: no TTL unless asked for.
		expect(await raw.ttl(board)).toBe(-1);
	});

	it('increments in item order within one batch, and "Only Update If Higher" keeps a best score', async () => {
		const p = uniquePrefix('lb');
		const board = `${p}engagement`;
		const inc = await runNode({
			parameters: add(board, { scoreMode: 'increment' }),
			items: [
				{ post: 'a', score: 5 },
				{ post: 'a', score: 3 },
				{ post: 'b', score: -2 },
			],
		});
		expect(inc.outputs[0].map((o) => o.score)).toEqual([5, 8, -2]);
		expect(inc.outputs[0][0]).toMatchObject({ incrementedBy: 5 });
		expect(await rawClient(DB).zscore(board, 'a')).toBe('8');

		const best = await runNode({
			parameters: add(board, { leaderboardOptions: { updateRule: 'gt', expireSeconds: 600 } }),
			items: [
				{ post: 'a', score: 6 },
				{ post: 'b', score: 10 },
			],
		});
		expect(best.outputs[0]).toEqual([
			expect.objectContaining({ member: 'a', score: 8, added: false }),
			expect.objectContaining({ member: 'b', score: 10, added: false }),
		]);
		const ttl = await rawClient(DB).ttl(board);
		expect(ttl).toBeGreaterThan(500);
		expect(ttl).toBeLessThanOrEqual(600);
	});

	it('returns the top N with scores, as one item or one item per entry, highest or lowest first', async () => {
		const p = uniquePrefix('lb');
		const board = `${p}top_content`;
		await rawClient(DB).zadd(board, 450, 'post_123', 320, 'post_124', 700, 'post_126', 10, 'post_127');
		const top = await runNode({ parameters: { resource: 'leaderboard', operation: 'top', leaderboard: board, topN: 3 } });
		expect(top.outputs[0]).toEqual([
			{
				leaderboard: board,
				key: board,
				count: 3,
				entries: [
					{ rank: 1, member: 'post_126', score: 700 },
					{ rank: 2, member: 'post_123', score: 450 },
					{ rank: 3, member: 'post_124', score: 320 },
				],
			},
		]);
		const split = await runNode({
			parameters: {
				resource: 'leaderboard',
				operation: 'top',
				leaderboard: board,
				topN: '={{ $json.n }}',
				leaderboardReadOptions: { splitEntries: true, order: 'asc' },
			},
			items: [{ n: 2 }],
		});
		expect(split.outputs[0]).toEqual([
			{ leaderboard: board, rank: 1, member: 'post_127', score: 10 },
			{ leaderboard: board, rank: 2, member: 'post_124', score: 320 },
		]);
		expect(split.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);
		const empty = await runNode({ parameters: { resource: 'leaderboard', operation: 'top', leaderboard: `${p}none`, topN: 5 } });
		expect(empty.outputs[0][0]).toMatchObject({ count: 0, entries: [] });
	});

	it('reports rank and score of members, and removes them', async () => {
		const p = uniquePrefix('lb');
		const board = `${p}b`;
		const raw = rawClient(DB);
		await raw.zadd(board, 450, 'post_123', 320, 'post_124');
		const rank = await runNode({
			parameters: { resource: 'leaderboard', operation: 'rank', leaderboard: board, member: '={{ $json.m }}' },
			items: [{ m: 'post_124' }, { m: 'post_999' }],
		});
		expect(rank.outputs[0]).toEqual([
			{ leaderboard: board, member: 'post_124', found: true, rank: 2, score: 320, total: 2 },
			{ leaderboard: board, member: 'post_999', found: false, rank: null, score: null, total: 2 },
		]);
		const low = await runNode({
			parameters: { resource: 'leaderboard', operation: 'rank', leaderboard: board, member: 'post_124', leaderboardReadOptions: { order: 'asc' } },
		});
		expect(low.outputs[0][0]).toMatchObject({ rank: 1 });
		const removed = await runNode({
			parameters: { resource: 'leaderboard', operation: 'remove', leaderboard: board, member: '={{ $json.m }}' },
			items: [{ m: 'post_123' }, { m: 'post_999' }],
		});
		expect(removed.outputs[0].map((o) => o.removed)).toEqual([true, false]);
		expect(await raw.zrange(board, 0, -1)).toEqual(['post_124']);
	});

	it('namespaces the leaderboard with the credential key prefix and uses the default DB', async () => {
		const p = uniquePrefix('lb');
		const result = await runNode({
			credentials: testCredentials({ keyPrefix: `${p}env:`, defaultDb: 6 }) as never,
			credentialId: 'cred-lb-prefix',
			parameters: add('top_content'),
			items: [{ post: 'x', score: 1 }],
		});
		expect(result.outputs[0][0]).toMatchObject({ key: `${p}env:top_content` });
		expect(await rawClient(6).zscore(`${p}env:top_content`, 'x')).toBe('1');
		await rawClient(6).del(`${p}env:top_content`);
	});

	it('refuses NaN, Infinity and non-numeric scores before writing anything; continueOnFail keeps the good items', async () => {
		const p = uniquePrefix('lb');
		const board = `${p}bad`;
		for (const bad of ['abc', 'Infinity', '-Infinity', 'NaN', '']) {
			const result = await runNode({
				parameters: add(board),
				items: [
					{ post: 'good', score: 1 },
					{ post: 'bad', score: bad },
				],
			});
			expect(result.error?.message).toMatch(/^"Score" must be a finite number.* \[item 1\]$/);
		}
		expect(await rawClient(DB).exists(board)).toBe(0);
		const continued = await runNode({
			continueOnFail: true,
			parameters: add(board),
			items: [
				{ post: 'good', score: 1 },
				{ post: '   ', score: 2 },
			],
		});
		expect(continued.outputs[0][0]).toMatchObject({ member: 'good', score: 1 });
		expect(continued.outputs[0][1].error).toMatch(/^"Member" is empty.* \[item 1\]$/);
		expect(await rawClient(DB).zrange(board, 0, -1)).toEqual(['good']);
	});
});
