/**
 * Field filters for update messages: "emit only when `data.status` is `approved`".
 * Plain TypeScript so the trigger, the bench and the Python-facing docs share one meaning.
 */

export interface FieldFilter {
	/** Dot path into the message, e.g. `status` or `data.status`; numeric parts index arrays (`items.0.id`). */
	path: string;
	/** The wanted value, compared as text (see {@link valueMatches}). */
	value: string;
}

const MISSING = Symbol('missing');

/** Reads a dot path from a parsed message; returns MISSING when any step does not exist. */
export function readPath(message: unknown, path: string): unknown {
	let current: unknown = message;
	for (const part of path.split('.')) {
		if (current === null || typeof current !== 'object') return MISSING;
		// Own properties only: a path like `constructor` must not reach the prototype.
		if (!Object.prototype.hasOwnProperty.call(current, part)) return MISSING;
		current = (current as Record<string, unknown>)[part];
	}
	return current;
}

/**
 * Values arrive from the UI as text, while JSON fields may be numbers, booleans or null.
 * Comparing the textual form lets `123` match both 123 and "123", `true` match true, and
 * `null` match null; objects and arrays compare by their JSON text.
 */
export function valueMatches(actual: unknown, wanted: string): boolean {
	if (actual === MISSING || actual === undefined) return false;
	if (typeof actual === 'string') return actual === wanted;
	if (actual === null) return wanted === 'null';
	if (typeof actual === 'number' || typeof actual === 'boolean') return String(actual) === wanted.trim();
	return JSON.stringify(actual) === wanted.trim();
}

/**
 * True when every filter matches (an empty list matches everything). Text messages that are
 * not JSON objects have no fields, so any filter rejects them.
 */
export function matchesAll(message: unknown, filters: readonly FieldFilter[]): boolean {
	for (const filter of filters) {
		if (!valueMatches(readPath(message, filter.path), filter.value)) return false;
	}
	return true;
}

/** Drops rows with an empty path and trims paths, so a half-filled UI row does not reject everything. */
export function normaliseFilters(rows: ReadonlyArray<{ path?: unknown; value?: unknown }>): FieldFilter[] {
	return rows
		.map((row) => ({ path: String(row.path ?? '').trim(), value: row.value === undefined || row.value === null ? '' : String(row.value) }))
		.filter((row) => row.path.length > 0);
}
