/**
 * At least once across the two languages, with crashes:
 * - a pool of Python worker processes (python/tests/interop/worker.py: take_job + `with
 *   job:`), killed at random with SIGKILL and replaced, works through jobs that the node's
 *   Enqueue wrote;
 * - n8n's queue-worker trigger, in processes of its own that are SIGKILLed the same way
 *   (support/queue-trigger-process.ts), works through jobs that redis_manager.enqueue_job
 *   wrote.
 * Each worker records a job before acknowledging it. Lost (never recorded) must be 0;
 * duplicates (recorded twice) must not exceed the jobs that were in flight in the killed
 * processes (at most one per Python worker, at most Max Parallel Jobs per trigger process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, testCredentials, uniquePrefix } from '../helpers/redis';
import { REPO_ROOT } from '../helpers/redis-server';
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { describePython, PYTHON_DIR, pythonEnv, runPython, spawnPython } from './python';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Pool {
	alive: ChildProcess[];
	/** Every process started, ready or still starting, so that none outlives the test. */
	all: ChildProcess[];
	kills: number;
	spawned: number;
}

/** Starts a process and resolves once it printed "ready". */
function startProcess(start: () => ChildProcess, pool: Pool, timeoutMs = 60_000): Promise<ChildProcess> {
	const child = start();
	pool.spawned += 1;
	pool.all.push(child);
	let err = '';
	child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`worker did not start within ${timeoutMs} ms:\n${err}`)), timeoutMs);
		let out = '';
		child.stdout?.on('data', (d: Buffer) => {
			// "ready" may come in several chunks.
			out = (out + d.toString()).slice(-100);
			if (out.includes('ready') && !pool.alive.includes(child)) {
				clearTimeout(timer);
				pool.alive.push(child);
				resolve(child);
			}
		});
		child.once('exit', (code, signal) => {
			clearTimeout(timer);
			pool.alive = pool.alive.filter((c) => c !== child);
			// A SIGKILL is ours (the killer, or the end of the test, maybe before "ready").
			if (signal === 'SIGKILL') resolve(child);
			else reject(new Error(`worker exited (${code ?? signal}):\n${err}`));
		});
	});
}

/** SIGKILL of the whole process group: the process and anything it started die at once. */
function killHard(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
	return new Promise((resolve) => {
		child.once('exit', () => resolve());
		try {
			process.kill(-child.pid!, 'SIGKILL');
		} catch {
			resolve();
		}
	});
}

async function stopAll(pool: Pool): Promise<void> {
	await Promise.all(pool.all.filter((c) => c.exitCode === null && c.signalCode === null).map(killHard));
}

/** Waits until no job of the queue is waiting, delayed, claimed or in flight. */
async function drained(keys: ReturnType<KeySchema['queue']>, timeoutMs: number, onTick: () => Promise<void>): Promise<void> {
	const raw = rawClient(3);
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const [waiting, claim, prio, delayed, inflight] = await Promise.all([
			raw.llen(keys.waiting),
			raw.llen(keys.claim),
			raw.zcard(keys.priority),
			raw.zcard(keys.delayed),
			raw.zcard(keys.inflight),
		]);
		if (waiting + claim + prio + delayed + inflight === 0) return;
		if (Date.now() > deadline) throw new Error(`queue not drained: ${JSON.stringify({ waiting, claim, prio, delayed, inflight })}`);
		await onTick();
		await sleep(100);
	}
}

interface Tally {
	records: number;
	unique: number;
	lost: number;
	duplicates: number;
	redelivered: number;
}

async function tally(record: string, ids: string[]): Promise<Tally> {
	const lines = await rawClient(3).lrange(record, 0, -1);
	const seen = new Map<string, number>();
	let redelivered = 0;
	for (const line of lines) {
		const [id, attempt] = line.split(' ');
		seen.set(id, (seen.get(id) ?? 0) + 1);
		if (Number(attempt) > 1) redelivered += 1;
	}
	const lost = ids.filter((id) => !seen.has(id)).length;
	return { records: lines.length, unique: seen.size, lost, duplicates: lines.length - seen.size, redelivered };
}

/** Kills a random live process every `everyMs` until `kills` were made, replacing each one. */
function killer(pool: Pool, kills: number, everyMs: [number, number], respawn: () => Promise<unknown>) {
	let nextAt = Date.now() + everyMs[0];
	return async () => {
		if (pool.kills >= kills || Date.now() < nextAt || pool.alive.length === 0) return;
		nextAt = Date.now() + everyMs[0] + Math.random() * (everyMs[1] - everyMs[0]);
		const victim = pool.alive[Math.floor(Math.random() * pool.alive.length)];
		pool.kills += 1;
		await killHard(victim);
		respawn().catch((error: Error) => console.error(error.message)); // eslint-disable-line no-console
	};
}

describePython('at least once across languages, with processes killed at random', () => {
	it('a Python worker pool, killed at random, works every job the node enqueued', async () => {
		const JOBS = 3000;
		const WORKERS = 4;
		const KILLS = 8;
		// Long enough that a loaded CI machine never lets a live worker's job time out (heartbeat every 1.7 s).
		const VISIBILITY_S = 5;
		const prefix = uniquePrefix('pyw');
		const keys = new KeySchema(prefix).queue('content_generation');
		const record = `${prefix}worked`;

		// The node enqueues, in executions of 500 items (one pipeline each).
		const ids: string[] = [];
		for (let start = 0; start < JOBS; start += 500) {
			const result = await runNode({
				credentials: testCredentials({ keyPrefix: prefix }),
				parameters: { resource: 'job', operation: 'enqueue', queue: 'content_generation', payload: '={{ JSON.stringify({ n: $json.n }) }}', options: { maxAttempts: 50 } },
				items: Array.from({ length: 500 }, (_, i) => ({ n: start + i })),
			});
			if (result.error) throw result.error;
			ids.push(...result.outputs[0].map((o) => String(o.id)));
		}
		expect(new Set(ids).size).toBe(JOBS);

		const pool: Pool = { alive: [], all: [], kills: 0, spawned: 0 };
		const env = pythonEnv(prefix);
		const worker = join(PYTHON_DIR, 'tests', 'interop', 'worker.py');
		const startWorker = () => startProcess(() => spawnPython([worker, 'content_generation', record, String(VISIBILITY_S), '4'], env), pool);
		const started = Date.now();
		try {
			await Promise.all(Array.from({ length: WORKERS }, startWorker));
			const tick = killer(pool, KILLS, [300, 700], startWorker);
			await drained(keys, 120_000, tick);
			while (pool.kills < KILLS) await tick();
		} finally {
			await stopAll(pool);
		}
		const elapsed = (Date.now() - started) / 1000;
		const t = await tally(record, ids);
		// eslint-disable-next-line no-console
		console.log(
			`[python worker pool] jobs ${JOBS} (enqueued by the node), workers ${WORKERS} (${pool.spawned} processes started), ` +
				`killed ${pool.kills} with SIGKILL: lost ${t.lost}, duplicates ${t.duplicates} (bound ${pool.kills}: one job in flight per killed worker), ` +
				`redelivered ${t.redelivered}, ${elapsed.toFixed(1)} s (${Math.round(JOBS / elapsed)} jobs/s)`,
		);
		expect(t.lost).toBe(0);
		expect(t.duplicates).toBeLessThanOrEqual(pool.kills);
		expect(t.redelivered).toBeGreaterThan(0);
		expect(await rawClient(3).llen(keys.dead)).toBe(0);
	}, 240_000);

	it("n8n's queue trigger, killed at random, works every job Python enqueued", async () => {
		const JOBS = 3000;
		const PROCESSES = 2;
		const PARALLEL = 4;
		const KILLS = 3;
		const VISIBILITY_S = 5;
		const prefix = uniquePrefix('n8w');
		const keys = new KeySchema(prefix).queue('content_generation');
		const record = `${prefix}worked`;

		const pool: Pool = { alive: [], all: [], kills: 0, spawned: 0 };
		const tsx = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
		const script = join(__dirname, 'support', 'queue-trigger-process.ts');
		const env = { ...process.env };
		const startN8n = () =>
			startProcess(
				() => spawn(tsx, [script, 'content_generation', prefix, record, String(PARALLEL), String(VISIBILITY_S), '10'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }),
				pool,
			);
		await Promise.all(Array.from({ length: PROCESSES }, startN8n));

		// Python enqueues while the triggers already consume.
		const produce = runPython(
			[
				'-c',
				[
					'import json',
					'from redis_manager import get_redis_manager',
					'r = get_redis_manager()',
					`print(json.dumps([r.enqueue_job("content_generation", {"n": n}, max_attempts=50) for n in range(${JOBS})]))`,
				].join('\n'),
			],
			pythonEnv(prefix),
		);
		if (produce.status !== 0) throw new Error(produce.stderr);
		const ids = JSON.parse(produce.stdout) as string[];
		expect(new Set(ids).size).toBe(JOBS);

		const started = Date.now();
		try {
			// Kills start once the triggers are working, so each one hits executions in flight.
			while ((await rawClient(3).llen(record)) < 200) await sleep(20);
			const tick = killer(pool, KILLS, [800, 1600], startN8n);
			await drained(keys, 180_000, tick);
			while (pool.kills < KILLS) {
				// All done before every kill was made: more jobs keep the kills meaningful.
				await tick();
				await sleep(50);
			}
			await drained(keys, 60_000, async () => undefined);
		} finally {
			await stopAll(pool);
		}
		const elapsed = (Date.now() - started) / 1000;
		const t = await tally(record, ids);
		// eslint-disable-next-line no-console
		console.log(
			`[n8n queue trigger] jobs ${JOBS} (enqueued by redis_manager), trigger processes ${PROCESSES} x ${PARALLEL} parallel (${pool.spawned} started), ` +
				`killed ${pool.kills} with SIGKILL: lost ${t.lost}, duplicates ${t.duplicates} (bound ${pool.kills * PARALLEL}: Max Parallel Jobs per killed process), ` +
				`redelivered ${t.redelivered}, ${elapsed.toFixed(1)} s`,
		);
		expect(t.lost).toBe(0);
		expect(t.duplicates).toBeLessThanOrEqual(pool.kills * PARALLEL);
		// The kills hit work in flight (else this test would prove nothing).
		expect(t.redelivered).toBeGreaterThan(0);
		expect(await rawClient(3).llen(keys.dead)).toBe(0);
	}, 300_000);
});
