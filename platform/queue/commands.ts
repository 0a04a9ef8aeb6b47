import { randomBytes, randomUUID } from 'node:crypto';

import { DEFAULT_MAX_VALUE_BYTES, decodeMaybeJson, encodeJson } from '../codec';
import type { QueueKeys } from '../keys';
import { keysFor, type QueueTakeReply, type ScriptArg, type ScriptTarget, type Sent } from '../scripts';
import {
	MAX_PRIORITY,
	QUEUE_DEFAULTS,
	QueueInputError,
	type CompleteOutcome,
	type CompleteResult,
	type EnqueueInput,
	type EnqueueResult,
	type FailOptions,
	type FailOutcome,
	type GroupLimits,
	type GroupStats,
	type Job,
	type QueueStats,
	type RecoverResult,
	type TakeOptions,
} from './types';

/**
 * The script layer of the queue, one pair per script: `send*` builds the keys (by the names
 * the script declares) and arguments and calls the script on a client (the promise of its
 * reply) or adds it to a pipeline; `parse*` turns the reply into a result. JobQueue, the
 * node's pipelined operations and the bench all go through these.
 */

/** A take that found nothing: when to look again, and what its housekeeping did. */
export interface TakeEmpty {
	/** Epoch ms of the next delayed job, or null. */
	nextRunAt: number | null;
	now: number;
	promoted: number;
	recovered: number;
	buried: number;
	/** A group with ready jobs was held back by a per-group limit (waiting on the waiting list would not help). */
	held: boolean;
}

export interface PreparedJob {
	id: string;
	args: ScriptArg[];
}

function wholeNumber(value: number | undefined, field: string, min: number, max: number, fallback: number): number {
	if (value === undefined) return fallback;
	if (!Number.isInteger(value) || value < min || value > max) {
		throw new QueueInputError(field, `must be a whole number from ${min} to ${max}, got ${String(value)}`);
	}
	return value;
}

export function newJobId(): string {
	return randomUUID();
}

function newLease(): string {
	return randomBytes(9).toString('base64url');
}

/** Validates one job and builds its envelope; throws QueueInputError before anything is sent. */
export function prepareEnqueue(input: EnqueueInput): PreparedJob {
	const dedup = input.id !== undefined && input.id !== '';
	const id = dedup ? String(input.id) : newJobId();
	const maxAttempts = wholeNumber(input.maxAttempts, 'maxAttempts', 1, 1000, QUEUE_DEFAULTS.maxAttempts);
	const priority = wholeNumber(input.priority, 'priority', 0, MAX_PRIORITY, 0);
	const backoffMs = wholeNumber(input.backoffMs, 'backoffMs', 0, QUEUE_DEFAULTS.maxBackoffMs, QUEUE_DEFAULTS.backoffMs);
	const delayMs = wholeNumber(input.delayMs, 'delayMs', 0, 10 * 365 * 86_400_000, 0);
	const runAt = input.runAt === undefined ? 0 : input.runAt;
	if (!Number.isFinite(runAt) || runAt < 0) throw new QueueInputError('runAt', `must be a time, got ${String(input.runAt)}`);
	if (input.payload === undefined) throw new QueueInputError('payload', 'is empty');
	const group = input.group ?? '';
	if (typeof group !== 'string') throw new QueueInputError('group', `must be text, got ${typeof group}`);
	// `payload` stays last, and the counters the scripts read stay small numbers.
	const envelope: Record<string, unknown> = {
		id,
		attempt: 0,
		maxAttempts,
		backoffMs,
		enqueuedAt: Date.now(),
	};
	if (priority > 0) envelope.priority = priority;
	if (group !== '') envelope.group = group;
	envelope.payload = input.payload;
	const text = encodeJson(envelope, input.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES);
	return { id, args: [id, text, dedup ? '1' : '0', delayMs, Math.floor(runAt), priority, group] };
}

export function sendEnqueue<T extends ScriptTarget>(target: T, keys: QueueKeys, job: PreparedJob): Sent<T, unknown> {
	return target.queueEnqueue(...keysFor('queueEnqueue', keys), ...job.args) as Sent<T, unknown>;
}

export function parseEnqueue(id: string, reply: unknown): EnqueueResult {
	const [ok, runAt] = reply as [number, number];
	return { id, enqueued: ok === 1, runAt: ok === 1 ? Number(runAt) : null };
}

/** The take script's limit arguments: max in flight, max takes per window, window ms (0 = none). */
export function groupLimitArgs(limits: GroupLimits = {}): [number, number, number] {
	const maxInFlight = wholeNumber(limits.maxInFlight, 'maxInFlight', 0, 1_000_000, 0);
	const rateMax = wholeNumber(limits.rateMax, 'rateMax', 0, 1_000_000_000, 0);
	const windowMs = wholeNumber(limits.rateWindowMs, 'rateWindowMs', 0, 7 * 86_400_000, 0);
	if (rateMax > 0 && windowMs === 0) throw new QueueInputError('rateWindowMs', 'must be above 0 when rateMax is set');
	return [maxInFlight, rateMax, windowMs];
}

function takeArgs(options: TakeOptions): ScriptArg[] {
	const args: ScriptArg[] = [
		options.visibilityMs ?? QUEUE_DEFAULTS.visibilityMs,
		newJobId(),
		newLease(),
		options.defaultMaxAttempts ?? QUEUE_DEFAULTS.maxAttempts,
		QUEUE_DEFAULTS.moveLimit,
	];
	// No limits, no limit arguments (the script reads absent ones as 0): every argument is
	// encoded, sent and parsed on each take, and a take without limits is the common one.
	const limits = groupLimitArgs(options.groupLimits);
	if (limits.some((n) => n > 0)) args.push(...limits);
	return args;
}

export function sendTake<T extends ScriptTarget>(target: T, keys: QueueKeys, options: TakeOptions = {}): Sent<T, QueueTakeReply> {
	return target.queueTake(...keysFor('queueTake', keys), ...takeArgs(options)) as Sent<T, QueueTakeReply>;
}

function parseJob(reply: Extract<QueueTakeReply, { 0: 'job' }>): Job {
	const [, id, envelope, attempt, maxAttempts, lease, deadline, , lastError] = reply;
	let payload: unknown = envelope;
	let enqueuedAt: number | null = null;
	let bare = false;
	let group: string | null = null;
	const parsed = decodeMaybeJson(envelope);
	if (parsed !== null && typeof parsed === 'object') {
		const fields = parsed as Record<string, unknown>;
		payload = fields.payload ?? null;
		bare = fields.source === 'bare';
		if (typeof fields.group === 'string' && fields.group !== '') group = fields.group;
		// A bare payload's enqueue time is unknown: the wrapper only records when it was taken.
		enqueuedAt = !bare && typeof fields.enqueuedAt === 'number' ? fields.enqueuedAt : null;
	}
	return {
		id,
		payload,
		attempt: Number(attempt),
		maxAttempts: Number(maxAttempts),
		enqueuedAt,
		lease,
		visibleAt: Number(deadline),
		lastError: lastError === '' ? null : lastError,
		bare,
		group,
		envelope,
	};
}

function parseEmpty(reply: Extract<QueueTakeReply, { 0: 'empty' }>): TakeEmpty {
	const [, next, now, promoted, recovered, buried, held] = reply;
	return {
		nextRunAt: Number(next) >= 0 ? Number(next) : null,
		now: Number(now),
		promoted: Number(promoted),
		recovered: Number(recovered),
		buried: Number(buried),
		held: Number(held) === 1,
	};
}

/** A job, or what the take learnt when there was none. */
export function parseTake(reply: unknown): { job: Job } | { empty: TakeEmpty } {
	const take = reply as QueueTakeReply;
	return take[0] === 'job' ? { job: parseJob(take) } : { empty: parseEmpty(take) };
}

/** The result arguments of the complete scripts: the record's JSON and its TTL (0 = store none). */
export function resultArgs(done: CompleteResult = {}): [string, number] {
	const ttlMs = done.resultTtlMs ?? (done.result === undefined ? 0 : QUEUE_DEFAULTS.resultTtlMs);
	if (!Number.isInteger(ttlMs) || ttlMs < 0) throw new QueueInputError('resultTtlMs', `must be a whole number of ms, got ${String(ttlMs)}`);
	return [ttlMs > 0 ? (JSON.stringify(done.result ?? null) ?? 'null') : '', ttlMs];
}

/** Complete, then take (one call); the take happens whatever the complete's outcome. */
export function sendCompleteTake<T extends ScriptTarget>(
	target: T,
	keys: QueueKeys,
	done: { id: string; lease: string } & CompleteResult,
	options: TakeOptions = {},
): Sent<T, unknown> {
	return target.queueCompleteTake(...keysFor('queueCompleteTake', keys), done.id, done.lease, ...resultArgs(done), ...takeArgs(options)) as Sent<T, unknown>;
}

export function parseCompleteTake(reply: unknown): { completed: CompleteOutcome; taken: ReturnType<typeof parseTake> } {
	const [completed, take] = reply as [unknown, unknown];
	return { completed: parseComplete(completed), taken: parseTake(take) };
}

export function sendComplete<T extends ScriptTarget>(target: T, keys: QueueKeys, id: string, lease = '', done: CompleteResult = {}): Sent<T, unknown> {
	return target.queueComplete(...keysFor('queueComplete', keys), id, lease, ...resultArgs(done)) as Sent<T, unknown>;
}

export function parseComplete(reply: unknown): CompleteOutcome {
	if (reply === 'done' || reply === 'missing' || reply === 'stale') return reply;
	throw new Error(`Unexpected reply from the complete script: ${JSON.stringify(reply)}`);
}

export function sendFail<T extends ScriptTarget>(
	target: T,
	keys: QueueKeys,
	id: string,
	error: string,
	options: FailOptions = {},
): Sent<T, unknown> {
	return target.queueFail(
		...keysFor('queueFail', keys),
		id,
		options.lease ?? '',
		error.slice(0, 10_000),
		options.backoffMs ?? -1,
		options.retry === false ? '0' : '1',
		options.maxBackoffMs ?? QUEUE_DEFAULTS.maxBackoffMs,
		QUEUE_DEFAULTS.maxAttempts,
		QUEUE_DEFAULTS.backoffMs,
	) as Sent<T, unknown>;
}

export function parseFail(reply: unknown): FailOutcome {
	const [status, attempt, at] = reply as [string, number, number];
	if (status === 'retry') return { status, attempt: Number(attempt), runAt: Number(at) };
	if (status === 'dead') return { status, attempt: Number(attempt), failedAt: Number(at) };
	return { status: status as 'missing' | 'stale' };
}

export function sendExtend<T extends ScriptTarget>(target: T, keys: QueueKeys, id: string, lease: string, visibilityMs: number): Sent<T, unknown> {
	return target.queueExtend(...keysFor('queueExtend', keys), id, lease, visibilityMs) as Sent<T, unknown>;
}

/** True when the deadline moved; false when the job is no longer ours. */
export function parseExtend(reply: unknown): boolean {
	return (reply as unknown[])[0] === 'ok';
}

export function sendRelease<T extends ScriptTarget>(target: T, keys: QueueKeys, id: string, lease = ''): Sent<T, unknown> {
	return target.queueRelease(...keysFor('queueRelease', keys), id, lease) as Sent<T, unknown>;
}

export function parseRelease(reply: unknown): CompleteOutcome | 'released' {
	return reply === 'released' ? reply : parseComplete(reply);
}

/** `maxGroups`: how many groups Stats lists one by one (it counts them all). */
export function sendStats<T extends ScriptTarget>(target: T, keys: QueueKeys, maxGroups = 100): Sent<T, unknown> {
	return target.queueStats(...keysFor('queueStats', keys), maxGroups) as Sent<T, unknown>;
}

export function parseStats(reply: unknown): QueueStats {
	const values = reply as Array<number | string>;
	const [waiting, prioritized, delayed, inFlight, dead, stalled, due, oldest, now, next, groups] = values.slice(0, 11).map(Number);
	const byGroup: GroupStats[] = [];
	for (let i = 11; i + 2 < values.length; i += 3) {
		const flying = Number(values[i + 2]);
		byGroup.push({ group: String(values[i]), waiting: Number(values[i + 1]), inFlight: flying >= 0 ? flying : null });
	}
	return {
		waiting,
		prioritized,
		delayed,
		inFlight,
		dead,
		stalled,
		due,
		oldestWaitingAgeMs: oldest >= 0 ? Math.max(0, now - oldest) : null,
		nextRunAt: next >= 0 ? next : null,
		now,
		groups,
		byGroup,
	};
}

/** One bounded step of Recover Stalled (QUEUE_DEFAULTS.moveLimit jobs of each kind at most). */
export function sendRecover<T extends ScriptTarget>(target: T, keys: QueueKeys, defaultMaxAttempts: number): Sent<T, unknown> {
	return target.queueRecover(...keysFor('queueRecover', keys), defaultMaxAttempts, QUEUE_DEFAULTS.moveLimit) as Sent<T, unknown>;
}

export function parseRecover(reply: unknown): RecoverResult {
	const [promoted, recovered, dead] = (reply as number[]).map(Number);
	return { promoted, recovered, dead };
}

/** Moves up to `limit` of the oldest dead jobs back, or only the one with `id` when given. */
export function sendRetryDead<T extends ScriptTarget>(target: T, keys: QueueKeys, limit: number, id = ''): Sent<T, unknown> {
	return target.queueRetryDead(...keysFor('queueRetryDead', keys), limit, id) as Sent<T, unknown>;
}

export function sendPurgeDead<T extends ScriptTarget>(target: T, keys: QueueKeys, limit: number): Sent<T, unknown> {
	return target.queuePurgeDead(...keysFor('queuePurgeDead', keys), limit) as Sent<T, unknown>;
}

/** How many jobs a Retry Dead or Purge Dead step moved. */
export function parseCount(reply: unknown): number {
	return Number(reply);
}
