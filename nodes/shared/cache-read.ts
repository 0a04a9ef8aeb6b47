import type { IDataObject } from 'n8n-workflow';

import { decodeMaybeJson } from '../../platform/codec';
import type { PipelinedItem } from './operation';

/**
 * The read-back of a JSON cache entry (search results, API responses): one GET + TTL round
 * trip, and an output that says whether it was a hit.
 */
export function readCacheEntry(key: string, base: IDataObject, valueField: string): PipelinedItem {
	return {
		send: (pipe) => void pipe.get(key).ttl(key),
		read: ([text, ttl]) => ({
			json:
				text === null
					? { ...base, key, hit: false, [valueField]: null }
					: { ...base, key, hit: true, [valueField]: decodeMaybeJson(text as string) as string, ttl: ttl as number },
		}),
	};
}
