import {
	MAX_COUNTER_LIMIT,
	MAX_RATE_LIMIT_REQUESTS,
	MAX_RATE_LIMIT_WINDOW_MS,
	MAX_REFILL_PER_SECOND,
	MIN_REFILL_PER_SECOND,
	newWaiterTicket,
	parseRateLimitCheck,
	RATE_LIMIT_ALGORITHMS,
	sendRateLimitCheck,
	type RateLimitResult,
	type RateLimitRule,
} from '../../../../platform/rate-limit';
import {
	continueRateLimitWait,
	MAX_RATE_LIMIT_WAIT_MS,
	WAITER_LEASE_GRACE_MS,
	type RateLimitWaitResult,
} from '../../../../platform/rate-limit-wait';
import { PlatformError } from '../../../../platform/errors';
import type { ItemResult, Operation, OperationEnv, PipelinedItem } from '../../../shared/operation';
import type { ItemParams } from '../../../shared/params';

function limitKey(p: ItemParams): string {
	return p.key('limitKey', 'Key');
}

function rule(p: ItemParams): RateLimitRule {
	const algorithm = p.oneOf('algorithm', 'Algorithm', RATE_LIMIT_ALGORITHMS, 'slidingWindow');
	if (algorithm === 'tokenBucket') {
		return {
			algorithm,
			capacity: p.integer('burst', 'Burst', { min: 1, max: MAX_COUNTER_LIMIT, unit: 'requests' }),
			refillPerSecond: p.numberOr('refillPerSecond', 'Refill Rate (Per Second)', 1, {
				min: MIN_REFILL_PER_SECOND,
				max: MAX_REFILL_PER_SECOND,
				unit: 'requests per second',
			}),
		};
	}
	const max = algorithm === 'fixedWindow' ? MAX_COUNTER_LIMIT : MAX_RATE_LIMIT_REQUESTS;
	const maxRequests = p.integer('maxRequests', 'Max Requests', { min: 1, max, unit: 'requests' });
	const windowSeconds = p.integer('windowSeconds', 'Window (Seconds)', {
		min: 1,
		max: MAX_RATE_LIMIT_WINDOW_MS / 1000,
		unit: 'seconds',
	});
	// Saved workflows from before the choice have no algorithm and keep the rule they always had.
	return algorithm === 'fixedWindow' ? { algorithm, maxRequests, windowMs: windowSeconds * 1000 } : { maxRequests, windowMs: windowSeconds * 1000 };
}

interface WaitSettings {
	maxWaitMs: number;
	afterMaxWait: 'limited' | 'error';
}

function waitSettings(p: ItemParams): WaitSettings | undefined {
	if (p.oneOf('whenLimited', 'When Limited', ['route', 'wait'], 'route') !== 'wait') return undefined;
	const seconds = p.numberOr('maxWaitSeconds', 'Max Wait (Seconds)', 60, { min: 0, max: MAX_RATE_LIMIT_WAIT_MS / 1000, unit: 'seconds' });
	return {
		maxWaitMs: Math.round(seconds * 1000),
		afterMaxWait: p.oneOf('afterMaxWait', 'After Max Wait', ['limited', 'error'], 'limited'),
	};
}

function output(key: string, redisKey: string, rule: RateLimitRule, result: RateLimitResult | RateLimitWaitResult): ItemResult['json'] {
	return {
		key,
		redisKey,
		allowed: result.allowed,
		algorithm: result.algorithm,
		limit: result.limit,
		windowSeconds: result.windowMs / 1000,
		...(rule.algorithm === 'tokenBucket' ? { refillPerSecond: rule.refillPerSecond } : {}),
		used: result.used,
		remaining: result.remaining,
		retryAfterMs: result.retryAfterMs,
		resetAt: result.resetAt,
		resetAtMs: result.resetAtMs,
		...('waitedMs' in result ? { waitedMs: result.waitedMs } : {}),
	};
}

/** Check and Status differ only in whether the script consumes a request; Check may also wait. */
function planCheck(p: ItemParams, env: OperationEnv, consume: boolean): PipelinedItem {
	const key = limitKey(p);
	const limits = rule(p);
	const route = consume && p.boolean('routeOutputs');
	const wait = consume ? waitSettings(p) : undefined;
	// The ticket goes with the first check, so items of one batch that share a key queue in item order.
	const ticket = wait && newWaiterTicket(WAITER_LEASE_GRACE_MS);
	const redisKey = env.keys.rateLimit(key);
	const emit = (result: RateLimitResult | RateLimitWaitResult): ItemResult => ({
		json: output(key, redisKey, limits, result),
		output: route && !result.allowed ? 1 : 0,
	});
	let sentAtMs = 0;
	return {
		send: (pipe) => {
			sentAtMs = Date.now();
			sendRateLimitCheck(pipe, redisKey, limits, consume, ticket);
		},
		read: ([reply]) => {
			const result = parseRateLimitCheck(reply, limits);
			if (!wait || !ticket) return emit(result);
			if (result.allowed) return emit({ ...result, waitedMs: 0, promisedWaitMs: 0, checks: 1 });
			const waiting = continueRateLimitWait(env.client('rateLimit'), redisKey, limits, ticket, result, {
				maxWaitMs: wait.maxWaitMs,
				signal: env.signal,
				firstSentAtMs: sentAtMs,
			});
			return waiting.then((waited) => {
				if (!waited.allowed && wait.afterMaxWait === 'error') {
					throw new PlatformError(
						`still limited after waiting the Max Wait of ${wait.maxWaitMs / 1000} s; the next request is allowed in ${waited.retryAfterMs} ms`,
						'RATE_LIMITED',
						'Raise "Max Wait (Seconds)", or choose After Max Wait: Route to Limited to handle the item on the Limited output',
					);
				}
				return emit(waited);
			});
		},
	};
}

export const rateLimitOperations: Record<string, Operation> = {
	check: {
		kind: 'pipelined',
		role: 'rateLimit',
		action: 'Check Rate Limit',
		// With two outputs and Continue On Fail, an item whose check failed goes to "Limited":
		// a Redis outage must not let every request through.
		errorOutput: 1,
		// Items of one batch that share a key run in item order inside the pipeline, each
		// script seeing the requests the earlier items consumed.
		plan: (p, env) => planCheck(p, env, true),
	},
	status: {
		kind: 'pipelined',
		role: 'rateLimit',
		action: 'Get Rate Limit Status',
		plan: (p, env) => planCheck(p, env, false),
	},
	reset: {
		kind: 'pipelined',
		role: 'rateLimit',
		action: 'Reset Rate Limit',
		plan(p, env) {
			const key = limitKey(p);
			const redisKey = env.keys.rateLimit(key);
			return {
				send: (pipe) => void pipe.del(redisKey),
				read: ([deleted]) => ({ json: { key, redisKey, reset: true, hadRequests: deleted === 1 } }),
			};
		},
	},
};
