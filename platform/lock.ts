import { randomBytes } from 'node:crypto';

import { isCluster } from './cluster-pipeline';
import type { RedisLike, ScriptTarget, Sent } from './scripts';
import { sleep } from './timing';

/**
 * Distributed locks as leases. `lock:{name}` holds `<deadline epoch ms>:<token>` and has NO
 * Redis TTL: redis.conf's volatile-lru evicts keys with a TTL under memory pressure, and an
 * evicted lock would let a second worker in while the first still works. Each script reads
 * the server's clock (TIME) to decide whether the lease is still running, so a crashed
 * holder frees the lock at its deadline all the same; its key stays until the next Acquire
 * of that name (or sweepExpiredLocks) replaces or removes it.
 *
 * Keys that DO have a TTL are foreign locks, e.g. the Python pattern
 * `r.set('lock:<name>', token, nx=True, ex=ttl)`: their value is the whole token and their
 * TTL their lease; they block Acquire until Redis expires them, and Release / Extend act on
 * them only with that exact token.
 *
 * The scripts are platform/scripts/lock-*.lua; each has a `send*` (a call on a client, or a
 * pipeline entry) and a `parse*` (its reply as a result) here.
 */

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
	/** Not acquired: the holder's remaining lease in ms (-1 when it set no deadline and no TTL). */
	heldForMs?: number;
	/** Acquired by replacing a lease that had ended without a release (its holder crashed or overran). */
	tookOver?: boolean;
}

/**
 * `expired`: the caller's own lease had ended before the release. Nobody took the lock in
 * between (the key still carried the caller's token), and the key is deleted all the same,
 * but the caller learns that it worked past its lease.
 */
export type LockReleaseOutcome = 'released' | 'expired' | 'notOwner' | 'notHeld';

export interface LockExtendResult {
	extended: boolean;
	/** `expired`: the caller's lease already ended; it must Acquire again (the lock may be free or taken). */
	outcome: 'extended' | 'expired' | 'notOwner' | 'notHeld';
	expiresAtMs: number | null;
}

/** What a `lock:{name}` value says, for readers of the raw key (tests, tools, the Python side). */
export interface LockValue {
	/** Epoch ms (Redis server clock) when the lease ends; null for a foreign plain-token value. */
	deadlineMs: number | null;
	token: string;
}

/** Builds the value the scripts write: `<deadline epoch ms>:<token>`. */
export function encodeLockValue(token: string, deadlineMs: number): string {
	return `${deadlineMs}:${token}`;
}

/**
 * Reads a `lock:{name}` value. Only meaningful for keys without a TTL: a key with a TTL is
 * a foreign lock whose whole value is the token, even when it happens to contain a colon.
 */
export function parseLockValue(value: string): LockValue {
	const match = /^(\d+):/.exec(value);
	return match
		? { deadlineMs: Number(match[1]), token: value.slice(match[0].length) }
		: { deadlineMs: null, token: value };
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

/** One try to take the lock under `token` (callers that pipeline the first try use it too). */
export function sendLockAcquire<T extends ScriptTarget>(target: T, key: string, token: string, ttlMs: number): Sent<T, unknown> {
	assertTtl(ttlMs);
	assertToken(token);
	return target.lockAcquire(key, token, ttlMs) as Sent<T, unknown>;
}

export function parseLockAcquire(reply: unknown, token: string, attempts: number): LockAcquireResult {
	const [taken, value, tookOver] = (reply as unknown[]).map(Number);
	return taken === 1
		? { acquired: true, token, expiresAtMs: value, attempts, tookOver: tookOver === 1 }
		: { acquired: false, token: null, expiresAtMs: null, attempts, heldForMs: value };
}

/**
 * Takes the lock, optionally waiting for the current holder. Retries are spaced by
 * `retryMs` with jitter (so contenders do not retry in lockstep), but never sleep past the
 * holder's lease end or the wait deadline.
 */
export async function acquireLock(client: RedisLike, key: string, options: LockAcquireOptions): Promise<LockAcquireResult> {
	const token = options.token ?? newLockToken();
	const waitMs = options.waitMs ?? 0;
	const retryMs = Math.max(1, options.retryMs ?? 100);
	const deadline = Date.now() + waitMs;
	for (let attempts = 1; ; attempts++) {
		const result = parseLockAcquire(await sendLockAcquire(client, key, token, options.ttlMs), token, attempts);
		const left = deadline - Date.now();
		if (result.acquired || left <= 0) return result;
		const jittered = retryMs * (0.5 + Math.random() / 2);
		const holderEnds = result.heldForMs !== undefined && result.heldForMs >= 0 ? result.heldForMs + 1 : Infinity;
		await sleep(Math.max(1, Math.min(jittered, holderEnds, left)));
	}
}

export function sendLockRelease<T extends ScriptTarget>(target: T, key: string, token: string): Sent<T, unknown> {
	assertToken(token);
	return target.lockRelease(key, token) as Sent<T, unknown>;
}

export function parseLockRelease(reply: unknown): LockReleaseOutcome {
	switch (Number(reply)) {
		case 1:
			return 'released';
		case 2:
			return 'expired';
		case 0:
			return 'notOwner';
		default:
			return 'notHeld';
	}
}

export async function releaseLock(client: RedisLike, key: string, token: string): Promise<LockReleaseOutcome> {
	return parseLockRelease(await sendLockRelease(client, key, token));
}

export async function extendLock(client: RedisLike, key: string, token: string, ttlMs: number): Promise<LockExtendResult> {
	return parseLockExtend(await sendLockExtend(client, key, token, ttlMs));
}

export function sendLockExtend<T extends ScriptTarget>(target: T, key: string, token: string, ttlMs: number): Sent<T, unknown> {
	assertToken(token);
	assertTtl(ttlMs);
	return target.lockExtend(key, token, ttlMs) as Sent<T, unknown>;
}

export function parseLockExtend(reply: unknown): LockExtendResult {
	const [code, expiresAtMs] = (reply as unknown[]).map(Number);
	if (code === 1) return { extended: true, outcome: 'extended', expiresAtMs };
	const outcome = code === 0 ? 'notOwner' : code === -2 ? 'expired' : 'notHeld';
	return { extended: false, outcome, expiresAtMs: null };
}

export interface ExpiredLockReport {
	/** Lock keys looked at. */
	scanned: number;
	/** Keys whose lease ended without a release (deleted unless `dryRun`), with how long ago. */
	expired: Array<{ key: string; endedMsAgo: number }>;
}

/**
 * Finds, and unless `dryRun` deletes, lock keys whose lease ended without a release. Locks
 * have no Redis TTL (see above), so a crashed holder's key stays until the next Acquire of
 * the same name replaces it; the number of such keys is bounded by the number of lock
 * names. Run this from time to time when lock names are many and short-lived (one per
 * campaign, say), or to see which holders crashed. Each key is judged and deleted in one
 * script, so a lock re-acquired meanwhile is never removed.
 *
 * `match` is the SCAN pattern of the lock keys, e.g. `keys.lock('*')`.
 */
export async function sweepExpiredLocks(
	client: RedisLike,
	match: string,
	options: { dryRun?: boolean; count?: number } = {},
): Promise<ExpiredLockReport> {
	const report: ExpiredLockReport = { scanned: 0, expired: [] };
	const scanners = isCluster(client) ? client.nodes('master') : [client];
	for (const scanner of scanners) {
		let cursor = '0';
		do {
			const [next, keys] = await scanner.scan(cursor, 'MATCH', match, 'COUNT', options.count ?? 500);
			cursor = next;
			for (const key of keys) {
				report.scanned += 1;
				const [state, ago] = (await client.lockSweep(key, options.dryRun ? '0' : '1')).map(Number);
				if (state === 1) report.expired.push({ key, endedMsAgo: ago });
			}
		} while (cursor !== '0');
	}
	return report;
}
