import type { QueueKeys } from '../keys';
import type { PipelineReply } from '../cluster-pipeline';
import type { RedisLike } from '../scripts';
import { sleep } from '../timing';
import { parseCompleteTake, parseTake, sendCompleteTake, sendTake, type TakeEmpty } from './commands';
import { QUEUE_DEFAULTS, QueueInputError, type CompleteOutcome, type CompleteResult, type Job, type TakeOptions } from './types';

/**
 * Taking jobs, for everyone: the node's Dequeue operation, the worker behind the queue
 * trigger, the tests and the bench all come through `dequeue`.
 */

export interface DequeueOptions extends TakeOptions {
	/** Most jobs to take (1 by default). Only the first may wait; all that are there come in one round trip. */
	max?: number;
	/** How long to wait for a first job when there is none (0, the default: do not wait). */
	timeoutMs?: number;
	/**
	 * The dedicated client a wait blocks on (BLMOVE holds its connection, so never the shared
	 * client). Give either this or `openBlocking` when `timeoutMs` is above 0.
	 */
	blocking?: RedisLike;
	/** Opens a dedicated client only when a wait is needed; its `release` runs when the wait ends. */
	openBlocking?: () => { client: RedisLike; release(): Promise<void> };
	/** Ends a wait early; looked at between blocking slices. */
	shouldStop?: () => boolean;
	/** Acknowledges this job (storing its result, if given) in the same call that takes the first job (a worker's ack, one round trip per job). */
	completing?: Completing;
}

export interface Dequeued {
	/** In queue order; empty when the queue had nothing (ready) within the timeout. */
	jobs: Job[];
	/** How `completing` ended, when it was given: the take happens whatever it was. */
	completed?: CompleteOutcome;
	/** With no jobs: epoch ms (server clock) of the next delayed job, or null. */
	nextRunAt: number | null;
}

type Taken = ReturnType<typeof parseTake>;

type Completing = { id: string; lease: string } & CompleteResult;

/**
 * Takes up to `max` jobs into flight. With `timeoutMs`, an empty queue is waited on: BLMOVE
 * on the dedicated client moves the next waiting job into the queue's claim list, and the
 * take script claims it from there (a crash in between leaves it in the claim list, which
 * every take drains first). Each block is capped at QUEUE_DEFAULTS.blockSliceMs and at the
 * next delayed job's time, so delayed and prioritised jobs that become due are not missed.
 */
export async function dequeue(client: RedisLike, keys: QueueKeys, options: DequeueOptions = {}): Promise<Dequeued> {
	const max = options.max ?? 1;
	if (!Number.isInteger(max) || max < 1) throw new QueueInputError('max', `must be a whole number of at least 1, got ${String(max)}`);
	const deadline = Date.now() + (options.timeoutMs ?? 0);
	const first = await takeRound(client, keys, max, options, options.completing);
	const result: Dequeued = { jobs: collect(first.taken), completed: first.completed, nextRunAt: null };
	let empty = lastEmpty(first.taken);
	if (result.jobs.length === 0 && deadline > Date.now()) {
		const waited = await waitForJob(client, keys, options, deadline, empty);
		if ('job' in waited) {
			result.jobs.push(waited.job);
			if (max > 1) result.jobs.push(...collect((await takeRound(client, keys, max - 1, options)).taken));
		} else {
			empty = waited.empty;
		}
	}
	if (result.jobs.length === 0) result.nextRunAt = empty?.nextRunAt ?? null;
	return result;
}

function collect(taken: Taken[]): Job[] {
	return taken.flatMap((t) => ('job' in t ? [t.job] : []));
}

function lastEmpty(taken: Taken[]): TakeEmpty | undefined {
	const last = taken[taken.length - 1];
	return last && 'empty' in last ? last.empty : undefined;
}

/** `count` takes (the first one also completing a job, when asked) in one round trip. */
async function takeRound(
	client: RedisLike,
	keys: QueueKeys,
	count: number,
	options: TakeOptions,
	completing?: Completing,
): Promise<{ taken: Taken[]; completed?: CompleteOutcome }> {
	if (count === 1) {
		if (!completing) return { taken: [parseTake(await sendTake(client, keys, options))] };
		const both = parseCompleteTake(await sendCompleteTake(client, keys, completing, options));
		return { taken: [both.taken], completed: both.completed };
	}
	const pipeline = client.pipeline();
	if (completing) sendCompleteTake(pipeline, keys, completing, options);
	for (let i = completing ? 1 : 0; i < count; i++) sendTake(pipeline, keys, options);
	const replies = ((await pipeline.exec()) ?? []) as PipelineReply[];
	if (replies.length < count) throw new Error('Connection is closed.');
	const failed = replies.find(([error]) => error);
	if (failed) throw failed[0];
	if (!completing) return { taken: replies.map(([, reply]) => parseTake(reply)) };
	const both = parseCompleteTake(replies[0][1]);
	return { taken: [both.taken, ...replies.slice(1).map(([, reply]) => parseTake(reply))], completed: both.completed };
}

/** Sleeps `ms`, looking at `shouldStop` every 100 ms. */
async function pause(ms: number, shouldStop?: () => boolean): Promise<void> {
	const until = Date.now() + ms;
	while (!shouldStop?.() && Date.now() < until) await sleep(Math.min(100, until - Date.now()));
}

async function waitForJob(
	client: RedisLike,
	keys: QueueKeys,
	options: DequeueOptions,
	deadline: number,
	empty: TakeEmpty | undefined,
): Promise<Taken> {
	const opened = options.blocking ? undefined : options.openBlocking?.();
	const blocking = options.blocking ?? opened?.client;
	if (!blocking) throw new Error('A dequeue that waits needs a dedicated client: pass `blocking` or `openBlocking`');
	let last: Taken = { empty: empty ?? { nextRunAt: null, now: Date.now(), promoted: 0, recovered: 0, buried: 0, held: false } };
	try {
		for (;;) {
			const left = deadline - Date.now();
			if (left <= 0 || options.shouldStop?.()) return last;
			let slice = Math.min(left, QUEUE_DEFAULTS.blockSliceMs);
			if ('empty' in last && last.empty.nextRunAt !== null) slice = Math.min(slice, Math.max(10, last.empty.nextRunAt - last.empty.now));
			// A group held back by a limit frees when a job of it is settled or its window slides, not
			// when a job is pushed; BLMOVE would return at once while ungrouped jobs wait (moving
			// them all to the claim list), so pause for the slice instead.
			if ('empty' in last && last.empty.held) await pause(slice, options.shouldStop);
			else await blocking.blmove(keys.waiting, keys.claim, 'RIGHT', 'LEFT', Math.max(0.01, slice / 1000));
			last = parseTake(await sendTake(client, keys, options));
			if ('job' in last) return last;
		}
	} finally {
		await opened?.release();
	}
}
