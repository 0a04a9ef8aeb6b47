// n8n's own scale-out (EXECUTIONS_MODE=queue) with this package: one `n8n start` main runs the three
// trigger events, two `n8n worker` processes run the executions, n8n's Bull queue lives on a
// redis-server of its own. Every execution marks its item with our action node, so lost and duplicate
// executions are countable. Shows:
// - every durable update, job and pub/sub message published while up runs exactly once;
// - a durable update and a job are acknowledged only after the worker finished their execution;
// - connections to the package's Redis stay bounded per process;
// - a worker killed with SIGKILL mid-execution loses neither its job nor its durable update.
import { join } from 'node:path';

import type { N8nInstall } from '../../scripts/n8n-install';
import type { RedisTarget } from '../../scripts/lib/n8n';
import { sleep } from '../../scripts/lib/process';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server';
import { sampleConnections } from './lib/connections';
import { FatalError, RedisClients, waitFor } from './lib/context';
import {
	appendUpdates,
	countMarks,
	describeCount,
	enqueueJobs,
	marks,
	pendingIds,
	publishMessages,
	queueKeys,
	queueState,
	streamKey,
	type MarkCount,
} from './lib/marker-traffic';
import { markerBoards, pubSubMarkerWorkflow, queueMarkerWorkflow, streamMarkerWorkflow, type MarkerEvent } from './lib/marker-workflows';
import { N8nProcess } from './lib/n8n-process';
import { prepareSite, processEnv, type N8nSite } from './lib/n8n-site';
import { expect, type Report } from './lib/report';
import { N8nRest } from './lib/rest';
import { runningExecutions, startedExecutions } from './lib/worker-log';

const SCENARIO = 'qm';
/** Items per event in the load phase. */
const K = 20;
const CONCURRENCY = 2;
const CHANNEL = { pubsub: 'e2e_qm_pubsub', stream: 'e2e_qm_durable' };
const QUEUE = 'e2e_qm_jobs';
const GROUP = 'e2e-qm';
const IDS: Record<MarkerEvent, string> = { pubsub: 'e2eQmPubSub01', stream: 'e2eQmStream01', queue: 'e2eQmQueue01' };
const EVENTS: MarkerEvent[] = ['stream', 'queue', 'pubsub'];
/** Marks of the acknowledgement phase, which runs before the load phase on the same boards. */
const ACK_MARKS = ['ack-u', 'ack-j'];
/**
 * Bull's defaults notice a dead worker after up to 90 s (60 s lock, 30 s stall check); shorter here so the
 * kill phase stays quick, yet long enough that a busy 2-core machine does not miss a lock renewal.
 */
const BULL_TIMING = { QUEUE_WORKER_LOCK_DURATION: '10000', QUEUE_WORKER_LOCK_RENEW_TIME: '2000', QUEUE_WORKER_STALLED_INTERVAL: '5000' };
/** Upper bounds of connections to the package's Redis per process; independent of how many executions ran. */
const MAX_CONNECTIONS = { main: 8, worker: 4 };

interface Cluster {
	site: N8nSite;
	main: N8nProcess;
	workers: N8nProcess[];
	rest: N8nRest;
}

export async function checkQueueMode(report: Report, install: N8nInstall, target: RedisTarget, workDir: string): Promise<void> {
	const started = Date.now();
	const redis = new RedisClients(target);
	const db0 = redis.db(0);
	const db3 = redis.db(3);
	const boards = Object.fromEntries(EVENTS.map((e) => [e, markerBoards(SCENARIO, e)])) as Record<MarkerEvent, ReturnType<typeof markerBoards>>;
	let bull: RedisServerHandle | undefined;
	let site: N8nSite | undefined;
	let cluster: Cluster | undefined;
	const processes: N8nProcess[] = [];
	try {
		const ready = await report.check('queue mode: Bull on its own redis-server; user folder with the three trigger workflows published', async () => {
			await db0.del(...EVENTS.flatMap((e) => [boards[e].started, boards[e].done]), streamKey(CHANNEL.stream));
			await db3.del(...Object.values(queueKeys(QUEUE)));
			bull = await startRedisServer({ noConf: true, args: ['--save', '', '--appendonly', 'no'] });
			site = await prepareSite(
				install,
				target,
				join(workDir, 'queue-mode'),
				[
					streamMarkerWorkflow(IDS.stream, CHANNEL.stream, boards.stream, { group: GROUP, maxParallel: 4 }),
					queueMarkerWorkflow(IDS.queue, QUEUE, boards.queue, { parallel: 4, visibilitySeconds: 30 }),
					pubSubMarkerWorkflow(IDS.pubsub, CHANNEL.pubsub, boards.pubsub),
				],
				{
					EXECUTIONS_MODE: 'queue',
					QUEUE_BULL_REDIS_HOST: '127.0.0.1',
					QUEUE_BULL_REDIS_PORT: String(bull.port),
					QUEUE_BULL_REDIS_PASSWORD: bull.password,
					QUEUE_HEALTH_CHECK_ACTIVE: 'true',
					...BULL_TIMING,
				},
			);
			return `Bull redis-server on port ${bull.port}; workflows ${Object.values(IDS).join(', ')}`;
		});
		const siteReady = site;
		if (!ready || !siteReady) return;

		const up = await report.check(`queue mode: n8n start (main) and 2 x n8n worker --concurrency=${CONCURRENCY} up`, async () => {
			const t0 = Date.now();
			const mainEnv = await processEnv(siteReady);
			const main = new N8nProcess('main', install, ['start'], mainEnv);
			processes.push(main);
			const workers: N8nProcess[] = [];
			for (const n of [1, 2]) {
				const worker = new N8nProcess(`worker-${n}`, install, ['worker', `--concurrency=${CONCURRENCY}`], await processEnv(siteReady));
				workers.push(worker);
				processes.push(worker);
			}
			const url = `http://127.0.0.1:${mainEnv.N8N_PORT}`;
			await Promise.all([
				main.waitForHttp(`${url}/healthz/readiness`, 240_000).then(() => main.waitForHttp(`${url}/rest/settings`, 120_000)),
				...workers.map((w) => w.waitForLog(/n8n worker is now ready/, 240_000)),
			]);
			cluster = { site: siteReady, main, workers, rest: new N8nRest(url) };
			return `main pid ${main.pid}, workers ${workers.map((w) => w.pid).join(', ')}; ${((Date.now() - t0) / 1000).toFixed(0)} s to ready`;
		});
		if (!up || !cluster) return;
		const c: Cluster = cluster;

		const listening = await report.check('queue mode: the main process runs the three triggers', async () => {
			await c.rest.signIn();
			const active = await c.rest.activeWorkflowIds();
			const missing = Object.values(IDS).filter((id) => !active.includes(id));
			expect(missing.length === 0, `not active: ${missing.join(', ')}`);
			await waitFor('a subscriber on the pub/sub channel', async () => ((await db0.pubsub('NUMSUB', CHANNEL.pubsub)) as [string, number])[1] >= 1, 60_000);
			await waitFor(
				`consumer group ${GROUP} on ${streamKey(CHANNEL.stream)}`,
				async () => ((await db0.xinfo('GROUPS', streamKey(CHANNEL.stream)).catch(() => [])) as unknown[]).length > 0,
				60_000,
			);
			return `active: ${active.join(', ')}`;
		});
		if (!listening) return;

		const owners = () =>
			new Map<number, string>([
				[c.main.pid, 'main'],
				...c.workers.map((w): [number, string] => [w.pid, w.label]),
				[process.pid, 'harness'],
			]);
		const sampler = sampleConnections(db0, target.port, owners, 500);

		await report.check('queue mode: a durable update and a job are acknowledged only after the worker finished', () =>
			ackAfterWorker(c, redis, boards),
		);

		await report.check(`queue mode: ${K} durable updates, ${K} jobs, ${K} pub/sub messages -> exactly ${K} executions each`, () =>
			loadPhase(c, redis, boards),
		);

		const samplingErrors = await sampler.stop();
		await report.check('queue mode: connections to the package\'s Redis stay bounded per process', async () => {
			expect(sampler.peaks.samples > 0, `no connection sample succeeded: ${samplingErrors.slice(0, 3).join('; ')}`);
			const peaks = sampler.peaks.peaks;
			const mainPeak = peaks.main?.total ?? 0;
			expect(mainPeak >= 3, `main should hold the triggers' connections, saw ${mainPeak}`);
			expect(mainPeak <= MAX_CONNECTIONS.main, `main peaked at ${mainPeak} connections (bound ${MAX_CONNECTIONS.main})`);
			for (const w of c.workers) {
				const peak = peaks[w.label]?.total ?? 0;
				expect(peak <= MAX_CONNECTIONS.worker, `${w.label} peaked at ${peak} connections (bound ${MAX_CONNECTIONS.worker})`);
			}
			return `peak per process over ${sampler.peaks.samples} samples: ${sampler.peaks.describe(['main', ...c.workers.map((w) => w.label), 'harness', 'other'])}`;
		});

		await report.check('queue mode: a worker killed (kill -9) mid-execution: its job and its durable update run again', () =>
			workerKill(c, install, redis, boards, processes),
		);

		await report.check('queue mode: main and workers stop cleanly', async () => {
			await Promise.all(processes.map((p) => p.stop()));
			const alive = processes.filter((p) => p.running).map((p) => p.label);
			expect(alive.length === 0, `still running: ${alive.join(', ')}`);
			return `whole scenario ${((Date.now() - started) / 1000).toFixed(0)} s`;
		});
	} finally {
		await Promise.all(processes.map((p) => p.stop().catch(() => undefined)));
		if (bull) {
			await bull.stop();
			bull.cleanup();
		}
		await redis.close();
	}
}

type Boards = Record<MarkerEvent, ReturnType<typeof markerBoards>>;

/** Fails fast when n8n recorded a failed execution of one of the scenario's workflows. */
async function noFailedExecutions(rest: N8nRest): Promise<void> {
	for (const id of Object.values(IDS)) {
		const failed = (await rest.executions(id)).filter((e) => e.status === 'error' || e.status === 'crashed');
		if (failed.length > 0) throw new FatalError(`${failed.length} execution(s) of ${id} failed (ids ${failed.map((e) => e.id).join(', ')})`);
	}
}

function workerOf(c: Cluster, executionId: string): string {
	return c.workers.find((w) => startedExecutions(w.logs()).includes(executionId))?.label ?? 'no worker';
}

/** The newest execution of a workflow (the list is newest first). */
async function newestExecution(rest: N8nRest, workflowId: string): Promise<string | undefined> {
	return (await rest.executions(workflowId))[0]?.id;
}

async function ackAfterWorker(c: Cluster, redis: RedisClients, boards: Boards): Promise<string> {
	const db0 = redis.db(0);
	const db3 = redis.db(3);
	const sleepMs = 6000;
	const [entryId] = await appendUpdates(db0, CHANNEL.stream, [{ mark: 'ack-u', sleepMs }]);
	await enqueueJobs(db3, QUEUE, [{ mark: 'ack-j', sleepMs }]);
	const inflight = queueKeys(QUEUE).inflight;
	// Each sample reads "started", then "still unacknowledged", then "done": an ack seen before the done
	// marker existed is a real early ack, never an artefact of the order of the reads.
	const probes = {
		update: {
			started: () => db0.zscore(boards.stream.started, 'ack-u'),
			unacked: async () => (await pendingIds(db0, streamKey(CHANNEL.stream), GROUP)).includes(entryId),
			done: () => db0.zscore(boards.stream.done, 'ack-u'),
		},
		job: {
			started: () => db0.zscore(boards.queue.started, 'ack-j'),
			unacked: async () => (await db3.zscore(inflight, 'ack-j')) !== null,
			done: () => db0.zscore(boards.queue.done, 'ack-j'),
		},
	};
	const seen = { update: { runningUnacked: 0, doneAt: 0, ackedAt: 0 }, job: { runningUnacked: 0, doneAt: 0, ackedAt: 0 } };
	const deadline = Date.now() + 120_000;
	let lastFailureCheck = 0;
	// Polled faster than waitFor does, so the ack's delay after the done marker is measured to ~0.1 s.
	while (!(seen.update.ackedAt > 0 && seen.job.ackedAt > 0)) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for the slow update and job to be acknowledged: ${JSON.stringify(seen)}`);
		if (Date.now() - lastFailureCheck > 2000) {
			await noFailedExecutions(c.rest);
			lastFailureCheck = Date.now();
		}
		for (const kind of ['update', 'job'] as const) {
			const probe = probes[kind];
			const state = seen[kind];
			if (state.ackedAt) continue;
			const startedScore = await probe.started();
			const unacked = await probe.unacked();
			const done = (await probe.done()) !== null;
			if (startedScore !== null && !unacked && !done) throw new Error(`the ${kind} was acknowledged while its execution still ran`);
			if (startedScore !== null && unacked && !done) state.runningUnacked++;
			if (done && !state.doneAt) state.doneAt = Date.now();
			if (done && !unacked) state.ackedAt = Date.now();
		}
		await sleep(100);
	}
	for (const kind of ['update', 'job'] as const) {
		expect(seen[kind].runningUnacked > 0, `never saw the ${kind} unacknowledged while its execution ran`);
	}
	const streamExecution = (await newestExecution(c.rest, IDS.stream)) ?? '?';
	const queueExecution = (await newestExecution(c.rest, IDS.queue)) ?? '?';
	const line = (kind: 'update' | 'job', execution: string) =>
		`${kind} unacknowledged in ${seen[kind].runningUnacked} samples while execution ${execution} ran on ${workerOf(c, execution)}, ` +
		`acknowledged ${ackDelay(seen[kind].ackedAt - seen[kind].doneAt)} its done marker appeared`;
	return `${line('update', streamExecution)}; ${line('job', queueExecution)}`;
}

/** Polls are 0.1 s apart, so a delay of 0 means "within one poll". */
function ackDelay(ms: number): string {
	return ms === 0 ? 'in the same 0.1 s poll in which' : `${ms} ms after`;
}

async function loadPhase(c: Cluster, redis: RedisClients, boards: Boards): Promise<string> {
	const db0 = redis.db(0);
	const db3 = redis.db(3);
	const bodies = { stream: marks('u', K), queue: marks('j', K), pubsub: marks('p', K) };
	const startedCounts = c.workers.map((w) => startedExecutions(w.logs()).length);
	const t0 = Date.now();
	await enqueueJobs(db3, QUEUE, bodies.queue);
	await appendUpdates(db0, CHANNEL.stream, bodies.stream);
	await publishMessages(db0, CHANNEL.pubsub, bodies.pubsub);
	const expected = Object.fromEntries(EVENTS.map((e) => [e, bodies[e].map((b) => b.mark)])) as Record<MarkerEvent, string[]>;
	const count = async () => {
		const out = {} as Record<MarkerEvent, MarkCount>;
		for (const e of EVENTS) out[e] = await countMarks(db0, boards[e].done, expected[e], ACK_MARKS);
		return out;
	};
	await waitFor(
		`${K} done marks per event`,
		async () => {
			await noFailedExecutions(c.rest);
			const now = await count();
			return EVENTS.every((e) => now[e].missing.length === 0);
		},
		240_000,
	);
	const ranMs = Date.now() - t0;
	await waitFor(
		'every update and job acknowledged',
		async () => {
			const state = await queueState(db3, QUEUE);
			const pending = await pendingIds(db0, streamKey(CHANNEL.stream), GROUP);
			return pending.length === 0 && state.waiting + state.inFlight + state.delayed === 0;
		},
		30_000,
	);
	// Anything that would run twice has had time to show up.
	await sleep(2000);
	const final = await count();
	const state = await queueState(db3, QUEUE);
	expect(state.dead === 0, `${state.dead} job(s) dead-lettered`);
	const executions: Record<string, string> = {};
	for (const e of EVENTS) {
		const list = await c.rest.executions(IDS[e]);
		// The ack phase ran one update and one job before.
		const wanted = e === 'pubsub' ? K : K + 1;
		const ok = list.filter((x) => x.status === 'success').length;
		executions[e] = `${ok} n8n executions`;
		expect(ok === wanted && list.length === wanted, `${e}: n8n recorded ${list.length} executions (${ok} successful), expected ${wanted}`);
	}
	const perWorker = c.workers.map((w, i) => startedExecutions(w.logs()).length - startedCounts[i]);
	for (const e of EVENTS) {
		expect(final[e].missing.length === 0 && final[e].duplicates === 0 && final[e].unexpected.length === 0, `${e}: ${describeCount(final[e], K)}`);
	}
	expect(perWorker.every((n) => n > 0), `executions per worker ${perWorker.join('/')}: one worker ran nothing`);
	const figures = EVENTS.map((e) => `${e} ${describeCount(final[e], K)} (${executions[e]})`).join('; ');
	return `${figures}; executions per worker ${c.workers.map((w, i) => `${w.label} ${perWorker[i]}`).join(', ')}; all ran in ${(ranMs / 1000).toFixed(1)} s`;
}

async function workerKill(c: Cluster, install: N8nInstall, redis: RedisClients, boards: Boards, processes: N8nProcess[]): Promise<string> {
	const db0 = redis.db(0);
	const db3 = redis.db(3);
	const offsets = c.workers.map((w) => w.logs().length);
	const [entryId] = await appendUpdates(db0, CHANNEL.stream, [{ mark: 'kill-u', sleepMs: 20_000 }]);
	await enqueueJobs(db3, QUEUE, [{ mark: 'kill-j', sleepMs: 20_000 }]);
	await waitFor(
		'the slow update and job to be mid-execution',
		async () => (await db0.zscore(boards.stream.started, 'kill-u')) !== null && (await db0.zscore(boards.queue.started, 'kill-j')) !== null,
		90_000,
	);
	// Only the two slow executions can still run now: the workers running any execution are the victims.
	const running = c.workers.map((w, i) => runningExecutions(w.logs().slice(offsets[i])));
	const victims = c.workers.filter((_, i) => running[i].length > 0);
	expect(victims.length > 0, 'no worker reports a running execution');
	const killedRunning = c.workers.flatMap((w, i) => (running[i].length > 0 ? [`${w.label} (execution ${running[i].join(', ')})`] : []));
	const killedAt = Date.now();
	for (const victim of victims) await victim.crash();
	let restarted = '';
	if (victims.length === c.workers.length) {
		// Nobody is left to notice the stalled Bull jobs: a restarted worker takes over.
		const worker = new N8nProcess('worker-3', install, ['worker', `--concurrency=${CONCURRENCY}`], await processEnv(c.site));
		processes.push(worker);
		c.workers.push(worker);
		await worker.waitForLog(/n8n worker is now ready/, 240_000);
		restarted = `; both were running one, so worker-3 was started`;
	}
	const done = { update: 0, job: 0 };
	const settledAt = { update: 0, job: 0 };
	let lost = false;
	let waitError = '';
	try {
		await waitFor(
			'the killed job and update to run again',
			async () => {
				// Pending first: the done marker is written before the ack, so acked-without-marker means lost for good.
				const pending = (await pendingIds(db0, streamKey(CHANNEL.stream), GROUP)).includes(entryId);
				done.update = Number((await db0.zscore(boards.stream.done, 'kill-u')) ?? 0);
				done.job = Number((await db0.zscore(boards.queue.done, 'kill-j')) ?? 0);
				if (!pending && done.update === 0) lost = true;
				if ((done.update > 0 || lost) && !settledAt.update) settledAt.update = Date.now();
				if (done.job > 0 && !settledAt.job) settledAt.job = Date.now();
				return settledAt.update > 0 && settledAt.job > 0;
			},
			120_000,
		);
	} catch (error) {
		waitError = (error as Error).message;
	}
	const secs = (at: number) => (at ? `${((at - killedAt) / 1000).toFixed(1)} s after the kill` : 'never');
	const outcome = `killed ${killedRunning.join(', ')}${restarted}; update ${lost ? 'LOST' : `done ${done.update}x`} (${secs(settledAt.update)}), job done ${done.job}x (${secs(settledAt.job)})`;
	if (lost || waitError) {
		const state = await queueState(db3, QUEUE);
		const statuses = (await c.rest.executions(IDS.stream)).slice(0, 3).map((e) => `${e.id}:${e.status}`);
		const killedIds = running.flat();
		const mainSaid = c.main
			.logs()
			.split('\n')
			.filter((line) => killedIds.some((id) => line.includes(`Problem with execution ${id}:`)))
			.map((line) => line.trim());
		throw new Error(
			`${waitError || `the durable update ${entryId} was acknowledged although its execution never finished: it is lost`}\n` +
				`${outcome}; main logged: ${mainSaid.join(' | ') || '(nothing about them)'}; ` +
				`XPENDING ${(await pendingIds(db0, streamKey(CHANNEL.stream), GROUP)).length}; queue ${JSON.stringify(state)}; newest stream executions ${statuses.join(', ')}`,
		);
	}
	// Let a second run, if any, show up before counting.
	await sleep(2000);
	const update = await countMarks(db0, boards.stream.done, ['kill-u']);
	const job = await countMarks(db0, boards.queue.done, ['kill-j']);
	// At most the one interrupted execution runs twice per item.
	expect(update.duplicates <= 1 && job.duplicates <= 1, `more duplicates than in-flight work: update ${describeCount(update, 1)}, job ${describeCount(job, 1)}`);
	return `${outcome}; update ${describeCount(update, 1)}, job ${describeCount(job, 1)}`;
}
