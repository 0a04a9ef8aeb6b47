import {
	MAX_RATE_LIMIT_REQUESTS,
	MAX_RATE_LIMIT_WINDOW_MS,
	parseRateLimitCheck,
	sendRateLimitCheck,
	type RateLimitResult,
	type RateLimitRule,
} from '../../../../platform/rate-limit';
import type { ItemResult, Operation, OperationEnv, PipelinedItem } from '../../../shared/operation';
import type { ItemParams } from '../../../shared/params';

function limitKey(p: ItemParams): string {
	return p.key('limitKey', 'Key');
}

function rule(p: ItemParams): RateLimitRule {
	const maxRequests = p.integer('maxRequests', 'Max Requests', { min: 1, max: MAX_RATE_LIMIT_REQUESTS, unit: 'requests' });
	const windowSeconds = p.integer('windowSeconds', 'Window (Seconds)', {
		min: 1,
		max: MAX_RATE_LIMIT_WINDOW_MS / 1000,
		unit: 'seconds',
	});
	return { maxRequests, windowMs: windowSeconds * 1000 };
}

function output(key: string, redisKey: string, result: RateLimitResult): ItemResult['json'] {
	return {
		key,
		redisKey,
		allowed: result.allowed,
		limit: result.limit,
		windowSeconds: result.windowMs / 1000,
		used: result.used,
		remaining: result.remaining,
		retryAfterMs: result.retryAfterMs,
		resetAt: result.resetAt,
		resetAtMs: result.resetAtMs,
	};
}

/** Check and Status differ only in whether the script consumes a request. */
function planCheck(p: ItemParams, env: OperationEnv, consume: boolean): PipelinedItem {
	const key = limitKey(p);
	const limits = rule(p);
	const route = consume && p.boolean('routeOutputs');
	const redisKey = env.keys.rateLimit(key);
	return {
		send: (pipe) => void sendRateLimitCheck(pipe, redisKey, limits, consume),
		read: ([reply]) => {
			const result = parseRateLimitCheck(reply, limits);
			return { json: output(key, redisKey, result), output: route && !result.allowed ? 1 : 0 };
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
