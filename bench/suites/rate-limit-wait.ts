/**
 * 5b. Waiting for a rate-limit slot, and what each algorithm costs in Redis memory.
 *   - `waiters` callers on one key limited to 10 per second, all arriving at once, each on one of
 *     10 connections (as separate n8n instances would be): the admissions per second, the most
 *     admitted in any 1-second span (over 10 is an over-admit; the bench fails on one), waiters
 *     admitted out of turn against arrival (the ticket's place in the queue), and how the actual wait
 *     compares with the retry time the first check promised (server clock, p50 / p99);
 *   - the same through n8n: that many concurrent executions of Check with Wait Until Allowed;
 *   - MEMORY USAGE per key of each algorithm, the sliding window at several fill levels.
 */
import { randomBytes } from 'node:crypto';

import { KeySchema } from '../../platform/keys';
import { checkRateLimit, newWaiterTicket, rateLimitWaiterKeys, type RateLimitRule } from '../../platform/rate-limit';
import { continueRateLimitWait, WAITER_LEASE_GRACE_MS } from '../../platform/rate-limit-wait';
import type { Redis } from '../../platform/redis-driver';
import { BenchWorkflow, OUR_NODE } from '../lib/n8n-runner';
import type { Section } from '../lib/report';
import type { BenchServer } from '../lib/server';
import { fmtMs, percentileSorted } from '../lib/stats';

const RATE_LIMIT_DB = 4;
const PER_SECOND = 10;
const RULE: RateLimitRule = { maxRequests: PER_SECOND, windowMs: 1000 };

export interface WaitFigures {
	waiters: number;
	/** Admissions in each whole second from the first admission. */
	perSecond: number[];
	/** Most admissions within any 1,000 ms. */
	maxInAnySecond: number;
	/** Waiters admitted in another second than their place in arrival order gives them (turn = place / 10). */
	outOfTurn: number;
	/** Pairs admitted in the reverse of arrival order within one turn (both slots free, the later waiter woke first), and the largest gap. */
	inversions: number;
	inversionMaxMs: number;
	/** actual - promised wait, ms, sorted. */
	errors: number[];
	seconds: number;
	/** Through n8n: executions, all allowed, their waitedMs p50 / p99, wall time. */
	n8n: { executions: number; allowed: number; waitedP50: number; waitedP99: number; seconds: number };
	memory: Array<{ algorithm: string; counted: number; bytes: number }>;
	waiterBytes: number;
}

interface Admission {
	arrival: number;
	arrivedAtMs: number;
	promisedMs: number;
	admittedAtMs: number;
}

async function waitOne(client: Redis, key: string): Promise<Admission> {
	const ticket = newWaiterTicket(WAITER_LEASE_GRACE_MS);
	const firstSentAtMs = Date.now();
	const first = await checkRateLimit(client, key, RULE, { ticket });
	if (first.allowed) return { arrival: first.used - 1, arrivedAtMs: first.checkedAtMs, promisedMs: 0, admittedAtMs: first.checkedAtMs };
	// The ticket's sequence number is its place in arrival order, behind the PER_SECOND let in at once.
	const done = continueRateLimitWait(client, key, RULE, ticket, first, { maxWaitMs: 120_000, firstSentAtMs });
	const seq = Number(await client.zscore(rateLimitWaiterKeys(key).waiters, ticket.id));
	const admitted = await done;
	if (!admitted.allowed) throw new Error('a waiter ran out of its 120 s maximum wait');
	return { arrival: PER_SECOND + seq - 1, arrivedAtMs: first.checkedAtMs, promisedMs: first.retryAfterMs, admittedAtMs: admitted.checkedAtMs };
}

function maxInWindow(times: number[], windowMs: number): number {
	let best = 0;
	for (let i = 0, j = 0; i < times.length; i++) {
		while (times[i] - times[j] >= windowMs) j++;
		best = Math.max(best, i - j + 1);
	}
	return best;
}

async function measureMemory(client: Redis, sizes: number[]): Promise<WaitFigures['memory']> {
	const schema = new KeySchema('');
	const tag = randomBytes(4).toString('hex');
	const out: WaitFigures['memory'] = [];
	const usage = async (key: string) => Number(await client.memory('USAGE', key, 'SAMPLES', 0));
	for (const counted of sizes) {
		const key = schema.rateLimit(`bench-mem-sw-${tag}-${counted}`);
		const rule: RateLimitRule = { maxRequests: counted, windowMs: 3_600_000 };
		for (let done = 0; done < counted; done += 1000) {
			const pipe = client.pipeline();
			for (let i = done; i < Math.min(counted, done + 1000); i++) pipe.rateLimitCheck(key, ...Object.values(rateLimitWaiterKeys(key)), counted, 3_600_000, '1', randomBytes(8).toString('hex'));
			await pipe.exec();
		}
		if ((await checkRateLimit(client, key, rule, { consume: false })).used !== counted) throw new Error(`sliding window did not count ${counted}`);
		out.push({ algorithm: 'sliding window', counted, bytes: await usage(key) });
		await client.unlink(key);
	}
	for (const [algorithm, rule] of [
		['token bucket', { algorithm: 'tokenBucket', capacity: 1_000_000, refillPerSecond: 11.5741 }],
		['fixed window', { algorithm: 'fixedWindow', maxRequests: 1_000_000_000, windowMs: 86_400_000 }],
	] as Array<[string, RateLimitRule]>) {
		const key = schema.rateLimit(`bench-mem-${tag}-${algorithm.replace(' ', '-')}`);
		for (let i = 0; i < 1000; i++) await checkRateLimit(client, key, rule);
		out.push({ algorithm, counted: 1000, bytes: await usage(key) });
		await client.unlink(key);
	}
	return out;
}

export async function runRateLimitWaitSuite(server: BenchServer, options: { waiters: number; memorySizes: number[] }): Promise<WaitFigures> {
	const clients = Array.from({ length: 10 }, () => server.raw(RATE_LIMIT_DB));
	const schema = new KeySchema('');
	try {
		const key = schema.rateLimit(`bench-wait-${randomBytes(4).toString('hex')}`);
		// Connected, scripts loaded and the code paths warm, so the burst measures waiting, not start-up.
		const warm = schema.rateLimit(`bench-wait-warm-${randomBytes(4).toString('hex')}`);
		const roomy: RateLimitRule = { maxRequests: 1_000_000, windowMs: 1000 };
		for (let round = 0; round < 20; round++) await Promise.all(clients.map((c) => checkRateLimit(c, warm, roomy, { ticket: newWaiterTicket(1000) })));
		await clients[0].unlink(warm, ...Object.values(rateLimitWaiterKeys(warm)));
		const started = Date.now();
		const admissions = await Promise.all(Array.from({ length: options.waiters }, (_, i) => waitOne(clients[i % clients.length], key)));
		const seconds = (Date.now() - started) / 1000;
		const times = admissions.map((a) => a.admittedAtMs).sort((a, b) => a - b);
		const perSecond: number[] = [];
		for (const t of times) perSecond[Math.floor((t - times[0]) / 1000)] = (perSecond[Math.floor((t - times[0]) / 1000)] ?? 0) + 1;
		const byArrival = [...admissions].sort((a, b) => a.arrival - b.arrival);
		let inversions = 0;
		let inversionMaxMs = 0;
		for (let i = 1; i < byArrival.length; i++) {
			const gap = byArrival[i - 1].admittedAtMs - byArrival[i].admittedAtMs;
			if (gap > 0) {
				inversions++;
				inversionMaxMs = Math.max(inversionMaxMs, gap);
			}
		}
		const outOfTurn = byArrival.filter((a) => Math.floor((a.admittedAtMs - times[0]) / 1000) !== Math.floor(a.arrival / PER_SECOND)).length;
		const errors = admissions.filter((a) => a.promisedMs > 0).map((a) => a.admittedAtMs - a.arrivedAtMs - a.promisedMs).sort((a, b) => a - b);
		const maxInAnySecond = maxInWindow(times, 1000);
		if (maxInAnySecond > PER_SECOND) throw new Error(`over-admit: ${maxInAnySecond} admitted within one second, limit ${PER_SECOND}`);

		const n8nKey = `bench-wait-n8n-${randomBytes(4).toString('hex')}`;
		const workflow = new BenchWorkflow({
			nodeType: OUR_NODE,
			parameters: { resource: 'rateLimit', operation: 'check', limitKey: n8nKey, maxRequests: PER_SECOND, windowSeconds: 1, whenLimited: 'wait', maxWaitSeconds: 120 },
			items: [{}],
			credentials: server.credentials() as never,
		});
		const n8nStart = Date.now();
		const runs = await Promise.all(Array.from({ length: options.waiters }, () => workflow.runChecked(1)));
		const n8nSeconds = (Date.now() - n8nStart) / 1000;
		const outs = runs.map((outputs) => outputs[0][0].json);
		const waited = outs.map((o) => Number(o.waitedMs)).sort((a, b) => a - b);

		const memory = await measureMemory(clients[0], options.memorySizes);
		// 100 tickets queued on a full limit, then let go.
		const full = schema.rateLimit(`bench-mem-q-${randomBytes(4).toString('hex')}`);
		const hold: RateLimitRule = { algorithm: 'fixedWindow', maxRequests: 1, windowMs: 86_400_000 };
		await checkRateLimit(clients[0], full, hold);
		for (let i = 0; i < 100; i++) await checkRateLimit(clients[0], full, hold, { ticket: newWaiterTicket(60_000) });
		const { waiters, leases } = rateLimitWaiterKeys(full);
		const waiterBytes = (Number(await clients[0].memory('USAGE', waiters, 'SAMPLES', 0)) + Number(await clients[0].memory('USAGE', leases, 'SAMPLES', 0))) / 100;
		await clients[0].unlink(full, waiters, leases);
		return {
			waiters: options.waiters,
			perSecond,
			maxInAnySecond,
			outOfTurn,
			inversions,
			inversionMaxMs,
			errors,
			seconds,
			n8n: {
				executions: runs.length,
				allowed: outs.filter((o) => o.allowed === true).length,
				waitedP50: percentileSorted(waited, 50),
				waitedP99: percentileSorted(waited, 99),
				seconds: n8nSeconds,
			},
			memory,
			waiterBytes,
		};
	} finally {
		await Promise.all(clients.map((c) => c.quit()));
	}
}

export function rateLimitWaitSection(f: WaitFigures): Section {
	const whole = f.perSecond.slice(0, -1);
	const memoryRows = f.memory.map((m) => [
		m.algorithm,
		m.algorithm === 'sliding window' ? m.counted.toLocaleString('en-US') : `${m.counted.toLocaleString('en-US')} (any number)`,
		m.bytes.toLocaleString('en-US'),
		m.algorithm === 'sliding window' ? (m.bytes / m.counted).toFixed(0) : '-',
	]);
	return {
		title: '5b. Waiting for a rate-limit slot; memory per key',
		intro: [
			`${f.waiters} waiters on one key limited to ${PER_SECOND} per second (sliding window), arriving at once over 10 connections, took ${f.seconds.toFixed(1)} s.`,
			`Admitted per whole second: ${whole.join(', ')} (then ${f.perSecond[f.perSecond.length - 1]}); at most ${f.maxInAnySecond} in any 1,000 ms (0 over-admits); ${f.outOfTurn} waiters admitted out of turn (in another second than their place in arrival order gives them); within a turn, ${f.inversions} pairs admitted in reverse order by at most ${fmtMs(f.inversionMaxMs)} (both slots were free and the later waiter woke first; it never takes an earlier waiter's slot).`,
			`Actual minus promised wait (server clock, ${f.errors.length} waiters that waited): p50 ${fmtMs(percentileSorted(f.errors, 50))}, p99 ${fmtMs(percentileSorted(f.errors, 99))}, max ${fmtMs(f.errors[f.errors.length - 1] ?? 0)}.`,
			`Through n8n, ${f.n8n.executions} concurrent executions of Check with Wait Until Allowed: ${f.n8n.allowed} allowed in ${f.n8n.seconds.toFixed(1)} s, waitedMs p50 ${fmtMs(f.n8n.waitedP50)}, p99 ${fmtMs(f.n8n.waitedP99)}.`,
			`Memory (MEMORY USAGE ... SAMPLES 0) per limit key below; a queued waiter costs about ${f.waiterBytes.toFixed(0)} bytes while it waits.`,
		].join(' '),
		head: ['Algorithm', 'Requests counted', 'Bytes per key', 'Bytes per request'],
		rows: memoryRows,
	};
}
