import { normaliseQuery } from '../../../../platform/keys';
import { readCacheEntry } from '../../../shared/cache-read';
import type { Operation } from '../../../shared/operation';
import type { ItemParams } from '../../../shared/params';

const MAX_TTL = 10 * 365 * 24 * 3600;

/** The query as given and as normalised; a query of only spaces has no key. */
function query(p: ItemParams): { query: string; normalised: string } {
	const text = p.string('query', 'Query');
	const normalised = normaliseQuery(text);
	if (normalised.length === 0) p.fail('Query', 'is empty after trimming spaces', 'Enter the search query');
	return { query: text, normalised };
}

export const searchOperations: Record<string, Operation> = {
	cacheResults: {
		kind: 'pipelined',
		role: 'cache',
		action: 'Cache Search Results',
		plan(p, env) {
			const q = query(p);
			const value = p.encode('Results', p.json('results', 'Results'));
			const seconds = p.integer('ttl', 'TTL (Seconds)', { min: 1, max: MAX_TTL, unit: 'seconds' });
			const key = env.keys.search(q.query);
			return {
				send: (pipe) => void pipe.set(key, value, 'EX', seconds),
				read: () => ({
					json: { query: q.query, normalisedQuery: q.normalised, key, stored: true, ttl: seconds },
				}),
			};
		},
	},
	getResults: {
		kind: 'pipelined',
		role: 'cache',
		action: 'Get Cached Search Results',
		plan(p, env) {
			const q = query(p);
			return readCacheEntry(env.keys.search(q.query), { query: q.query, normalisedQuery: q.normalised }, 'results');
		},
	},
};
