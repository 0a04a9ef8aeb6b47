import { decodeJsonOrText, ValueError } from './codec';

/**
 * Content values are either raw UTF-8 text (what redis_manager.cache_content stores for a
 * string) or JSON text. A reader cannot always tell which one was meant ("42" is both), so
 * it chooses: auto (JSON when it parses), text, or json (must parse).
 */
export type ContentReadMode = 'auto' | 'text' | 'json';

export interface DecodedContent {
	value: unknown;
	valueType: 'json' | 'text';
}

export function decodeContent(text: string, mode: ContentReadMode): DecodedContent {
	if (mode === 'text') return { value: text, valueType: 'text' };
	const decoded = decodeJsonOrText(text);
	if (decoded.json) return { value: decoded.value, valueType: 'json' };
	if (mode === 'json') throw new ValueError(`the cached value is not JSON (${decoded.error}); read it as text instead`);
	return { value: text, valueType: 'text' };
}
