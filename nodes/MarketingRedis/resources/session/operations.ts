import { decodeMaybeJson } from '../../../../platform/codec';
import type { Operation } from '../../../shared/operation';
import type { ItemParams } from '../../../shared/params';

const MAX_TTL = 10 * 365 * 24 * 3600;

function sessionId(p: ItemParams): string {
	return p.key('sessionId', 'Session ID');
}

function ttl(p: ItemParams): number {
	return p.integer('ttl', 'TTL (Seconds)', { min: 1, max: MAX_TTL, unit: 'seconds' });
}

export const sessionOperations: Record<string, Operation> = {
	set: {
		kind: 'pipelined',
		role: 'session',
		action: 'Set Session',
		plan(p, env) {
			const id = sessionId(p);
			const data = p.jsonObject('data', 'Data');
			const seconds = ttl(p);
			const value = p.encode('Data', data);
			const key = env.keys.session(id);
			return {
				send: (pipe) => void pipe.set(key, value, 'EX', seconds),
				read: () => ({ json: { sessionId: id, key, ttl: seconds, stored: true } }),
			};
		},
	},
	get: {
		kind: 'pipelined',
		role: 'session',
		action: 'Get Session',
		plan(p, env) {
			const id = sessionId(p);
			const key = env.keys.session(id);
			return {
				send: (pipe) => void pipe.get(key).ttl(key),
				read: ([value, remaining]) => ({
					json:
						value === null
							? { sessionId: id, found: false, data: null }
							: { sessionId: id, found: true, data: decodeMaybeJson(value as string) as object, ttl: remaining as number },
				}),
			};
		},
	},
	delete: {
		kind: 'pipelined',
		role: 'session',
		action: 'Delete Session',
		plan(p, env) {
			const id = sessionId(p);
			const key = env.keys.session(id);
			return {
				send: (pipe) => void pipe.del(key),
				read: ([deleted]) => ({ json: { sessionId: id, deleted: deleted === 1 } }),
			};
		},
	},
	refresh: {
		kind: 'pipelined',
		role: 'session',
		action: 'Refresh Session TTL',
		plan(p, env) {
			const id = sessionId(p);
			const seconds = ttl(p);
			const key = env.keys.session(id);
			return {
				send: (pipe) => void pipe.expire(key, seconds),
				read: ([applied]) => ({ json: { sessionId: id, found: applied === 1, ttl: applied === 1 ? seconds : null } }),
			};
		},
	},
};
