import { randomBytes } from 'node:crypto';

import type { RedisLike, ScriptTarget, Sent } from './scripts';

/**
 * Rate limits, one Lua script per check on the Redis server's clock, one script per algorithm:
 * - sliding window (rate-limit-check.lua): exact; a sorted set of the requests let through, so
 *   memory grows with the limit;
 * - token bucket (rate-limit-token-bucket.lua): a burst capacity refilled at a steady rate;
 *   constant memory;
 * - fixed window (rate-limit-fixed-window.lua): a counter per epoch-aligned window; constant
 *   memory, for very large limits.
 * Every script also keeps the limit's queue of waiters (includes/waiters.lua; the waiting loop
 * is rate-limit-wait.ts). Keys expire when the limit is back to full, so an idle limit costs
 * nothing. Used by the n8n node, the bench and the reliability suite.
 */

/** A sorted set of one member per request: keep limits within what a key can sensibly hold. */
export const MAX_RATE_LIMIT_REQUESTS = 1_000_000;
/** The counter algorithms cost the same memory whatever the limit. */
export const MAX_COUNTER_LIMIT = 1_000_000_000;
/** 30 days; longer windows belong in a counter, not a request log. */
export const MAX_RATE_LIMIT_WINDOW_MS = 30 * 24 * 3600 * 1000;
/** A token every 2.8 hours at the slowest, a million a second at the fastest. */
export const MIN_REFILL_PER_SECOND = 0.0001;
export const MAX_REFILL_PER_SECOND = 1_000_000;

export type RateLimitAlgorithm = 'slidingWindow' | 'tokenBucket' | 'fixedWindow';

export const RATE_LIMIT_ALGORITHMS: readonly RateLimitAlgorithm[] = ['slidingWindow', 'tokenBucket', 'fixedWindow'];

export interface WindowRule {
	/** Absent means sliding window, the algorithm of every limit made before there was a choice. */
	algorithm?: 'slidingWindow' | 'fixedWindow';
	/** Requests allowed in any window (sliding) or in each window (fixed) of `windowMs` milliseconds. */
	maxRequests: number;
	windowMs: number;
}

export interface TokenBucketRule {
	algorithm: 'tokenBucket';
	/** Tokens a full bucket holds: the burst allowed after a quiet spell. */
	capacity: number;
	/** Tokens added per second, fractions allowed (1,000,000 a day is 11.574...). */
	refillPerSecond: number;
}

export type RateLimitRule = WindowRule | TokenBucketRule;

export interface RateLimitResult {
	/** Check: this request was let through (and counted). Status: a check now would be. */
	allowed: boolean;
	algorithm: RateLimitAlgorithm;
	/** Max requests per window, or the token bucket's capacity. */
	limit: number;
	/** The window; for a token bucket the time an empty bucket takes to fill. */
	windowMs: number;
	/** Requests counted in the current window (tokens in use), including this one when it was allowed. */
	used: number;
	/** Requests still allowed now that no queued waiter is owed. */
	remaining: number;
	/** 0 when allowed; otherwise how long until this request would be allowed, in ms. */
	retryAfterMs: number;
	/** When the full limit is back (epoch ms): window empty, bucket full, or window over. */
	resetAtMs: number;
	/** The same instant as an ISO-8601 UTC string. */
	resetAt: string;
	/** The Redis server's clock at the check (epoch ms). */
	checkedAtMs: number;
	/** Waiters queued on the key after this check. */
	waiting: number;
}

export function algorithmOf(rule: RateLimitRule): RateLimitAlgorithm {
	return rule.algorithm ?? 'slidingWindow';
}

function assertWhole(name: string, value: number, max: number): void {
	if (!Number.isSafeInteger(value) || value < 1 || value > max) {
		throw new RangeError(`${name} must be a whole number from 1 to ${max}, got ${value}`);
	}
}

/** Throws a RangeError naming the problem when a rule cannot be enforced. */
export function assertRateLimitRule(rule: RateLimitRule): void {
	if (rule.algorithm === 'tokenBucket') {
		assertWhole('capacity', rule.capacity, MAX_COUNTER_LIMIT);
		const rate = rule.refillPerSecond;
		if (!Number.isFinite(rate) || rate < MIN_REFILL_PER_SECOND || rate > MAX_REFILL_PER_SECOND) {
			throw new RangeError(`refillPerSecond must be from ${MIN_REFILL_PER_SECOND} to ${MAX_REFILL_PER_SECOND}, got ${rate}`);
		}
		return;
	}
	if (rule.algorithm !== undefined && !RATE_LIMIT_ALGORITHMS.includes(rule.algorithm)) {
		throw new RangeError(`algorithm must be one of ${RATE_LIMIT_ALGORITHMS.join(', ')}, got ${String(rule.algorithm)}`);
	}
	assertWhole('maxRequests', rule.maxRequests, rule.algorithm === 'fixedWindow' ? MAX_COUNTER_LIMIT : MAX_RATE_LIMIT_REQUESTS);
	assertWhole('windowMs', rule.windowMs, MAX_RATE_LIMIT_WINDOW_MS);
}

/** The two keys of a limit's waiter queue. */
export interface WaiterKeys {
	waiters: string;
	leases: string;
}

/**
 * The queue's keys start with the limit key, so an ACL key pattern that admits the limit
 * (`~ratelimit:*`, `~staging:*`) admits them too, and share its Cluster slot, since a script
 * runs only on keys of one slot: a limit key with a hash tag keeps it when a suffix is
 * appended; one without braces is its own tag (`ratelimit:api:waiters:{ratelimit:api}`). A key
 * with braces but no hash tag (`a{b`, `a}b`, `a{}b`) cannot be a tag: its queue keys are plain
 * suffixes, right on one server, CROSSSLOT in Cluster. Python's twin (rate_limit.waiter_keys)
 * builds the same names.
 */
export function rateLimitWaiterKeys(limitKey: string): WaiterKeys {
	const open = limitKey.indexOf('{');
	const close = open < 0 ? -1 : limitKey.indexOf('}', open + 1);
	const tag = close > open + 1 || /[{}]/.test(limitKey) ? '' : `:{${limitKey}}`;
	return { waiters: `${limitKey}:waiters${tag}`, leases: `${limitKey}:leases${tag}` };
}

/** A waiter's place in the queue: its ticket and how long its lease outlives each promised retry. */
export interface WaiterTicket {
	id: string;
	graceMs: number;
}

export function newWaiterTicket(graceMs: number): WaiterTicket {
	return { id: randomBytes(12).toString('hex'), graceMs };
}

/**
 * One check of `key` (`consume: false` only looks), on a client or a pipeline; read the reply
 * with parseRateLimitCheck. With a ticket, a refused check keeps (or takes) a place in the
 * key's queue of waiters. A fresh nonce per call keeps the sliding window's members unique.
 */
export function sendRateLimitCheck<T extends ScriptTarget>(
	target: T,
	key: string,
	rule: RateLimitRule,
	consume: boolean,
	ticket?: WaiterTicket,
): Sent<T, unknown> {
	assertRateLimitRule(rule);
	const { waiters, leases } = rateLimitWaiterKeys(key);
	const flag = consume ? '1' : '0';
	const queue = ticket ? [ticket.id, ticket.graceMs] : ['', 0];
	if (rule.algorithm === 'tokenBucket') {
		return target.rateLimitTokenBucket(key, waiters, leases, rule.capacity, rule.refillPerSecond, flag, ...queue) as Sent<T, unknown>;
	}
	if (rule.algorithm === 'fixedWindow') {
		return target.rateLimitFixedWindow(key, waiters, leases, rule.maxRequests, rule.windowMs, flag, ...queue) as Sent<T, unknown>;
	}
	const nonce = randomBytes(8).toString('hex');
	return target.rateLimitCheck(key, waiters, leases, rule.maxRequests, rule.windowMs, flag, nonce, ...queue) as Sent<T, unknown>;
}

export function parseRateLimitCheck(reply: unknown, rule: RateLimitRule): RateLimitResult {
	if (!Array.isArray(reply) || reply.length < 7) {
		throw new Error(`Unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`);
	}
	const [allowed, used, retryAfterMs, resetAtMs, checkedAtMs, remaining, waiting] = reply.map(Number);
	const bucket = rule.algorithm === 'tokenBucket';
	return {
		allowed: allowed === 1,
		algorithm: algorithmOf(rule),
		limit: bucket ? rule.capacity : rule.maxRequests,
		windowMs: bucket ? Math.round((rule.capacity * 1000) / rule.refillPerSecond) : rule.windowMs,
		used,
		remaining,
		retryAfterMs,
		resetAtMs,
		resetAt: new Date(resetAtMs).toISOString(),
		checkedAtMs,
		waiting,
	};
}

/** Consumes one request when the limit allows it (`consume: false` only looks). */
export async function checkRateLimit(
	client: RedisLike,
	key: string,
	rule: RateLimitRule,
	{ consume = true, ticket }: { consume?: boolean; ticket?: WaiterTicket } = {},
): Promise<RateLimitResult> {
	return parseRateLimitCheck(await sendRateLimitCheck(client, key, rule, consume, ticket), rule);
}

/** A waiter gives up its place; true when it still had one. */
export async function leaveRateLimitQueue(client: RedisLike, key: string, ticket: WaiterTicket): Promise<boolean> {
	const { waiters, leases } = rateLimitWaiterKeys(key);
	return (await client.rateLimitLeave(waiters, leases, ticket.id)) === 1;
}

/**
 * Forgets every counted request of a limit, whatever its algorithm; true when there was
 * something to forget. Queued waiters keep their places.
 */
export async function resetRateLimit(client: RedisLike, key: string): Promise<boolean> {
	return (await client.del(key)) === 1;
}
