import {
	checkRateLimit,
	leaveRateLimitQueue,
	newWaiterTicket,
	type RateLimitResult,
	type RateLimitRule,
	type WaiterTicket,
} from './rate-limit';
import type { RedisLike } from './scripts';
import { sleep, sleepUnlessAbortedShared } from './timing';

/**
 * Waiting for a rate-limit slot. The waiter holds a ticket in the key's queue (includes/
 * waiters.lua), taken by its first check, so concurrent waiters are admitted in arrival order
 * and never beyond the limit. Between checks it sleeps for the retry time the script computed,
 * never in a tight loop; each check renews its lease. A waiter that gives up (its maximum wait
 * passed, its execution was cancelled, Redis failed) removes its ticket; one that crashed is
 * dropped when its lease ends.
 */

/** How long a waiter's ticket outlives the retry time it was promised: room for a late wake-up. */
export const WAITER_LEASE_GRACE_MS = 5000;
/** A day: longer waits belong in a queue with a delayed job. */
export const MAX_RATE_LIMIT_WAIT_MS = 24 * 3600 * 1000;

export interface RateLimitWaitOptions {
	/** Give up after this long (ms from the first check): the result is then the last refused check. */
	maxWaitMs: number;
	/** Ends the wait early (an n8n execution's cancel signal); the ticket is removed first. */
	signal?: AbortSignal;
	/** When the first check was sent (Date.now()), to aim the next check at the promised time. */
	firstSentAtMs?: number;
}

export interface RateLimitWaitResult extends RateLimitResult {
	/** Time from the first check's reply to the last one (ms, local clock). */
	waitedMs: number;
	/** The retry time the first check promised (0 when it was allowed at once). */
	promisedWaitMs: number;
	/** Checks made, the first included. */
	checks: number;
}

export class RateLimitWaitCancelled extends Error {
	constructor() {
		super('the execution was cancelled while waiting for the rate limit');
		this.name = 'RateLimitWaitCancelled';
	}
}

/**
 * Continues a wait that `first` (a check sent with `ticket`, for example in a pipeline with
 * other items) began. Resolves with the admitting check, or with the last refused one when
 * the maximum wait passed; rejects with RateLimitWaitCancelled on abort.
 */
export async function continueRateLimitWait(
	client: RedisLike,
	key: string,
	rule: RateLimitRule,
	ticket: WaiterTicket,
	first: RateLimitResult,
	options: RateLimitWaitOptions,
): Promise<RateLimitWaitResult> {
	const started = Date.now();
	let sentAt = options.firstSentAtMs ?? started;
	const done = (result: RateLimitResult, checks: number): RateLimitWaitResult => ({
		...result,
		// Admitted by the first check: no wait at all, whatever the clock says about the code in between.
		waitedMs: checks === 1 && result.allowed ? 0 : Date.now() - started,
		promisedWaitMs: first.retryAfterMs,
		checks,
	});
	let result = first;
	let checks = 1;
	try {
		while (!result.allowed) {
			const left = started + options.maxWaitMs - Date.now();
			if (left <= 0) {
				await leaveRateLimitQueue(client, key, ticket);
				return done(result, checks);
			}
			// The retry time counts from when the script ran, and the next check needs as long to reach
			// Redis as the last reply took to come back: one round trip less lands it on the promised
			// instant (a check that lands early is refused and told the few ms that are left).
			// Never past the deadline: the check made there still admits the waiter if those ahead gave up.
			const ms = Math.min(Math.max(0, result.retryAfterMs - (Date.now() - sentAt)), left);
			if (!options.signal) await sleep(ms);
			else if (!(await sleepUnlessAbortedShared(ms, options.signal))) throw new RateLimitWaitCancelled();
			sentAt = Date.now();
			result = await checkRateLimit(client, key, rule, { ticket });
			checks += 1;
		}
		return done(result, checks);
	} catch (error) {
		// Best effort: when Redis itself failed, the ticket's lease ends it instead.
		await leaveRateLimitQueue(client, key, ticket).catch(() => undefined);
		throw error;
	}
}

/** Checks `key` and, while it is limited, waits in its queue for up to `maxWaitMs`. */
export async function waitForRateLimit(
	client: RedisLike,
	key: string,
	rule: RateLimitRule,
	options: RateLimitWaitOptions,
): Promise<RateLimitWaitResult> {
	const ticket = newWaiterTicket(WAITER_LEASE_GRACE_MS);
	const firstSentAtMs = Date.now();
	const first = await checkRateLimit(client, key, rule, { ticket });
	return continueRateLimitWait(client, key, rule, ticket, first, { firstSentAtMs, ...options });
}
