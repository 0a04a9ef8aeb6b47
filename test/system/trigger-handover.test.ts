/**
 * What the triggers do when n8n does not take an item: emit throws before any execution
 * exists (a helper this n8n lacks, an execution that could not be queued). Nothing may be
 * acknowledged then: the stream entry stays pending, the job goes back untouched, and after the
 * retries the failure is reported through emitError. Real Redis, n8n-core's real TriggerContext.
 */
import type { IRun } from 'n8n-workflow';

import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { JobQueue } from '../../platform/queue';
import { appendUpdate, updateEntryFields } from '../../platform/updates';
import { closeRawClients, deleteKeys, rawClient, testConfig, testCredentials, uniquePrefix } from '../helpers/redis';
import { startTrigger, waitForSubscribers, type ActiveTrigger, type StartTriggerOptions } from '../helpers/trigger';

const redis = rawClient(0);
const keys = new KeySchema();
const started: ActiveTrigger[] = [];
/** Key patterns to delete afterwards, with the DB they live in. */
const cleanup: Array<[number, string]> = [];
/** Five attempts over about 7.5 s, then the report. */
const REPORT_WITHIN_MS = 20_000;

async function start(parameters: Record<string, unknown>, extra: Partial<StartTriggerOptions> = {}) {
	const trigger = await startTrigger({
		parameters,
		credentials: testCredentials(),
		workflowId: extra.workflowId ?? uniquePrefix('wf'),
		nodeId: 'node-1',
		...extra,
	});
	started.push(trigger);
	return trigger;
}

function newChannel(label: string): string {
	const channel = uniquePrefix(label);
	cleanup.push([0, keys.updatesStream(channel)]);
	return channel;
}

async function publish(channel: string, message: unknown): Promise<string> {
	return (await appendUpdate(redis, keys.updatesStream(channel), updateEntryFields(channel, JSON.stringify(message)))) as string;
}

async function pending(channel: string): Promise<number> {
	const summary = (await redis.xpending(keys.updatesStream(channel), 'n8n')) as [number, ...unknown[]];
	return Number(summary[0]);
}

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/** A failed run; `nodeRan` false plays a run that n8n ended before any node executed. */
function failedRun(message: string, nodeRan = true): IRun {
	return {
		data: {
			resultData: { runData: {}, error: { message, name: 'NodeOperationError' }, ...(nodeRan ? { lastNodeExecuted: 'Call CRM' } : {}) },
		},
		mode: 'trigger',
		startedAt: new Date(),
		status: 'error',
	} as unknown as IRun;
}

const notTaken = new Error('(0 , n8n_workflow_1.createDeferredPromise) is not a function');

afterEach(async () => {
	await Promise.all(started.splice(0).map((t) => t.close()));
});

afterAll(async () => {
	for (const [db, pattern] of cleanup.splice(0)) await deleteKeys(rawClient(db), pattern);
	await sharedPool.closeAll();
	await closeRawClients();
});

describe('Durable Stream: an update n8n did not take is never acknowledged', () => {
	it('retries the hand-over with backoff and delivers once n8n takes it', async () => {
		const channel = newChannel('retry');
		const trigger = await start({ event: 'contentUpdateStream', channels: channel }, { emitThrows: notTaken, emitFailures: 2 });
		await publish(channel, { draft: 123, status: 'approved' });
		const [item] = await trigger.waitFor(1);
		expect(item.message).toEqual({ draft: 123, status: 'approved' });
		await eventually(async () => (await pending(channel)) === 0, 'the acknowledgement');
		expect(trigger.errors).toHaveLength(0);
		expect(trigger.logs.filter((l) => l.message.includes('n8n did not take update'))).toHaveLength(2);
	});

	it('keeps a failing entry pending, reports it through emitError, and a fixed activation delivers it', async () => {
		const channel = newChannel('broken');
		const workflowId = uniquePrefix('wf');
		const broken = await start({ event: 'contentUpdateStream', channels: channel }, { workflowId, emitThrows: notTaken });
		const id = await publish(channel, { draft: 124, status: 'approved' });
		const error = await broken.waitForError(REPORT_WITHIN_MS);
		expect(error.message).toContain(`update ${id}`);
		expect(error.message).toContain('after 5 attempts');
		expect(error.message).toContain('createDeferredPromise) is not a function');
		expect(broken.emitted).toHaveLength(0);
		// Still pending after the report: XPENDING counts it.
		expect(await pending(channel)).toBe(1);
		await broken.close();
		expect(await pending(channel)).toBe(1);

		const fixed = await start({ event: 'contentUpdateStream', channels: channel }, { workflowId });
		const [item] = await fixed.waitFor(1);
		expect(item).toMatchObject({ id, redelivered: true, message: { draft: 124 } });
		await eventually(async () => (await pending(channel)) === 0, 'the acknowledgement after the fix');
	}, 40_000);

	it('with "As Soon as It Is Emitted" an entry n8n did not take stays pending too', async () => {
		const channel = newChannel('emitmode');
		const trigger = await start(
			{ event: 'contentUpdateStream', channels: channel, options: { acknowledge: 'emit' } },
			{ emitThrows: notTaken },
		);
		await publish(channel, { n: 1 });
		await trigger.waitForError(REPORT_WITHIN_MS);
		expect(await pending(channel)).toBe(1);
	}, 30_000);

	it('acknowledges an execution that started and failed (as documented), and keeps one n8n gave up on', async () => {
		const channel = newChannel('failedrun');
		const trigger = await start(
			{ event: 'contentUpdateStream', channels: channel },
			{
				execution: async (json) => {
					const n = (json.message as { n: number }).n;
					if (n === 1) return failedRun('the CRM returned 500');
					throw new Error('the execution was cancelled');
				},
			},
		);
		const failedId = await publish(channel, { n: 1 });
		const cancelledId = await publish(channel, { n: 2 });
		await trigger.waitFor(2);
		await eventually(async () => (await pending(channel)) === 1, 'one acknowledgement');
		const left = (await redis.xpending(keys.updatesStream(channel), 'n8n', '-', '+', 10)) as Array<[string]>;
		expect(left.map((row) => row[0])).toEqual([cancelledId]);
		expect(left.map((row) => row[0])).not.toContain(failedId);
		expect(trigger.errors).toHaveLength(0);
	});

	it('keeps an entry pending when n8n ends the run before the workflow ran (a queue-mode worker killed)', async () => {
		const channel = newChannel('stalled');
		const trigger = await start(
			{ event: 'contentUpdateStream', channels: channel },
			{
				// What n8n's main reports for a job whose worker died: an error, no node ran.
				execution: async () => failedRun('This execution failed to be processed too many times and will no longer retry.', false),
			},
		);
		const id = await publish(channel, { n: 1 });
		await trigger.waitFor(1);
		await eventually(() => trigger.logs.some((l) => l.message.includes(`update ${id} stays pending`)), 'the entry kept');
		expect(await pending(channel)).toBe(1);
	});

	it('works on an n8n whose context has no createDeferredPromise (the local deferred)', async () => {
		const channel = newChannel('nodeferred');
		const finish: Array<() => void> = [];
		const trigger = await start(
			{ event: 'contentUpdateStream', channels: channel },
			{ withoutContextDeferred: true, execution: () => new Promise<void>((resolve) => finish.push(resolve)) },
		);
		await publish(channel, { n: 1 });
		await trigger.waitFor(1);
		// Acknowledged only once the execution finished.
		expect(await pending(channel)).toBe(1);
		finish[0]();
		await eventually(async () => (await pending(channel)) === 0, 'the acknowledgement');
	});
});

describe('Job Available on Queue: a job n8n did not take goes back untouched', () => {
	it('reports after the retries and leaves the job waiting with its attempts unused; a fixed activation runs it', async () => {
		const name = uniquePrefix('handover_jobs');
		const queueKeys = keys.queue(name);
		cleanup.push([testConfig().dbs.queue, `*${name}*`]);
		const queue = new JobQueue(rawClient(testConfig().dbs.queue), queueKeys);
		const [enqueued] = await queue.enqueue([{ payload: { brief: 'b-1' }, maxAttempts: 1 }]);
		const workflowId = uniquePrefix('wf');
		const parameters = { event: 'jobAvailable', queue: name, visibilityTimeout: 30 };
		const broken = await start(parameters, { workflowId, emitThrows: notTaken });
		const error = await broken.waitForError(REPORT_WITHIN_MS);
		expect(error.message).toContain(`job ${enqueued.id}`);
		await broken.close();
		await eventually(async () => (await queue.stats()).waiting === 1, 'the job back in the queue');
		const stats = await queue.stats();
		expect(stats.dead).toBe(0);
		expect(stats.inFlight).toBe(0);

		// maxAttempts 1: had the hand-over used up the attempt, the job would be dead now.
		const fixed = await start(parameters, { workflowId });
		const [item] = await fixed.waitFor(1);
		expect(item).toMatchObject({ id: enqueued.id, payload: { brief: 'b-1' } });
		await eventually(async () => {
			const now = await queue.stats();
			return now.waiting === 0 && now.inFlight === 0 && now.dead === 0;
		}, 'the job completed');
	}, 40_000);
});

describe('Content Update (Pub/Sub): a message n8n did not take is reported, not dropped silently', () => {
	it('raises emitError after the retries', async () => {
		const channel = uniquePrefix('pubsub-handover');
		const trigger = await start({ event: 'contentUpdatePubSub', channels: channel }, { emitThrows: notTaken });
		await waitForSubscribers(redis, channel);
		await redis.publish(channel, JSON.stringify({ draft: 9 }));
		const error = await trigger.waitForError(REPORT_WITHIN_MS);
		expect(error.message).toContain(`a message on channel "${channel}"`);
		expect((error as Error & { description?: string }).description).toContain('Durable Stream');
	}, 30_000);
});
