import { entriesFromReply, parseScore } from '../../../../platform/leaderboard';
import type { Operation } from '../../../shared/operation';
import type { ItemParams } from '../../../shared/params';

const MAX_TOP = 10_000;
const MAX_EXPIRE = 10 * 365 * 24 * 3600;

function leaderboard(p: ItemParams): string {
	return p.key('leaderboard', 'Leaderboard');
}

function member(p: ItemParams): string {
	return p.key('member', 'Member');
}

function descending(p: ItemParams): boolean {
	return p.oneOf('leaderboardReadOptions.order', 'Order', ['desc', 'asc'] as const, 'desc') === 'desc';
}

export const leaderboardOperations: Record<string, Operation> = {
	add: {
		kind: 'pipelined',
		role: 'default',
		action: 'Add or Increment Score',
		plan(p, env) {
			const name = leaderboard(p);
			const who = member(p);
			const score = p.number('score', 'Score');
			const mode = p.oneOf('scoreMode', 'Mode', ['set', 'increment'] as const, 'set');
			const rule = p.oneOf('leaderboardOptions.updateRule', 'Only Update If', ['always', 'gt', 'lt'] as const, 'always');
			const expire = p.integerOr('leaderboardOptions.expireSeconds', 'Expire After (Seconds)', 0, {
				min: 0,
				max: MAX_EXPIRE,
				unit: 'seconds',
			});
			const key = env.keys.raw(name);
			return {
				send: (pipe) => {
					if (mode === 'increment') pipe.zincrby(key, score, who);
					else if (rule === 'always') pipe.zadd(key, score, who);
					else pipe.zadd(key, rule === 'gt' ? 'GT' : 'LT', score, who);
					// ZADD GT/LT may leave the old score: read back what is stored now.
					pipe.zscore(key, who);
					if (expire > 0) pipe.expire(key, expire);
				},
				read: ([first, stored]) => ({
					json: {
						leaderboard: name,
						key,
						member: who,
						score: parseScore(stored),
						...(mode === 'set' ? { added: first === 1 } : { incrementedBy: score }),
					},
				}),
			};
		},
	},
	top: {
		kind: 'pipelined',
		role: 'default',
		action: 'Get Top Entries',
		plan(p, env) {
			const name = leaderboard(p);
			const count = p.integer('topN', 'Count', { min: 1, max: MAX_TOP, unit: 'entries' });
			const desc = descending(p);
			const split = p.boolean('leaderboardReadOptions.splitEntries');
			const key = env.keys.raw(name);
			return {
				send: (pipe) =>
					void (desc ? pipe.zrevrange(key, 0, count - 1, 'WITHSCORES') : pipe.zrange(key, 0, count - 1, 'WITHSCORES')),
				read: ([reply]) => {
					const entries = entriesFromReply(reply);
					if (split) return { json: entries.map((entry) => ({ leaderboard: name, ...entry })) };
					return { json: { leaderboard: name, key, count: entries.length, entries: entries.map((e) => ({ ...e })) } };
				},
			};
		},
	},
	rank: {
		kind: 'pipelined',
		role: 'default',
		action: 'Get Rank and Score',
		plan(p, env) {
			const name = leaderboard(p);
			const who = member(p);
			const desc = descending(p);
			const key = env.keys.raw(name);
			return {
				send: (pipe) => void (desc ? pipe.zrevrank(key, who) : pipe.zrank(key, who)).zscore(key, who).zcard(key),
				read: ([index, score, size]) => ({
					json:
						index === null
							? { leaderboard: name, member: who, found: false, rank: null, score: null, total: size as number }
							: {
									leaderboard: name,
									member: who,
									found: true,
									rank: (index as number) + 1,
									score: parseScore(score),
									total: size as number,
								},
				}),
			};
		},
	},
	remove: {
		kind: 'pipelined',
		role: 'default',
		action: 'Remove Member',
		plan(p, env) {
			const name = leaderboard(p);
			const who = member(p);
			const key = env.keys.raw(name);
			return {
				send: (pipe) => void pipe.zrem(key, who),
				read: ([removed]) => ({ json: { leaderboard: name, member: who, removed: removed === 1 } }),
			};
		},
	},
};
