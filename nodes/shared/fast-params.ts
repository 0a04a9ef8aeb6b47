import type { IExecuteFunctions } from 'n8n-workflow';

/**
 * Fast reads of the two most common kinds of field, giving exactly what n8n's
 * getNodeParameter gives:
 * - a fixed value (a number, boolean or text without "="): the same for every item, so it is
 *   read once per execution; a field that is not set at all gives the caller's fallback;
 * - a plain property path on the current item, the whole field being `={{ $json.id }}`,
 *   `={{ $json.user.email }}`, `={{ $json["first name"] }}` or `={{ $json.tags[0] }}`: n8n's
 *   `$json` is the input item's json, so the value is read from the item directly.
 *
 * Why: n8n evaluates each expression in a fresh sandbox (a data proxy, the global context,
 * `$now` in the workflow's time zone), 50-100 µs per field per item, and even a fixed value
 * costs a few µs of lookups and schema checks per call. In a 10,000-item execution that was
 * over 90% of the node's time (see BENCHMARKS.md), far more than the Redis round trips that
 * pipelining saves. Everything else — other variables or functions, operators, text around
 * the braces, collections, a missing or inherited property, a non-object on the way, a value
 * that is not plain JSON, null — goes through n8n unchanged, so its results and errors stay
 * n8n's own.
 */

const WHOLE = /^=\{\{\s*\$json((?:\.[A-Za-z_$][\w$]*|\[(?:"[^"\\]*"|'[^'\\]*'|\d+)\])+)\s*\}\}$/;
const SEGMENT = /\.([A-Za-z_$][\w$]*)|\["([^"\\]*)"\]|\['([^'\\]*)'\]|\[(\d+)\]/g;
/** Names n8n's expression sandbox refuses; leave them to it. */
const BLOCKED = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 64;

/** Returned when n8n must read the field. */
export const NOT_FAST = Symbol('not-fast');

const UNSET = Symbol('unset');

type Field =
	| { kind: 'fixed'; value: string | number | boolean }
	| { kind: 'unset' }
	| { kind: 'path'; path: string[] }
	| { kind: 'n8n' };

interface ContextCache {
	fields: Map<string, Field>;
	items: Array<{ json: unknown }> | undefined;
}

const cache = new WeakMap<IExecuteFunctions, ContextCache>();

/** The property path of a `={{ $json... }}` field, or null when it is anything else. */
export function parseItemPath(raw: unknown): string[] | null {
	if (typeof raw !== 'string') return null;
	const match = WHOLE.exec(raw);
	if (!match) return null;
	const path: string[] = [];
	for (const m of match[1].matchAll(SEGMENT)) {
		const name = m[1] ?? m[2] ?? m[3] ?? m[4];
		if (BLOCKED.has(name)) return null;
		path.push(name);
	}
	return path;
}

/** Parsed field texts, shared by executions: the same workflow runs the same expressions. */
const parsed = new Map<string, Field>();
const MAX_PARSED = 2000;

function classify(raw: unknown): Field {
	if (typeof raw === 'string' && raw.startsWith('=')) {
		let field = parsed.get(raw);
		if (!field) {
			const path = parseItemPath(raw);
			field = path ? { kind: 'path', path } : { kind: 'n8n' };
			if (parsed.size >= MAX_PARSED) parsed.clear();
			parsed.set(raw, field);
		}
		return field;
	}
	if (raw === undefined) return { kind: 'unset' };
	if (typeof raw === 'number' || typeof raw === 'boolean') return { kind: 'fixed', value: raw };
	if (typeof raw === 'string') return { kind: 'fixed', value: raw };
	return { kind: 'n8n' };
}

function isPlainJson(value: unknown, depth: number): boolean {
	if (value === null) return true;
	switch (typeof value) {
		case 'string':
		case 'boolean':
			return true;
		case 'number':
			return Number.isFinite(value);
		case 'object': {
			if (depth > MAX_DEPTH) return false;
			if (Array.isArray(value)) return value.every((v) => isPlainJson(v, depth + 1));
			const proto = Object.getPrototypeOf(value) as unknown;
			if (proto !== Object.prototype && proto !== null) return false;
			for (const key in value) {
				if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
			}
			return true;
		}
		default:
			return false;
	}
}

function fieldOf(ctx: IExecuteFunctions, entry: ContextCache, name: string, itemIndex: number): Field {
	let field = entry.fields.get(name);
	if (field) return field;
	// With rawExpressions n8n returns the stored value, or this fallback when the field is not
	// set (without a fallback it would throw, and building that error costs more than the read).
	let raw: unknown;
	try {
		raw = ctx.getNodeParameter(name, itemIndex, UNSET, { rawExpressions: true });
	} catch {
		raw = UNSET;
	}
	field = classify(raw === UNSET ? undefined : raw);
	entry.fields.set(name, field);
	return field;
}

/**
 * The field's value for one item when it is a fixed value, an unset field with a fallback, or a
 * `$json` path that resolves to plain JSON other than null; otherwise NOT_FAST.
 */
export function readFast(ctx: IExecuteFunctions, name: string, itemIndex: number, fallback: unknown): unknown {
	let entry = cache.get(ctx);
	if (!entry) {
		entry = { fields: new Map(), items: undefined };
		cache.set(ctx, entry);
	}
	const field = fieldOf(ctx, entry, name, itemIndex);
	switch (field.kind) {
		case 'fixed':
			return field.value;
		case 'unset':
			// Without a fallback n8n throws; let it.
			return fallback === undefined ? NOT_FAST : fallback;
		case 'n8n':
			return NOT_FAST;
		case 'path': {
			entry.items ??= ctx.getInputData() as Array<{ json: unknown }>;
			let value: unknown = entry.items[itemIndex]?.json;
			for (const segment of field.path) {
				if (value === null || typeof value !== 'object') return NOT_FAST;
				if (!Object.prototype.hasOwnProperty.call(value, segment)) return NOT_FAST;
				value = (value as Record<string, unknown>)[segment];
			}
			if (value === null || value === undefined || !isPlainJson(value, 0)) return NOT_FAST;
			return value;
		}
	}
}
