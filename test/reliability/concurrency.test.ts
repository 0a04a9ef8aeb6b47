/**
 * 4. Concurrency correctness, on the platform modules the node and trigger use, each actor on
 * its own connection (as separate n8n workers and Python services would be).
 * The checks are exact replays of what the server decided, never timing thresholds.
 */
import { ConnectionPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { acquireLock, releaseLock } from '../../platform/lock';
import { JobQueue, QueueWorker, type Job } from '../../platform/queue';
import { checkRateLimit, type RateLimitResult } from '../../platform/rate-limit';
import type { RedisLike } from '../../platform/scripts';
import type { RedisServerHandle } from '../helpers/redis-server';
import { configFor, report, sleep, startServer, stopAll } from './support';

let server: RedisServerHandle;
const pool = new ConnectionPool();

beforeAll(async () => {
	server = await startServer();
});

afterAll(async () => {
	await pool.closeAll();
	await stopAll();
});

function clients(n: number, role: 'rateLimit' | 'default' | 'queue'): RedisLike[] {
	return Array.from({ length: n }, () => pool.dedicated(configFor(server), role, 'blocking'));
}

describe('rate limiter', () => {
	it('is exact across 100 concurrent clients over 5 windows', async () => {
		const MAX = 50;
		const WINDOW_MS = 1000;
		const WINDOWS = 5;
		const key = new KeySchema('conc:').rateLimit('api');
		const actors = clients(100, 'rateLimit');
		const results: RateLimitResult[] = [];
		const until = Date.now() + WINDOWS * WINDOW_MS;
		await Promise.all(
			actors.map(async (client) => {
				while (Date.now() < until) {
					results.push(await checkRateLimit(client, key, { maxRequests: MAX, windowMs: WINDOW_MS }));
					await sleep(Math.random() * 20);
				}
			}),
		);
		const allowedAt = results.filter((r) => r.allowed).map((r) => r.checkedAtMs).sort((a, b) => a - b);
		// Requests let through in (t - window, t], on the server's clock.
		const inWindow = (t: number) => allowedAt.filter((s) => s > t - WINDOW_MS && s <= t).length;
		let tooMany = 0;
		let deniedWithRoom = 0;
		for (const r of results) {
			const count = inWindow(r.checkedAtMs);
			// Allowed: the window never holds more than MAX. Denied: it was really full.
			if (r.allowed && count > MAX) tooMany++;
			if (!r.allowed && count < MAX) deniedWithRoom++;
		}
		const first = allowedAt[0];
		const spanMs = allowedAt[allowedAt.length - 1] - first;
		report('Rate limiter: 100 clients, max 50 per 1 s sliding window, 5 windows', ['figure', 'value'], [
			['checks', results.length],
			['allowed', allowedAt.length],
			['denied', results.length - allowedAt.length],
			['server-time span of allowed requests (ms)', spanMs],
			['upper bound MAX x ceil(span/window + 1)', MAX * Math.ceil(spanMs / WINDOW_MS + 1)],
			['allowed while the window was full (must be 0)', tooMany],
			['denied while the window had room (must be 0)', deniedWithRoom],
		]);
		expect(results.length).toBeGreaterThan(WINDOWS * MAX * 2);
		expect(tooMany).toBe(0);
		expect(deniedWithRoom).toBe(0);
		expect(allowedAt.length).toBeLessThanOrEqual(MAX * Math.ceil(spanMs / WINDOW_MS + 1));
		await Promise.all(actors.map((c) => pool.release(c)));
	});
});

describe('lock', () => {
	it('keeps mutual exclusion among 50 contenders, and an abandoned lock frees itself at its TTL', async () => {
		const TTL_MS = 300;
		// Ends after enough acquisitions (not after a fixed time), so a slow machine only runs longer.
		const TARGET = 60;
		const DEADLINE_MS = 60_000;
		const key = new KeySchema('conc:').lock('campaign-42');
		const actors = clients(50, 'default');
		let holder: { id: number; overlapped: boolean } | null = null;
		let acquisitions = 0;
		let releasedWhileOverlapped = 0;
		let overlaps = 0;
		let abandoned = 0;
		let takenBeforeExpiry = 0;
		let lastAbandonedExpiry = 0;
		const until = Date.now() + DEADLINE_MS;
		await Promise.all(
			actors.map(async (client, id) => {
				while (acquisitions < TARGET && Date.now() < until) {
					const got = await acquireLock(client, key, { ttlMs: TTL_MS, waitMs: 500, retryMs: 20 });
					if (!got.acquired) continue;
					acquisitions++;
					const startedAt = (got.expiresAtMs as number) - TTL_MS;
					// Taken while an abandoned lease was still running: a safety violation.
					if (startedAt < lastAbandonedExpiry - 2) takenBeforeExpiry++;
					if (holder) {
						// Only legal when the previous holder's lease ran out (it will find out on release).
						holder.overlapped = true;
						overlaps++;
					}
					const me = { id, overlapped: false };
					holder = me;
					if (acquisitions % 10 === 0) {
						// Crash: keep the lock and walk away; it must free itself after TTL_MS.
						abandoned++;
						lastAbandonedExpiry = got.expiresAtMs as number;
						holder = null;
						continue;
					}
					await sleep(Math.random() * 10);
					if (holder === me) holder = null;
					const outcome = await releaseLock(client, key, got.token as string);
					// A release that succeeds proves the lease was still ours, so nobody else may have held it.
					if (outcome === 'released' && me.overlapped) releasedWhileOverlapped++;
				}
			}),
		);
		report('Lock: 50 contenders, TTL 300 ms, every 10th holder crashes without releasing', ['figure', 'value'], [
			['acquisitions', acquisitions],
			['abandoned (crashed) holders', abandoned],
			['acquired while an abandoned lease was live (must be 0)', takenBeforeExpiry],
			['acquired while a holder believed it held (lease expired)', overlaps],
			['released by a holder that was overlapped (must be 0)', releasedWhileOverlapped],
		]);
		expect(acquisitions).toBeGreaterThanOrEqual(TARGET);
		expect(abandoned).toBeGreaterThan(0);
		expect(takenBeforeExpiry).toBe(0);
		expect(releasedWhileOverlapped).toBe(0);
		await Promise.all(actors.map((c) => pool.release(c)));
	});
});

describe('job queue', () => {
	it('is at-least-once with 8 consumers that crash at random', async () => {
		const JOBS = 3000;
		const CONSUMERS = 8;
		const VISIBILITY_MS = 1000;
		const keys = new KeySchema('conc:').queue('work');
		const producer = new JobQueue(pool.client(configFor(server), 'queue'), keys);
		const ids = (await producer.enqueue(Array.from({ length: JOBS }, (_, n) => ({ payload: { n }, maxAttempts: 100 })))).map((r) => r.id);
		const worked = new Map<string, number>();
		let crashedInFlight = 0;
		let crashes = 0;

		const spawn = () => {
			const [main, blocking] = clients(2, 'queue');
			const worker = new QueueWorker(
				new JobQueue(main, keys),
				blocking,
				async (job: Job) => {
					worked.set(job.id, (worked.get(job.id) ?? 0) + 1);
					await sleep(Math.random() * 4);
				},
				{ concurrency: 4, visibilityMs: VISIBILITY_MS, onError: () => undefined },
			);
			worker.start();
			return { worker, main, blocking };
		};
		let live = Array.from({ length: CONSUMERS }, spawn);
		const started = Date.now();
		const deadline = started + 120_000;
		// Crashes are spaced by progress, not by the clock: a fast queue drains 3,000 jobs in a few
		// hundred ms on a quiet machine, so crashes on a timer might never happen at all.
		let nextCrashAt = 150;
		for (let tick = 1; ; tick++) {
			await sleep(5);
			if (tick % 20 === 0) {
				const stats = await producer.stats();
				if (stats.waiting + stats.prioritized + stats.delayed + stats.inFlight === 0) break;
				if (Date.now() > deadline) throw new Error(`queue did not drain: ${JSON.stringify(stats)}`);
			}
			if (crashes < 15 && worked.size >= nextCrashAt) {
				nextCrashAt += 180;
				// Crash one consumer: its running jobs are never acked and both sockets drop at once.
				const victim = live[Math.floor(Math.random() * live.length)];
				crashedInFlight += victim.worker.activeCount;
				crashes++;
				victim.main.disconnect();
				victim.blocking.disconnect();
				await victim.worker.stop({ abandon: true });
				live = live.filter((w) => w !== victim).concat(spawn());
			}
		}
		const elapsed = Date.now() - started;
		await Promise.all(live.map((w) => w.worker.stop()));
		const stats = await producer.stats();
		const lost = ids.filter((id) => !worked.has(id)).length;
		const duplicates = [...worked.values()].reduce((sum, n) => sum + n - 1, 0);
		report('Job queue: 3,000 jobs, 8 consumers x 4 parallel, random crashes', ['figure', 'value'], [
			['consumer crashes', crashes],
			['jobs in flight in crashed consumers', crashedInFlight],
			['jobs lost (must be 0)', lost],
			['jobs worked twice or more', duplicates],
			['dead-lettered', stats.dead],
			['drain time (ms)', elapsed],
		]);
		expect(crashes).toBeGreaterThan(0);
		expect(lost).toBe(0);
		expect(duplicates).toBeLessThanOrEqual(crashedInFlight);
		expect(stats.dead).toBe(0);
		expect(stats.inFlight).toBe(0);
	});
});
