import { assertSize } from '../../../../platform/codec';
import { decodeContent, type ContentReadMode } from '../../../../platform/content';
import type { Operation } from '../../../shared/operation';
import type { ItemParams } from '../../../shared/params';

const MAX_TTL = 10 * 365 * 24 * 3600;

function contentId(p: ItemParams): string {
	return p.key('contentId', 'Content ID');
}

/** Text is stored raw (the Python side reads it with a plain GET); JSON as JSON text. */
function encodeContent(p: ItemParams): string {
	const type = p.oneOf('valueType', 'Value Type', ['text', 'json'] as const, 'text');
	if (type === 'json') return p.encode('JSON', p.json('json', 'JSON'));
	const text = p.string('text', 'Text');
	try {
		assertSize(text, p.maxValueBytes());
	} catch (error) {
		p.fail('Text', (error as Error).message);
	}
	return text;
}

function readAs(p: ItemParams): ContentReadMode {
	return p.oneOf('getOptions.readAs', 'Read As', ['auto', 'text', 'json'] as const, 'auto');
}

export const contentOperations: Record<string, Operation> = {
	cache: {
		kind: 'pipelined',
		role: 'content',
		action: 'Cache Content',
		plan(p, env) {
			const id = contentId(p);
			const value = encodeContent(p);
			const seconds = p.integer('ttl', 'TTL (Seconds)', { min: 1, max: MAX_TTL, unit: 'seconds' });
			const key = env.keys.content(id);
			return {
				send: (pipe) => void pipe.set(key, value, 'EX', seconds),
				read: () => ({
					json: { id, key, stored: true, ttl: seconds, bytes: Buffer.byteLength(value, 'utf8') },
				}),
			};
		},
	},
	get: {
		kind: 'pipelined',
		role: 'content',
		action: 'Get Content',
		plan(p, env) {
			const id = contentId(p);
			const mode = readAs(p);
			const key = env.keys.content(id);
			return {
				send: (pipe) => void pipe.get(key).ttl(key),
				read: ([text, ttl]) => {
					if (text === null) return { json: { id, key, hit: false, value: null } };
					const { value, valueType } = decodeContent(text as string, mode);
					return { json: { id, key, hit: true, value: value as string, valueType, ttl: ttl as number } };
				},
			};
		},
	},
	delete: {
		kind: 'pipelined',
		role: 'content',
		action: 'Delete Content',
		plan(p, env) {
			const id = contentId(p);
			const key = env.keys.content(id);
			return {
				send: (pipe) => void pipe.del(key),
				read: ([deleted]) => ({ json: { id, key, deleted: deleted === 1 } }),
			};
		},
	},
};
