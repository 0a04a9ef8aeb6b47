// Producing work for the marker workflows the way the platform's own code does (platform/queue.ts and
// platform/updates, exactly what the Marketing Redis node and Python producers write), and
// counting what the executions left behind.
import type Redis from 'ioredis';

import { KeySchema } from '../../../platform/keys';
import { JobQueue } from '../../../platform/queue';
import { appendUpdate, updateEntryFields } from '../../../platform/updates';
import type { MarkerBody } from './marker-workflows';

const KEYS = new KeySchema('');

export function queueKeys(queue: string) {
	return KEYS.queue(queue);
}

export function streamKey(channel: string): string {
	return KEYS.updatesStream(channel);
}

/** Enqueues one job per body (job id = mark) in one pipeline; every one must be new. */
export async function enqueueJobs(queueDb: Redis, queue: string, bodies: MarkerBody[]): Promise<void> {
	const results = await new JobQueue(queueDb, queueKeys(queue)).enqueue(bodies.map((body) => ({ id: body.mark, payload: body })));
	const refused = results.filter((r) => !r.enqueued).map((r) => r.id);
	if (refused.length > 0) throw new Error(`jobs refused as duplicates: ${refused.join(', ')}`);
}

/** Appends one durable update per body; returns the stream entry ids in order. */
export async function appendUpdates(defaultDb: Redis, channel: string, bodies: MarkerBody[]): Promise<string[]> {
	const pipeline = defaultDb.pipeline();
	for (const body of bodies) appendUpdate(pipeline, streamKey(channel), updateEntryFields(channel, JSON.stringify(body)));
	const replies = (await pipeline.exec()) ?? [];
	return replies.map(([error, id]) => {
		if (error) throw error;
		return String(id);
	});
}

/** PUBLISHes one message per body; throws when a message reached no subscriber. */
export async function publishMessages(defaultDb: Redis, channel: string, bodies: MarkerBody[]): Promise<void> {
	for (const body of bodies) {
		const receivers = await defaultDb.publish(channel, JSON.stringify(body));
		if (receivers < 1) throw new Error(`PUBLISH ${channel} ${body.mark} reached no subscriber`);
	}
}

export function marks(prefix: string, count: number, extra: Partial<MarkerBody> = {}): MarkerBody[] {
	return Array.from({ length: count }, (_, i) => ({ mark: `${prefix}-${String(i + 1).padStart(3, '0')}`, ...extra }));
}

export interface MarkCount {
	/** Marks that ran at least once. */
	delivered: number;
	missing: string[];
	/** Executions beyond the first, summed over every mark. */
	duplicates: number;
	/** Marks with more than one execution, with their counts. */
	repeated: Record<string, number>;
	/** Marks on the board that nobody asked for. */
	unexpected: string[];
}

/** Counts a board's marks against the expected ones; `earlier` marks (of a previous phase) are neither expected nor unexpected. */
export async function countMarks(defaultDb: Redis, board: string, expected: string[], earlier: string[] = []): Promise<MarkCount> {
	const flat = await defaultDb.zrange(board, 0, -1, 'WITHSCORES');
	const seen = new Map<string, number>();
	for (let i = 0; i + 1 < flat.length; i += 2) seen.set(flat[i], Number(flat[i + 1]));
	const repeated: Record<string, number> = {};
	let duplicates = 0;
	for (const [mark, count] of seen) {
		if (count > 1 && !earlier.includes(mark)) {
			repeated[mark] = count;
			duplicates += count - 1;
		}
	}
	const wanted = new Set([...expected, ...earlier]);
	return {
		delivered: expected.filter((m) => seen.has(m)).length,
		missing: expected.filter((m) => !seen.has(m)),
		duplicates,
		repeated,
		unexpected: [...seen.keys()].filter((m) => !wanted.has(m)),
	};
}

/** "20/20, 0 duplicates" or with the missing and repeated marks spelled out. */
export function describeCount(count: MarkCount, expected: number): string {
	const parts = [`${count.delivered}/${expected} ran`, `${count.duplicates} duplicate(s)`];
	if (count.missing.length > 0) parts.push(`missing ${count.missing.slice(0, 10).join(', ')}${count.missing.length > 10 ? ' ...' : ''}`);
	if (count.duplicates > 0) parts.push(`repeated ${JSON.stringify(count.repeated)}`);
	if (count.unexpected.length > 0) parts.push(`unexpected ${count.unexpected.slice(0, 5).join(', ')}`);
	return parts.join(', ');
}

/** Entry ids still pending (delivered, not acknowledged) in a consumer group; [] when the group is missing. */
export async function pendingIds(defaultDb: Redis, stream: string, group: string): Promise<string[]> {
	try {
		const rows = (await defaultDb.xpending(stream, group, '-', '+', 1000)) as Array<[string, string, number, number]>;
		return rows.map((row) => row[0]);
	} catch (error) {
		if (/NOGROUP/.test((error as Error).message)) return [];
		throw error;
	}
}

export interface QueueState {
	waiting: number;
	inFlight: number;
	delayed: number;
	dead: number;
}

export async function queueState(queueDb: Redis, queue: string): Promise<QueueState> {
	const keys = queueKeys(queue);
	const [waiting, claim, inFlight, delayed, dead] = await Promise.all([
		queueDb.llen(keys.waiting),
		queueDb.llen(keys.claim),
		queueDb.zcard(keys.inflight),
		queueDb.zcard(keys.delayed),
		queueDb.llen(keys.dead),
	]);
	return { waiting: waiting + claim, inFlight, delayed, dead };
}
