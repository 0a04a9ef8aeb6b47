/**
 * 1. Redis restart during work.
 *
 * "Written" means: the server acknowledged the command. These servers run with
 * `appendfsync always`, so an acknowledged write is on disk before its reply leaves the
 * server and must survive a SIGKILL + restart from the same directory. (Our redis.conf uses
 * `everysec`: a killed *process* still loses nothing acknowledged, because the AOF write()
 * precedes the reply and the page cache survives, but a *machine* crash may lose the last
 * second. `always` makes the check exact whatever the disk does.)
 */
import { runNode } from '../helpers/n8n';
import { startTrigger } from '../helpers/trigger';
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { JobQueue } from '../../platform/queue';
import type { RedisServerHandle } from '../helpers/redis-server';
import { credentialsFor, raw, report, restartServer, scanKeys, sleep, startServer, stopAll, waitFor } from './support';

const DURABLE = ['--appendfsync', 'always'];
const ITEMS = 10_000;

afterAll(async () => {
	await sharedPool.closeAll();
	await stopAll();
});

function sessionBatch(server: RedisServerHandle, prefix: string, continueOnFail: boolean) {
	return runNode({
		continueOnFail,
		credentials: credentialsFor(server),
		parameters: {
			resource: 'session',
			operation: 'set',
			sessionId: `={{ "${prefix}" + $json.i }}`,
			// ~4 KB per session: the batch is ~40 MB, long enough on the wire to be killed mid-way.
			data: '={{ JSON.stringify({ i: $json.i, blob: "x".repeat(4000) }) }}',
			ttl: 3600,
		},
		items: Array.from({ length: ITEMS }, (_, i) => ({ i })),
	});
}

type Fault = 'kill' | 'drop';

/**
 * kill: SIGKILL the server once `threshold` keys exist, restart it 300 ms later from the same dir.
 * drop: the server stays up but closes every client connection (CLIENT KILL), as a proxy or
 * a network blip would; the client's reconnect then succeeds at once.
 */
async function injectFault(server: RedisServerHandle, fault: Fault, threshold: number): Promise<{ seen: number; server: RedisServerHandle }> {
	const watcher = raw(server, 0);
	let seen = 0;
	await waitFor(async () => {
		seen = await watcher.dbsize().catch(() => seen);
		return seen >= threshold;
	}, 120_000, 1);
	if (fault === 'drop') {
		await watcher.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
		return { seen, server };
	}
	await server.kill();
	await sleep(300);
	return { seen, server: await restartServer(server) };
}

describe('a 10,000-item Set Session batch loses its Redis mid-way', () => {
	it.each([
		['kill', false],
		['kill', true],
		['drop', false],
		['drop', true],
	] as Array<[Fault, boolean]>)('%s with continueOnFail=%s: a readable error or success, never success for an unwritten item', async (fault, continueOnFail) => {
		let server = await startServer({ args: DURABLE });
		const prefix = `${fault}${continueOnFail ? 'c' : 's'}:`;
		const started = Date.now();
		const running = sessionBatch(server, prefix, continueOnFail);
		const injected = await injectFault(server, fault, 2000);
		server = injected.server;
		const seenAtKill = injected.seen;
		// A hang here (the execution never settles) is itself a failure: the race turns it into one.
		const result = await Promise.race([
			running,
			sleep(60_000).then(() => {
				throw new Error('the execution did not settle within 60 s after the fault');
			}),
		]);
		const elapsed = Date.now() - started;

		const check = raw(server, 0);
		const present = new Set(await scanKeys(check, `session:${prefix}*`));
		let reportedStored = 0;
		let reportedFailed = 0;
		// Applied by the server but the reply was lost with the connection: safe (the user retries an idempotent SET).
		let appliedButReportedFailed = 0;
		const lostAcknowledged: string[] = [];
		if (continueOnFail) {
			expect(result.error).toBeUndefined();
			const out = result.outputs[0];
			expect(out).toHaveLength(ITEMS);
			out.forEach((json, index) => {
				expect(result.items[0][index].pairedItem).toEqual({ item: index });
				if (json.stored === true) {
					reportedStored++;
					if (!present.has(`session:${prefix}${index}`)) lostAcknowledged.push(String(index));
				} else {
					reportedFailed++;
					if (present.has(`session:${prefix}${index}`)) appliedButReportedFailed++;
					expect(String(json.error)).toMatch(/^Set Session failed: (The connection to Redis was lost|Connection refused).* \[item \d+\]$/);
				}
			});
		} else if (result.error) {
			reportedFailed = ITEMS;
			expect(result.error.message).toMatch(/Set Session failed: (The connection to Redis was lost|Connection refused)/);
			expect(result.error.message).not.toContain(server.password);
			expect(result.error.message).not.toMatch(/\n\s+at /);
		} else {
			// The kill landed after the last reply: the run is a success and every item must be there.
			reportedStored = ITEMS;
			for (let i = 0; i < ITEMS; i++) if (!present.has(`session:${prefix}${i}`)) lostAcknowledged.push(String(i));
		}
		// Every key that survived is a whole, valid session (no torn or misplaced writes).
		const keys = [...present];
		for (let from = 0; from < keys.length; from += 1000) {
			const slice = keys.slice(from, from + 1000);
			const values = await check.mget(...slice);
			values.forEach((text, n) => {
				const value = JSON.parse(text as string) as { i: number; blob: string };
				expect(slice[n]).toBe(`session:${prefix}${value.i}`);
				expect(value.blob).toHaveLength(4000);
			});
		}
		expect(lostAcknowledged).toEqual([]);
		report(`Fault "${fault}" during a 10,000-item Set Session batch (continueOnFail=${continueOnFail})`, ['figure', 'value'], [
			['keys present when the fault hit', seenAtKill],
			['items reported stored', reportedStored],
			['items reported failed', reportedFailed],
			['keys present afterwards', present.size],
			['reported stored but missing', lostAcknowledged.length],
			['written but reported failed (reply lost)', appliedButReportedFailed],
			['batch wall time incl. outage (ms)', elapsed],
		]);

		// The pooled client reconnects by itself: the next execution on the restarted server works.
		const after = await runNode({
			credentials: credentialsFor(server),
			parameters: { resource: 'session', operation: 'set', sessionId: `${prefix}after`, data: '{"ok":true}', ttl: 60 },
		});
		expect(after.error).toBeUndefined();
		expect(await check.exists(`session:${prefix}after`)).toBe(1);
	});
});

/** Every job id the queue holds, in any state: envelopes in the lists, ids in the jobs hash. */
async function jobIdsIn(server: RedisServerHandle, name: string): Promise<Set<string>> {
	const keys = new KeySchema().queue(name);
	const client = raw(server, 3);
	const ids = new Set<string>();
	for (const list of [keys.waiting, keys.claim]) {
		for (const envelope of await client.lrange(list, 0, -1)) ids.add((JSON.parse(envelope) as { id: string }).id);
	}
	for (const id of await client.hkeys(keys.jobs)) ids.add(id);
	return ids;
}

describe('queued jobs survive a restart with our redis.conf persistence (AOF everysec)', () => {
	it.each([
		['graceful stop (SIGTERM: SHUTDOWN with a final fsync)', 'stop'],
		['crash (SIGKILL right after the last enqueue was acknowledged)', 'kill'],
	] as Array<[string, 'stop' | 'kill']>)('%s', async (_label, how) => {
		// Our redis.conf as shipped: appendonly yes, appendfsync everysec. A killed process loses
		// nothing acknowledged: the AOF write() happens before the reply and the page cache outlives it.
		let server = await startServer();
		const name = `restart-${how}`;
		const JOBS = 5000;
		const enqueued = await runNode({
			credentials: credentialsFor(server),
			parameters: {
				resource: 'job',
				operation: 'enqueue',
				queue: name,
				payload: '={{ JSON.stringify({ n: $json.n }) }}',
				// A mix of states: normal, prioritised and delayed jobs.
				options: { priority: '={{ $json.n % 5 === 0 ? 50 : 0 }}', delaySeconds: '={{ $json.n % 7 === 0 ? 3600 : 0 }}', maxAttempts: 5 },
			},
			items: Array.from({ length: JOBS }, (_, n) => ({ n })),
		});
		expect(enqueued.error).toBeUndefined();
		const ids = enqueued.outputs[0].map((o) => o.id as string);
		expect(ids).toHaveLength(JOBS);
		// 100 jobs taken by a worker that then dies with them in flight.
		const taken = await runNode({
			credentials: credentialsFor(server),
			parameters: { resource: 'job', operation: 'dequeue', queue: name, timeout: 0, visibilityTimeout: 600, options: { maxJobs: 100 } },
		});
		expect(taken.error).toBeUndefined();
		expect(taken.outputs[0]).toHaveLength(100);
		const queue = new JobQueue(raw(server, 3), new KeySchema().queue(name));
		const before = await queue.stats();

		await sharedPool.closeAll();
		if (how === 'stop') await server.stop();
		else await server.kill();
		server = await restartServer(server);

		const after = await new JobQueue(raw(server, 3), new KeySchema().queue(name)).stats();
		const present = await jobIdsIn(server, name);
		const missing = ids.filter((id) => !present.has(id));
		report(`Queue restart: ${JOBS} jobs, ${how}`, ['state', 'before', 'after'], [
			['waiting', before.waiting, after.waiting],
			['prioritised', before.prioritized, after.prioritized],
			['delayed', before.delayed, after.delayed],
			['in flight', before.inFlight, after.inFlight],
			['job ids missing after restart', '', missing.length],
		]);
		expect(missing).toEqual([]);
		expect({ ...after, now: 0, oldestWaitingAgeMs: 0, nextRunAt: 0 }).toEqual({
			...before,
			now: 0,
			oldestWaitingAgeMs: 0,
			nextRunAt: 0,
		});
	});
});

describe('the triggers resume after Redis restarts (system check; details in test/trigger and test/queue)', () => {
	it('pub/sub and queue-worker triggers deliver work published and enqueued by the node after a kill -9', async () => {
		let server = await startServer();
		const channel = 'restart_updates';
		const queueName = 'restart-worker';
		const pubsub = await startTrigger({
			parameters: { event: 'contentUpdatePubSub', channels: channel, options: {} },
			credentials: credentialsFor(server),
			workflowId: 'wf-restart-pubsub',
		});
		const worker = await startTrigger({
			parameters: { event: 'jobAvailable', queue: queueName, maxParallelJobs: 2, visibilityTimeout: 30 },
			credentials: credentialsFor(server),
			workflowId: 'wf-restart-queue',
			nodeId: 'queue-trigger',
		});
		try {
			const publish = (seq: number) =>
				runNode({
					credentials: credentialsFor(server),
					parameters: { resource: 'update', operation: 'publish', channel, message: JSON.stringify({ seq }) },
				});
			const enqueue = (from: number, count: number) =>
				runNode({
					credentials: credentialsFor(server),
					parameters: { resource: 'job', operation: 'enqueue', queue: queueName, payload: '={{ JSON.stringify({ n: $json.n }) }}' },
					items: Array.from({ length: count }, (_, i) => ({ n: from + i })),
				});
			await waitFor(async () => ((await publish(0)).outputs[0]?.[0]?.subscribers as number) > 0, 10_000, 50);
			await pubsub.waitFor(1);
			expect((await enqueue(0, 10)).error).toBeUndefined();
			await worker.waitFor(10, 20_000);

			const killedAt = Date.now();
			await server.kill();
			await sleep(1000);
			server = await restartServer(server);
			const restartedAt = Date.now();

			// Pub/sub drops what is published while nobody is subscribed: publish until one arrives.
			const emittedBefore = pubsub.emitted.length;
			let seq = 1;
			const back = await waitFor(async () => {
				await publish(seq++).catch(() => undefined);
				return pubsub.emitted.length > emittedBefore;
			}, 30_000, 50);
			const pubsubBackMs = Date.now() - restartedAt;
			expect(back).toBe(true);
			expect((await enqueue(100, 20)).error).toBeUndefined();
			await worker.waitFor(30, 30_000);
			const queueBackMs = Date.now() - restartedAt;
			const worked = new Set(worker.emitted.map((j) => (j.payload as { n: number }).n));
			for (let n = 100; n < 120; n++) expect(worked.has(n)).toBe(true);
			report('Triggers across kill -9 + restart (1 s outage)', ['figure', 'value'], [
				['outage (ms)', restartedAt - killedAt],
				['pub/sub: first message emitted after restart (ms)', pubsubBackMs],
				['queue worker: 20 new jobs all emitted after restart (ms)', queueBackMs],
				['emitError calls (must be 0)', pubsub.errors.length + worker.errors.length],
			]);
			expect(pubsub.errors).toEqual([]);
			expect(worker.errors).toEqual([]);
			const logs = [...pubsub.logs, ...worker.logs].map((l) => l.message).join('\n');
			expect(logs).not.toContain(server.password);
		} finally {
			await pubsub.close();
			await worker.close();
		}
	});
});
