import type { IDataObject, IExecuteFunctions, ITriggerFunctions } from 'n8n-workflow';

import { DEFAULT_MAX_VALUE_BYTES, encodeJson } from '../../platform/codec';
import { queueNameProblem, trimIdentifier } from '../../platform/keys';
import { invalidInput, invalidSetting } from './errors';
import { NOT_FAST, readFast } from './fast-params';

/**
 * The one parameter reader of both nodes. Each read evaluates a field and validates it before
 * anything is sent to Redis, so bad input never causes a partial write, and every problem is
 * worded the same way: the field's label, what is wrong, and the fix as the description. The
 * action node reads per item (ItemParams), the trigger once per activation (TriggerParams);
 * only where the value comes from and how the error names its item differ.
 */
export abstract class ParamReader {
	/** The field's value (expressions resolved), or `fallback` when it is not set. */
	abstract raw(name: string, fallback?: unknown): unknown;

	protected abstract invalid(field: string, problem: string, fix?: string): Error;

	fail(field: string, problem: string, fix?: string): never {
		throw this.invalid(field, problem, fix);
	}

	/**
	 * An identifier that becomes part of a key or a channel name (an ID, a queue, a lock, a member).
	 * Surrounding whitespace is trimmed as Python's `str.strip()` does, so `= {{ $json.id }}` with a
	 * stray space, or a trailing newline from a sheet, names the same key as the clean ID does here
	 * and in the Python services; inside, every character is kept (keys are literal, never patterns).
	 */
	key(name: string, label: string, fallback = ''): string {
		const value = this.raw(name, fallback);
		if (typeof value !== 'string' && typeof value !== 'number') {
			this.fail(label, `must be text, got ${describe(value)}`, `Set "${label}" to a non-empty string`);
		}
		return this.checkKey(String(value), label);
	}

	/** Like key(), for an optional identifier: '' when it is not set or only whitespace. */
	optionalKey(name: string, label: string): string {
		const value = this.raw(name, '');
		if (value === undefined || value === null) return '';
		if (typeof value !== 'string' && typeof value !== 'number') {
			this.fail(label, `must be text, got ${describe(value)}`, `Leave "${label}" empty or set it to a string`);
		}
		const text = String(value);
		return trimIdentifier(text) === '' ? '' : this.checkKey(text, label);
	}

	/** The name of a job queue: an identifier that also follows the queue-name rule of platform/keys.ts. */
	queueName(name: string, label = 'Queue Name'): string {
		const queue = this.key(name, label);
		const problem = queueNameProblem(queue);
		if (problem) this.fail(label, problem.problem, problem.fix);
		return queue;
	}

	private checkKey(value: string, label: string): string {
		const text = trimIdentifier(value);
		if (text.length === 0) this.fail(label, 'is empty', `Set "${label}" to a non-empty value (spaces around it are ignored)`);
		// A lone surrogate has no UTF-8 form: it would be sent as U+FFFD, so two different
		// identifiers could silently share one key.
		if (/\p{Cs}/u.test(text)) {
			this.fail(label, 'contains a broken Unicode character (a lone surrogate)', 'Remove the broken character from the identifier');
		}
		if (Buffer.byteLength(text, 'utf8') > 1024) {
			this.fail(label, 'is longer than 1024 bytes', 'Use a shorter identifier; long keys waste memory');
		}
		return text;
	}

	string(name: string, label: string, { allowEmpty = false } = {}): string {
		const value = this.raw(name, '');
		if (value === undefined || value === null) {
			if (allowEmpty) return '';
			this.fail(label, 'is empty', `Set "${label}"`);
		}
		const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
		if (!allowEmpty && text.length === 0) this.fail(label, 'is empty', `Set "${label}"`);
		return text;
	}

	/** One of the values an options field offers (an expression may give anything). */
	oneOf<T extends string>(name: string, label: string, allowed: readonly T[], fallback: T): T {
		const value = this.raw(name, fallback);
		if (value === undefined || value === null || value === '') return fallback;
		if (!allowed.includes(value as T)) {
			this.fail(label, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${describe(value)}`, `Choose ${allowed.join(' or ')}`);
		}
		return value as T;
	}

	/** A whole number within bounds (TTLs, counts, limits). */
	integer(name: string, label: string, bounds: IntegerBounds = {}): number {
		return this.checkInteger(this.raw(name, undefined), label, bounds);
	}

	/** Like integer(), for an optional field (for example inside "Options") with a default. */
	integerOr(name: string, label: string, fallback: number, bounds: IntegerBounds = {}): number {
		const value = this.raw(name, fallback);
		if (value === undefined || value === null || value === '') return fallback;
		return this.checkInteger(value, label, bounds);
	}

	checkInteger(value: unknown, label: string, { min = 1, max = Number.MAX_SAFE_INTEGER, unit = '' }: IntegerBounds = {}): number {
		const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
		if (typeof n !== 'number' || !Number.isFinite(n) || !Number.isInteger(n) || n < min || n > max) {
			const what = min === 1 ? 'a positive whole number' : `a whole number of at least ${min}`;
			// The upper bound is named only when it is what the value broke, to keep the common message short.
			const range = typeof n === 'number' && n > max ? ` (at most ${max})` : '';
			this.fail(
				label,
				`must be ${what}${unit ? ` of ${unit}` : ''}${range}, got ${describe(value)}`,
				`Enter a whole number${unit ? ` of ${unit}` : ''}${min === 1 ? ' greater than 0' : ''}`,
			);
		}
		return n;
	}

	/** A finite number (scores, increments). */
	number(name: string, label: string): number {
		const value = this.raw(name);
		const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
		if (typeof n !== 'number' || !Number.isFinite(n)) {
			this.fail(label, `must be a finite number, got ${describe(value)}`, 'Enter a number such as 42 or -1.5');
		}
		return n;
	}

	/** A number within bounds, fractions allowed (durations), or `fallback` when the field is empty. */
	numberOr(name: string, label: string, fallback: number, { min, max, unit = '' }: NumberBounds): number {
		const value = this.raw(name, fallback);
		if (value === undefined || value === null || value === '') return fallback;
		const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
		if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
			this.fail(label, `must be a number${unit ? ` of ${unit}` : ''} from ${min} to ${max}, got ${describe(value)}`, 'Enter a number such as 30 or 0.5');
		}
		return n;
	}

	/** A JSON object, from either an object value or a JSON string. */
	jsonObject(name: string, label: string): IDataObject {
		const value = this.json(name, label);
		if (value === null || typeof value !== 'object' || Array.isArray(value)) {
			this.fail(label, `must be a JSON object, got ${describe(value)}`, 'Use an object such as {"name": "John"}');
		}
		return value as IDataObject;
	}

	/** Any JSON value, from either a value or a JSON string. */
	json(name: string, label: string): unknown {
		const value = this.raw(name);
		if (typeof value !== 'string') return value;
		if (value.trim() === '') this.fail(label, 'is empty', 'Enter JSON, for example {"status": "approved"}');
		try {
			return JSON.parse(value) as unknown;
		} catch (error) {
			return this.fail(label, `is not valid JSON (${(error as Error).message})`, 'Fix the JSON syntax');
		}
	}

	/** The value as JSON text within the size limit of `options.maxValueBytes` (default 1 MB). */
	encode(field: string, value: unknown, maxBytes = this.maxValueBytes()): string {
		try {
			return encodeJson(value, maxBytes);
		} catch (error) {
			return this.fail(field, (error as Error).message);
		}
	}

	/** The "Max Value Size (Bytes)" option, read from the operation's Options collection. */
	maxValueBytes(): number {
		return this.integerOr('options.maxValueBytes', 'Max Value Size (Bytes)', DEFAULT_MAX_VALUE_BYTES);
	}

	boolean(name: string, fallback = false): boolean {
		return this.raw(name, fallback) === true;
	}

	options(name = 'options'): IDataObject {
		return (this.raw(name, {}) as IDataObject) ?? {};
	}

	/**
	 * Whether a field (say a collection's option) is set at all. Cheaper than looking into
	 * options(): a whole collection always goes through n8n's slow read, a single option
	 * that is unset or fixed does not (fast-params.ts), and this runs per item.
	 */
	isSet(name: string): boolean {
		return this.raw(name, NOT_SET) !== NOT_SET;
	}
}

const NOT_SET = Symbol('not-set');

/** The parameters of one input item of the action node. */
export class ItemParams extends ParamReader {
	constructor(
		private readonly ctx: IExecuteFunctions,
		readonly itemIndex: number,
	) {
		super();
	}

	raw(name: string, fallback?: unknown): unknown {
		// Fixed values and `={{ $json.path }}` fields skip n8n's per-call cost (see fast-params.ts).
		const fast = readFast(this.ctx, name, this.itemIndex, fallback);
		if (fast !== NOT_FAST) return fast;
		return this.ctx.getNodeParameter(name, this.itemIndex, fallback);
	}

	protected invalid(field: string, problem: string, fix?: string): Error {
		return invalidInput(this.ctx.getNode(), this.itemIndex, field, problem, fix);
	}
}

/** The parameters of a trigger, read when it is activated (no items). */
export class TriggerParams extends ParamReader {
	constructor(private readonly ctx: ITriggerFunctions) {
		super();
	}

	/** The node's type version, for settings a later version renamed. */
	get version(): number {
		return this.ctx.getNode().typeVersion;
	}

	raw(name: string, fallback?: unknown): unknown {
		return this.ctx.getNodeParameter(name, fallback);
	}

	protected invalid(field: string, problem: string, fix?: string): Error {
		return invalidSetting(this.ctx.getNode(), field, problem, fix);
	}
}

export interface IntegerBounds {
	min?: number;
	max?: number;
	unit?: string;
}

export interface NumberBounds {
	min: number;
	max: number;
	unit?: string;
}

export function describe(value: unknown): string {
	if (value === undefined) return 'nothing';
	if (value === null) return 'null';
	if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
	if (typeof value === 'string') return value.length > 40 ? `"${value.slice(0, 40)}..."` : `"${value}"`;
	if (Array.isArray(value)) return 'an array';
	return typeof value === 'object' ? 'an object' : String(value);
}
