import { readCacheEntry } from '../../../shared/cache-read';
import type { Operation } from '../../../shared/operation';
import type { ItemParams } from '../../../shared/params';

const MAX_TTL = 10 * 365 * 24 * 3600;

function target(p: ItemParams): { namespace: string; key: string } {
	return { namespace: p.key('namespace', 'Namespace'), key: p.key('cacheKey', 'Key') };
}

export const apiCacheOperations: Record<string, Operation> = {
	set: {
		kind: 'pipelined',
		role: 'cache',
		action: 'Cache API Response',
		plan(p, env) {
			const t = target(p);
			const value = p.encode('Value', p.json('value', 'Value'));
			const seconds = p.integer('ttl', 'TTL (Seconds)', { min: 1, max: MAX_TTL, unit: 'seconds' });
			const key = env.keys.apiCache(t.namespace, t.key);
			return {
				send: (pipe) => void pipe.set(key, value, 'EX', seconds),
				read: () => ({ json: { namespace: t.namespace, cacheKey: t.key, key, stored: true, ttl: seconds } }),
			};
		},
	},
	get: {
		kind: 'pipelined',
		role: 'cache',
		action: 'Get Cached API Response',
		plan(p, env) {
			const t = target(p);
			return readCacheEntry(env.keys.apiCache(t.namespace, t.key), { namespace: t.namespace, cacheKey: t.key }, 'value');
		},
	},
	delete: {
		kind: 'pipelined',
		role: 'cache',
		action: 'Delete Cached API Response',
		plan(p, env) {
			const t = target(p);
			const key = env.keys.apiCache(t.namespace, t.key);
			return {
				send: (pipe) => void pipe.del(key),
				read: ([deleted]) => ({ json: { namespace: t.namespace, cacheKey: t.key, key, deleted: deleted === 1 } }),
			};
		},
	},
};
