import { randomBytes } from 'node:crypto';

import type { RedisLike, ScriptTarget, Sent } from './scripts';

/**
 * Exact sliding-window rate limiting, one Lua script per check (platform/scripts/
 * rate-limit-check.lua). The window lives in a sorted set of the requests that were let
 * through, timed by the Redis server's clock; the key expires with its newest request, so
 * an idle limit costs nothing. Used by the n8n node, the bench and the reliability suite.
 */

/** A sorted set of one member per request: keep limits within what a key can sensibly hold. */
export const MAX_RATE_LIMIT_REQUESTS = 1_000_000;
/** 30 days; longer windows belong in a counter, not a request log. */
export const MAX_RATE_LIMIT_WINDOW_MS = 30 * 24 * 3600 * 1000;

export interface RateLimitRule {
	/** Requests allowed in any window of `windowMs` milliseconds. */
	maxRequests: number;
	windowMs: number;
}

export interface RateLimitResult {
	/** Check: this request was let through (and counted). Status: a check now would be. */
	allowed: boolean;
	limit: number;
	windowMs: number;
	/** Requests counted in the current window, including this one when it was allowed. */
	used: number;
	/** Requests still allowed in the current window. */
	remaining: number;
	/** 0 when allowed; otherwise how long until a request would be allowed, in ms. */
	retryAfterMs: number;
	/** When every counted request has left the window and the full limit is back (epoch ms). */
	resetAtMs: number;
	/** The same instant as an ISO-8601 UTC string. */
	resetAt: string;
	/** The Redis server's clock at the check (epoch ms). */
	checkedAtMs: number;
}

/** Throws a RangeError naming the problem when a rule cannot be enforced. */
export function assertRateLimitRule(rule: RateLimitRule): void {
	const { maxRequests, windowMs } = rule;
	if (!Number.isSafeInteger(maxRequests) || maxRequests < 1 || maxRequests > MAX_RATE_LIMIT_REQUESTS) {
		throw new RangeError(`maxRequests must be a whole number from 1 to ${MAX_RATE_LIMIT_REQUESTS}, got ${maxRequests}`);
	}
	if (!Number.isSafeInteger(windowMs) || windowMs < 1 || windowMs > MAX_RATE_LIMIT_WINDOW_MS) {
		throw new RangeError(`windowMs must be a whole number from 1 to ${MAX_RATE_LIMIT_WINDOW_MS}, got ${windowMs}`);
	}
}

/**
 * One check of `key` (`consume: false` only looks), on a client or a pipeline; read the reply
 * with parseRateLimitCheck. A fresh nonce per call keeps the window's members unique.
 */
export function sendRateLimitCheck<T extends ScriptTarget>(target: T, key: string, rule: RateLimitRule, consume: boolean): Sent<T, unknown> {
	assertRateLimitRule(rule);
	return target.rateLimitCheck(key, rule.maxRequests, rule.windowMs, consume ? '1' : '0', randomBytes(8).toString('hex')) as Sent<T, unknown>;
}

export function parseRateLimitCheck(reply: unknown, rule: RateLimitRule): RateLimitResult {
	if (!Array.isArray(reply) || reply.length < 5) {
		throw new Error(`Unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`);
	}
	const [allowed, used, retryAfterMs, resetAtMs, checkedAtMs] = reply.map(Number);
	return {
		allowed: allowed === 1,
		limit: rule.maxRequests,
		windowMs: rule.windowMs,
		used,
		remaining: Math.max(0, rule.maxRequests - used),
		retryAfterMs,
		resetAtMs,
		resetAt: new Date(resetAtMs).toISOString(),
		checkedAtMs,
	};
}

/** Consumes one request when the limit allows it (`consume: false` only looks). */
export async function checkRateLimit(
	client: RedisLike,
	key: string,
	rule: RateLimitRule,
	{ consume = true }: { consume?: boolean } = {},
): Promise<RateLimitResult> {
	return parseRateLimitCheck(await sendRateLimitCheck(client, key, rule, consume), rule);
}

/** Forgets every counted request of a limit; true when there was something to forget. */
export async function resetRateLimit(client: RedisLike, key: string): Promise<boolean> {
	return (await client.del(key)) === 1;
}
