import type { IExecuteFunctions } from 'n8n-workflow';

import {
	acquireLock,
	MAX_LOCK_TTL_MS,
	MAX_LOCK_WAIT_MS,
	newLockToken,
	parseLockAcquire,
	parseLockExtend,
	parseLockRelease,
	sendLockAcquire,
	sendLockExtend,
	sendLockRelease,
	type LockAcquireResult,
} from '../../../../platform/lock';
import { execPipelined } from '../../../../platform/cluster-pipeline';
import { redisFailure } from '../../../shared/errors';
import type { ItemResult, Operation, OperationEnv } from '../../../shared/operation';
import { ItemParams } from '../../../shared/params';

interface AcquireRequest {
	name: string;
	key: string;
	token: string;
	ttlMs: number;
	waitMs: number;
	retryMs: number;
}

type FirstTry = { request: AcquireRequest; result: LockAcquireResult } | { error: Error };

function lockName(p: ItemParams): string {
	return p.key('lockName', 'Lock Name');
}

function ttlMs(p: ItemParams): number {
	return p.integer('lockTtl', 'TTL (Seconds)', { min: 1, max: MAX_LOCK_TTL_MS / 1000, unit: 'seconds' }) * 1000;
}

function readAcquire(p: ItemParams, env: OperationEnv): AcquireRequest {
	const name = lockName(p);
	return {
		name,
		key: env.keys.lock(name),
		token: newLockToken(),
		ttlMs: ttlMs(p),
		waitMs: p.integerOr('waitMs', 'Wait Up To (Ms)', 0, { min: 0, max: MAX_LOCK_WAIT_MS, unit: 'milliseconds' }),
		retryMs: p.integerOr('retryMs', 'Retry Interval (Ms)', 100, { min: 1, max: 60_000, unit: 'milliseconds' }),
	};
}

function acquired(request: AcquireRequest, result: LockAcquireResult): ItemResult {
	return {
		json: {
			lock: request.name,
			key: request.key,
			acquired: result.acquired,
			token: result.token,
			expiresAt: result.expiresAtMs === null ? null : new Date(result.expiresAtMs).toISOString(),
			expiresAtMs: result.expiresAtMs,
			attempts: result.attempts,
			...(result.acquired ? { tookOver: result.tookOver === true } : { heldForMs: result.heldForMs ?? null }),
		},
	};
}

/**
 * First tries of one execution, by item. Acquire runs item by item (waiting holds the
 * item), but the first try of every item goes out in one pipeline when the first item
 * runs: a batch of distinct locks then costs one round trip, and only items whose lock
 * was held and that asked to wait retry on their own. Planning every item first also
 * means a bad item stops the run before any lock is taken.
 */
const firstTries = new WeakMap<IExecuteFunctions, Map<number, FirstTry>>();

async function tryAllOnce(ctx: IExecuteFunctions, env: OperationEnv): Promise<Map<number, FirstTry>> {
	const count = ctx.getInputData().length;
	const continueOnFail = ctx.continueOnFail();
	const tries = new Map<number, FirstTry>();
	const requests: Array<{ index: number; request: AcquireRequest }> = [];
	for (let index = 0; index < count; index++) {
		try {
			requests.push({ index, request: readAcquire(new ItemParams(ctx, index), env) });
		} catch (error) {
			const failure = redisFailure(ctx.getNode(), error, index, env.secrets, 'Acquire Lock');
			if (!continueOnFail) throw failure;
			tries.set(index, { error: failure });
		}
	}
	if (requests.length === 0) return tries;
	// One pipeline (one per node in Cluster mode, where locks live on different nodes).
	const replies = await execPipelined(
		env.client('default'),
		requests.map(({ request }) => ({
			send: (pipeline) => void sendLockAcquire(pipeline, request.key, request.token, request.ttlMs),
		})),
	);
	requests.forEach(({ index, request }, n) => {
		const [error, reply] = replies[n][0];
		tries.set(
			index,
			error
				? { error: redisFailure(ctx.getNode(), error, index, env.secrets, 'Acquire Lock') }
				: { request, result: parseLockAcquire(reply, request.token, 1) },
		);
	});
	return tries;
}

export const lockOperations: Record<string, Operation> = {
	acquire: {
		kind: 'sequential',
		role: 'default',
		action: 'Acquire Lock',
		async run(p, env, ctx) {
			let tries = firstTries.get(ctx);
			if (!tries) {
				tries = await tryAllOnce(ctx, env);
				firstTries.set(ctx, tries);
			}
			const first = tries.get(p.itemIndex);
			if (!first) throw new Error('the first try of this item was not planned');
			if ('error' in first) throw first.error;
			const { request, result } = first;
			if (result.acquired || request.waitMs === 0) return acquired(request, result);
			// Held by someone else and the item may wait: retry with the same token.
			const waited = await acquireLock(env.client('default'), request.key, {
				ttlMs: request.ttlMs,
				waitMs: request.waitMs,
				retryMs: request.retryMs,
				token: request.token,
			});
			return acquired(request, { ...waited, attempts: waited.attempts + 1 });
		},
	},
	release: {
		kind: 'pipelined',
		role: 'default',
		action: 'Release Lock',
		plan(p, env) {
			const name = lockName(p);
			const token = p.key('lockToken', 'Token');
			const key = env.keys.lock(name);
			return {
				send: (pipe) => void sendLockRelease(pipe, key, token),
				read: ([reply]) => {
					const outcome = parseLockRelease(reply);
					return { json: { lock: name, key, released: outcome === 'released', outcome } };
				},
			};
		},
	},
	extend: {
		kind: 'pipelined',
		role: 'default',
		action: 'Extend Lock',
		plan(p, env) {
			const name = lockName(p);
			const token = p.key('lockToken', 'Token');
			const ms = ttlMs(p);
			const key = env.keys.lock(name);
			return {
				send: (pipe) => void sendLockExtend(pipe, key, token, ms),
				read: ([reply]) => {
					const result = parseLockExtend(reply);
					return {
						json: {
							lock: name,
							key,
							extended: result.extended,
							outcome: result.outcome,
							expiresAt: result.expiresAtMs === null ? null : new Date(result.expiresAtMs).toISOString(),
							expiresAtMs: result.expiresAtMs,
						},
					};
				},
			};
		},
	},
};
