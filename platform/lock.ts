import { randomBytes } from 'node:crypto';

import { defineScript, queueScript, runScript, type RedisLike } from './scripts';

/**
 * Distributed locks compatible with the platform's Python pattern
 * `r.set('lock:<name>', token, nx=True, ex=ttl)`: the value is the holder's token, the key
 * carries a TTL so a crashed holder cannot block others forever, and release / extend only
 * act when the token still matches (one Lua script each).
 */
export const LOCK_ACQUIRE = defineScript('lockAcquire', 'lock-acquire.lua', 1);
export const LOCK_RELEASE = defineScript('lockRelease', 'lock-release.lua', 1);
export const LOCK_EXTEND = defineScript('lockExtend', 'lock-extend.lua', 1);

/** A day: longer leases usually mean a lock that should have been a queue. */
export const MAX_LOCK_TTL_MS = 24 * 3600 * 1000;
/** How long Acquire may wait for a held lock. */
export const MAX_LOCK_WAIT_MS = 10 * 60 * 1000;

export interface LockAcquireOptions {
	ttlMs: number;
	/** Keep retrying for up to this long while another holder has the lock (0 = one try). */
	waitMs?: number;
	/** Pause between tries; shortened when the holder's lease ends sooner. */
	retryMs?: number;
	/** Token to use instead of a random one (tests, or a caller that made its own). */
	token?: string;
}

export interface LockAcquireResult {
	acquired: boolean;
	/** The token that proves ownership; null when not acquired (the holder's is never revealed). */
	token: string | null;
	/** Server time when the lease ends (epoch ms), or null when not acquired. */
	expiresAtMs: number | null;
	/** Tries made, 1 without waiting. */
	attempts: number;
	/** Not acquired: the holder's remaining lease in ms (-1 when it has no TTL). */
	heldForMs?: number;
}

export type LockReleaseOutcome = 'released' | 'notOwner' | 'notHeld';

export interface LockExtendResult {
	extended: boolean;
	outcome: 'extended' | 'notOwner' | 'notHeld';
	expiresAtMs: number | null;
}

export function newLockToken(): string {
	return randomBytes(16).toString('hex');
}

function assertTtl(ttlMs: number): void {
	if (!Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_LOCK_TTL_MS) {
		throw new RangeError(`ttlMs must be a whole number from 1 to ${MAX_LOCK_TTL_MS}, got ${ttlMs}`);
	}
}

function assertToken(token: string): void {
	if (typeof token !== 'string' || token.length === 0) throw new RangeError('the lock token is empty');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The acquire script's arguments, for callers that pipeline the first try. */
export function lockAcquireArgs(token: string, ttlMs: number): Array<string | number> {
	assertTtl(ttlMs);
	assertToken(token);
	return [token, ttlMs];
}

export function parseAcquireReply(reply: unknown, token: string, attempts: number): LockAcquireResult {
	const [taken, value] = (reply as unknown[]).map(Number);
	return taken === 1
		? { acquired: true, token, expiresAtMs: value, attempts }
		: { acquired: false, token: null, expiresAtMs: null, attempts, heldForMs: value };
}

/**
 * Takes the lock, optionally waiting for the current holder. Retries are spaced by
 * `retryMs` with jitter (so contenders do not retry in lockstep), but never sleep past the
 * holder's lease end or the wait deadline.
 */
export async function acquireLock(client: RedisLike, key: string, options: LockAcquireOptions): Promise<LockAcquireResult> {
	const token = options.token ?? newLockToken();
	const args = lockAcquireArgs(token, options.ttlMs);
	const waitMs = options.waitMs ?? 0;
	const retryMs = Math.max(1, options.retryMs ?? 100);
	const deadline = Date.now() + waitMs;
	for (let attempts = 1; ; attempts++) {
		const result = parseAcquireReply(await runScript(client, LOCK_ACQUIRE, [key], args), token, attempts);
		const left = deadline - Date.now();
		if (result.acquired || left <= 0) return result;
		const jittered = retryMs * (0.5 + Math.random() / 2);
		const holderEnds = result.heldForMs !== undefined && result.heldForMs >= 0 ? result.heldForMs + 1 : Infinity;
		await sleep(Math.max(1, Math.min(jittered, holderEnds, left)));
	}
}

export function parseReleaseReply(reply: unknown): LockReleaseOutcome {
	const code = Number(reply);
	return code === 1 ? 'released' : code === 0 ? 'notOwner' : 'notHeld';
}

export async function releaseLock(client: RedisLike, key: string, token: string): Promise<LockReleaseOutcome> {
	assertToken(token);
	return parseReleaseReply(await runScript(client, LOCK_RELEASE, [key], [token]));
}

export function queueReleaseLock(pipeline: unknown, key: string, token: string): void {
	assertToken(token);
	queueScript(pipeline, LOCK_RELEASE, [key], [token]);
}

export async function extendLock(client: RedisLike, key: string, token: string, ttlMs: number): Promise<LockExtendResult> {
	assertToken(token);
	assertTtl(ttlMs);
	return parseExtendReply(await runScript(client, LOCK_EXTEND, [key], [token, ttlMs]));
}

export function queueExtendLock(pipeline: unknown, key: string, token: string, ttlMs: number): void {
	assertToken(token);
	assertTtl(ttlMs);
	queueScript(pipeline, LOCK_EXTEND, [key], [token, ttlMs]);
}

export function parseExtendReply(reply: unknown): LockExtendResult {
	const [code, expiresAtMs] = (reply as unknown[]).map(Number);
	if (code === 1) return { extended: true, outcome: 'extended', expiresAtMs };
	return { extended: false, outcome: code === 0 ? 'notOwner' : 'notHeld', expiresAtMs: null };
}
