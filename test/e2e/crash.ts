// At least once across an n8n crash (regular mode): n8n runs a job-queue workflow and a durable-stream
// workflow; while one job and one update are mid-execution, the whole n8n process group (n8n and its task
// runner) gets SIGKILL. More jobs and updates arrive while n8n is down; n8n then restarts on the same user
// folder. Every job and update must run at least once (the interrupted job after its visibility timeout,
// the interrupted update from the consumer group's pending list), and only the interrupted ones may run twice.
// A third workflow coalesces by draft: its updates are read but still inside their window at the kill, so
// none has run; after the restart they must run once per draft, with the newest edit, and all be acknowledged.
import { join } from 'node:path';

import type { N8nInstall } from '../../scripts/n8n-install';
import type { RedisTarget } from '../../scripts/lib/n8n';
import { sleep } from '../../scripts/lib/process';
import { RedisClients, waitFor } from './lib/context';
import {
	appendUpdates,
	countMarks,
	describeCount,
	enqueueJobs,
	marks,
	pendingIds,
	queueKeys,
	queueState,
	streamKey,
} from './lib/marker-traffic';
import { markerBoards, queueMarkerWorkflow, streamMarkerWorkflow } from './lib/marker-workflows';
import { groupMembers, N8nProcess } from './lib/n8n-process';
import { prepareSite, processEnv, type N8nSite } from './lib/n8n-site';
import { expect, type Report } from './lib/report';
import { N8nRest } from './lib/rest';

const SCENARIO = 'crash';
const CHANNEL = 'e2e_crash_durable';
const QUEUE = 'e2e_crash_jobs';
const GROUP = 'e2e-crash';
const IDS = { stream: 'e2eCrashStream01', queue: 'e2eCrashQueue01', coalesce: 'e2eCrashCoalesce1' };
const CO_CHANNEL = 'e2e_crash_coalesce';
/** Longer than the few seconds between appending the edits and the kill, short enough to wait out after the restart. */
const CO_WINDOW_SECONDS = 20;
/** Edits of each draft made just before the kill; the newest of each must run, once. */
const CO_DRAFTS = 4;
const CO_EDITS = 5;
const coEdits = Array.from({ length: CO_DRAFTS * CO_EDITS }, (_, n) => ({
	draft: `d${n % CO_DRAFTS}`,
	mark: `co-d${n % CO_DRAFTS}-r${Math.floor(n / CO_DRAFTS)}`,
}));
const coNewest = coEdits.slice(-CO_DRAFTS).map((e) => e.mark);
/** The trigger's minimum: the interrupted job is visible again long before n8n has restarted. */
const VISIBILITY_SECONDS = 5;
/** Jobs and updates sent while n8n is down. */
const K_DOWN = 10;
/** Long enough that the kill surely lands mid-execution; redeliveries do not sleep. */
const IN_FLIGHT_SLEEP_MS = 120_000;

const boards = {
	stream: markerBoards(SCENARIO, 'stream'),
	queue: markerBoards(SCENARIO, 'queue'),
	coalesce: markerBoards(`${SCENARIO}-coalesce`, 'stream'),
};

export async function checkCrashRecovery(report: Report, install: N8nInstall, target: RedisTarget, workDir: string): Promise<void> {
	const started = Date.now();
	const redis = new RedisClients(target);
	const db0 = redis.db(0);
	const db3 = redis.db(3);
	const processes: N8nProcess[] = [];
	let site: N8nSite | undefined;
	try {
		const ready = await report.check('crash: user folder with a job-queue, a durable-stream and a coalescing durable-stream workflow published', async () => {
			await db0.del(...Object.values(boards).flatMap((b) => [b.started, b.done]), streamKey(CHANNEL), streamKey(CO_CHANNEL));
			await db3.del(...Object.values(queueKeys(QUEUE)));
			site = await prepareSite(install, target, join(workDir, 'crash'), [
				streamMarkerWorkflow(IDS.stream, CHANNEL, boards.stream, { group: GROUP, maxParallel: 1 }),
				queueMarkerWorkflow(IDS.queue, QUEUE, boards.queue, { parallel: 1, visibilitySeconds: VISIBILITY_SECONDS }),
				streamMarkerWorkflow(IDS.coalesce, CO_CHANNEL, boards.coalesce, {
					group: GROUP,
					maxParallel: CO_DRAFTS,
					coalesceBy: 'draft',
					coalesceWindow: CO_WINDOW_SECONDS,
				}),
			]);
			return (
				`${IDS.stream} (stream ${streamKey(CHANNEL)}, group ${GROUP}), ${IDS.queue} (queue ${QUEUE}, visibility ${VISIBILITY_SECONDS} s), ` +
				`${IDS.coalesce} (stream ${streamKey(CO_CHANNEL)}, Coalesce By draft, window ${CO_WINDOW_SECONDS} s)`
			);
		});
		const siteReady = site;
		if (!ready || !siteReady) return;
		const env = await processEnv(siteReady);
		const url = `http://127.0.0.1:${env.N8N_PORT}`;
		const boot = async (label: string) => {
			const n8n = new N8nProcess(label, install, ['start'], env);
			processes.push(n8n);
			await n8n.waitForHttp(`${url}/healthz/readiness`, 240_000);
			await n8n.waitForHttp(`${url}/rest/settings`, 120_000);
			const rest = new N8nRest(url);
			await rest.signIn();
			await waitFor(
				'all three workflows active',
				async () => {
					const active = await rest.activeWorkflowIds();
					return Object.values(IDS).every((id) => active.includes(id));
				},
				60_000,
			);
			for (const channel of [CHANNEL, CO_CHANNEL]) {
				await waitFor(`consumer group ${GROUP} on ${channel}`, async () => ((await db0.xinfo('GROUPS', streamKey(channel)).catch(() => [])) as unknown[]).length > 0, 60_000);
			}
			return n8n;
		};

		let n8n: N8nProcess | undefined;
		const before = { stream: marks('before-u', 2), queue: marks('before-j', 2) };
		const upBefore = await report.check('crash: n8n up; jobs and updates run before the crash', async () => {
			n8n = await boot('n8n');
			await appendUpdates(db0, CHANNEL, before.stream);
			await enqueueJobs(db3, QUEUE, before.queue);
			await waitFor(
				'the first jobs and updates done',
				async () =>
					(await countMarks(db0, boards.stream.done, before.stream.map((b) => b.mark))).missing.length === 0 &&
					(await countMarks(db0, boards.queue.done, before.queue.map((b) => b.mark))).missing.length === 0,
				90_000,
			);
			return `pid ${n8n.pid}; 2 updates and 2 jobs done`;
		});
		if (!upBefore || !n8n) return;
		const first = n8n;

		let inFlightEntry = '';
		const killed = await report.check('crash: kill -9 of the n8n process group while a job and an update are mid-execution', async () => {
			[inFlightEntry] = await appendUpdates(db0, CHANNEL, [{ mark: 'inflight-u', sleepMs: IN_FLIGHT_SLEEP_MS }]);
			await enqueueJobs(db3, QUEUE, [{ mark: 'inflight-j', sleepMs: IN_FLIGHT_SLEEP_MS }]);
			await waitFor(
				'the update and the job to be mid-execution',
				async () => (await db0.zscore(boards.stream.started, 'inflight-u')) !== null && (await db0.zscore(boards.queue.started, 'inflight-j')) !== null,
				90_000,
			);
			expect((await pendingIds(db0, streamKey(CHANNEL), GROUP)).includes(inFlightEntry), 'the running update is not pending before the kill');
			expect((await db3.zscore(queueKeys(QUEUE).inflight, 'inflight-j')) !== null, 'the running job is not in flight before the kill');
			// The edits are read by n8n (pending in the group) but still inside their window: nothing ran yet.
			await appendUpdates(db0, CO_CHANNEL, coEdits);
			await waitFor('n8n to read the edits', async () => (await pendingIds(db0, streamKey(CO_CHANNEL), GROUP)).length === coEdits.length, 10_000);
			const ranEarly = await db0.zcard(boards.coalesce.started);
			const members = groupMembers(first.pid).length;
			await first.crash();
			expect(ranEarly === 0, `${ranEarly} coalesced execution(s) started before the kill: the window did not hold them`);
			const afterKill = await fetch(`${url}/healthz`).then(() => 'answered', () => 'refused');
			expect(afterKill === 'refused', 'n8n still answers after the kill');
			return (
				`SIGKILL to process group ${first.pid} (${members} processes: n8n and its task runner); update ${inFlightEntry} pending, job inflight-j in flight; ` +
				`${coEdits.length} edits of ${CO_DRAFTS} drafts read and pending mid-window`
			);
		});
		if (!killed) return;

		const down = { stream: marks('down-u', K_DOWN), queue: marks('down-j', K_DOWN) };
		await report.check(`crash: ${K_DOWN} updates appended and ${K_DOWN} jobs enqueued while n8n is down`, async () => {
			await appendUpdates(db0, CHANNEL, down.stream);
			await enqueueJobs(db3, QUEUE, down.queue);
			const state = await queueState(db3, QUEUE);
			return `queue: ${state.waiting} waiting, ${state.inFlight} in flight; stream pending ${(await pendingIds(db0, streamKey(CHANNEL), GROUP)).length}`;
		});

		await report.check('crash: after a restart on the same user folder every job and update ran at least once', async () => {
			const restartAt = Date.now();
			await boot('n8n (restarted)');
			const readyAt = Date.now();
			const expected = {
				stream: [...before.stream, { mark: 'inflight-u' }, ...down.stream].map((b) => b.mark),
				queue: [...before.queue, { mark: 'inflight-j' }, ...down.queue].map((b) => b.mark),
			};
			const doneAt: Record<string, number> = {};
			await waitFor(
				'every job and update done',
				async () => {
					let all = true;
					for (const kind of ['stream', 'queue'] as const) {
						const count = await countMarks(db0, boards[kind].done, expected[kind]);
						if (count.missing.length === 0) doneAt[kind] ??= Date.now();
						else all = false;
					}
					const inflightJob = await db0.zscore(boards.queue.done, 'inflight-j');
					if (inflightJob !== null) doneAt.inflightJob ??= Date.now();
					return all;
				},
				180_000,
			);
			await waitFor(
				'every job and update acknowledged',
				async () => {
					const state = await queueState(db3, QUEUE);
					return (await pendingIds(db0, streamKey(CHANNEL), GROUP)).length === 0 && state.waiting + state.inFlight + state.delayed === 0;
				},
				30_000,
			);
			await sleep(2000);
			const stream = await countMarks(db0, boards.stream.done, expected.stream);
			const queue = await countMarks(db0, boards.queue.done, expected.queue);
			const state = await queueState(db3, QUEUE);
			expect(state.dead === 0, `${state.dead} job(s) dead-lettered`);
			expect(stream.missing.length === 0 && queue.missing.length === 0, `lost: updates ${describeCount(stream, expected.stream.length)}; jobs ${describeCount(queue, expected.queue.length)}`);
			// Only the one update and the one job in flight at the kill may run twice.
			expect(stream.duplicates <= 1 && queue.duplicates <= 1, `duplicates beyond what was in flight: updates ${JSON.stringify(stream.repeated)}, jobs ${JSON.stringify(queue.repeated)}`);
			const restartedTwice = {
				update: Number((await db0.zscore(boards.stream.started, 'inflight-u')) ?? 0),
				job: Number((await db0.zscore(boards.queue.started, 'inflight-j')) ?? 0),
			};
			const inFlightDone = {
				update: Number((await db0.zscore(boards.stream.done, 'inflight-u')) ?? 0),
				job: Number((await db0.zscore(boards.queue.done, 'inflight-j')) ?? 0),
			};
			expect(restartedTwice.update >= 2 && restartedTwice.job >= 2, `the interrupted work must have started again: ${JSON.stringify(restartedTwice)}`);
			const secs = (ms: number) => (ms / 1000).toFixed(1);
			return (
				`restart took ${secs(readyAt - restartAt)} s; updates ${describeCount(stream, expected.stream.length)}; ` +
				`jobs ${describeCount(queue, expected.queue.length)}; in-flight update and job started ${restartedTwice.update} and ${restartedTwice.job} times, ` +
				`done ${inFlightDone.update} and ${inFlightDone.job} times; everything done ${secs(Math.max(doneAt.stream, doneAt.queue) - readyAt)} s after n8n was ready ` +
				`(the interrupted job ${secs(doneAt.inflightJob - readyAt)} s after)`
			);
		});

		await report.check(`crash: the ${coEdits.length} edits cut off mid-window ran as ${CO_DRAFTS} executions, the newest edit of each, all acknowledged`, async () => {
			const start = Date.now();
			await waitFor(
				'the coalesced executions and their acknowledgements',
				async () =>
					(await countMarks(db0, boards.coalesce.done, coNewest)).missing.length === 0 &&
					(await pendingIds(db0, streamKey(CO_CHANNEL), GROUP)).length === 0,
				120_000,
			);
			const count = await countMarks(db0, boards.coalesce.done, coNewest);
			// A replaced edit on the board ran on its own: coalescing did not survive the restart.
			expect(count.unexpected.length === 0 && count.duplicates === 0, `not coalesced: ${describeCount(count, coNewest.length)}`);
			return `${describeCount(count, coNewest.length)} (${coNewest.join(', ')}); ${((Date.now() - start) / 1000).toFixed(1)} s after the other work was done`;
		});

		await report.check('crash: n8n stops cleanly', async () => {
			await Promise.all(processes.map((p) => p.stop()));
			expect(processes.every((p) => !p.running), 'n8n still runs');
			return `whole scenario ${((Date.now() - started) / 1000).toFixed(0)} s`;
		});
	} finally {
		await Promise.all(processes.map((p) => p.stop().catch(() => undefined)));
		await redis.close();
	}
}
