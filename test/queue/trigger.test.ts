/**
 * The queue-worker trigger, run through n8n-core's real TriggerContext (parameters, credentials
 * and helpers as n8n builds them). Only `emit` is the test's: it plays n8n starting an execution
 * and resolves the donePromise with the run, successful or failed, as n8n does when it finishes.
 */
import { TriggerContext } from 'n8n-core';
import {
	Workflow,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type IDeferredPromise,
	type INode,
	type INodeExecutionData,
	type INodeTypes,
	type IRun,
	type ITriggerResponse,
	type IWorkflowExecuteAdditionalData,
	type WorkflowExecuteMode,
} from 'n8n-workflow';

import { MarketingRedisTrigger } from '../../nodes/MarketingRedisTrigger/MarketingRedisTrigger.node';
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { JobQueue } from '../../platform/queue';
import { releaseEngineTimers } from '../../harness/n8n-engine';
import { closeRawClients, testConfig, testCredentials, uniquePrefix } from '../helpers/redis';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
	// The first TriggerContext starts n8n-core's SSH-tunnel sweeper interval, which would keep
	// this jest worker alive after the file ("A worker process has failed to exit gracefully").
	releaseEngineTimers();
});

const triggerType = new MarketingRedisTrigger();
const nodeTypes = {
	getByName: () => triggerType,
	getByNameAndVersion: () => triggerType,
	getKnownTypes: () => ({}),
} as unknown as INodeTypes;

interface Emitted {
	json: IDataObject;
	done: IDeferredPromise<IRun>;
}

function fakeRun(error?: string): IRun {
	return {
		data: { resultData: { runData: {}, ...(error ? { error: { message: error, name: 'NodeOperationError' } } : {}) } },
		mode: 'trigger',
		startedAt: new Date(),
		status: error ? 'error' : 'success',
	} as unknown as IRun;
}

/** Starts the trigger with `run` deciding each execution's outcome after `ms`. */
async function startTrigger(
	parameters: Record<string, unknown>,
	run: (json: IDataObject) => { ms: number; error?: string },
	mode: WorkflowExecuteMode = 'trigger',
) {
	const node: INode = {
		id: 'trigger',
		name: 'Queue Trigger',
		type: 'n8n-nodes-marketing-redis.marketingRedisTrigger',
		typeVersion: 2,
		position: [0, 0],
		parameters: { event: 'jobAvailable', ...parameters } as INode['parameters'],
		credentials: { marketingRedisApi: { id: 'cred-trigger', name: 'Test Redis' } },
	};
	const workflow = new Workflow({ id: 'wf-queue', nodes: [node], connections: {}, nodeTypes, active: true, settings: {} });
	const additionalData = {
		credentialsHelper: {
			getDecrypted: async () => testCredentials() as ICredentialDataDecryptedObject,
			getParentTypes: () => [],
		},
		restApiUrl: 'http://localhost',
		instanceBaseUrl: 'http://localhost',
		webhookBaseUrl: 'http://localhost',
		webhookWaitingBaseUrl: 'http://localhost',
		webhookTestBaseUrl: 'http://localhost',
		formWaitingBaseUrl: 'http://localhost',
		variables: {},
	} as unknown as IWorkflowExecuteAdditionalData;
	const emitted: Emitted[] = [];
	const errors: Error[] = [];
	let active = 0;
	let maxActive = 0;
	const emit = (data: INodeExecutionData[][], _response?: unknown, done?: IDeferredPromise<IRun>) => {
		if (!done) throw new Error('the queue trigger must pass a donePromise to emit');
		const json = data[0][0].json;
		emitted.push({ json, done });
		active += 1;
		maxActive = Math.max(maxActive, active);
		const outcome = run(json);
		setTimeout(() => {
			active -= 1;
			done.resolve(fakeRun(outcome.error));
		}, outcome.ms);
	};
	const ctx = new TriggerContext(workflow, node, additionalData, mode, 'activate', emit, (e: Error) => errors.push(e));
	const response: ITriggerResponse = await triggerType.trigger.call(ctx);
	if (mode === 'manual') await response.manualTriggerFunction?.();
	return { response, emitted, errors, stats: () => ({ active, maxActive }) };
}

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 15_000): Promise<void> {
	const end = Date.now() + ms;
	while (!(await check())) {
		if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

function queueFor(name: string): JobQueue {
	return new JobQueue(sharedPool.client(testConfig(), 'queue'), new KeySchema('').queue(name));
}

describe('Job Available on Queue trigger', () => {
	it('acks a job whose execution succeeds: it is gone from the queue', async () => {
		const name = uniquePrefix('tq');
		const queue = queueFor(name);
		const t = await startTrigger({ queue: name, maxParallelJobs: 1, visibilityTimeout: 30 }, () => ({ ms: 20 }));
		try {
			const [{ id }] = await queue.enqueue([{ payload: { campaign_id: 7 } }]);
			await until(async () => (await queue.stats()).inFlight === 0 && t.emitted.length === 1, 'the ack');
			expect(t.emitted[0].json).toMatchObject({ queue: name, id, payload: { campaign_id: 7 }, attempt: 1 });
			expect(await queue.stats()).toMatchObject({ waiting: 0, inFlight: 0, delayed: 0, dead: 0 });
			expect(await queue.client.exists(queue.keys.jobs, queue.keys.meta)).toBe(0);
		} finally {
			await t.response.closeFunction?.();
		}
	});

	it('runs a fair queue: groups take turns, Max In Flight per Group holds across parallel executions', async () => {
		const name = uniquePrefix('tq');
		const queue = queueFor(name);
		await queue.enqueue(Array.from({ length: 12 }, (_, n) => ({ payload: { n }, group: 'big' })));
		await queue.enqueue([{ payload: { n: 0 }, group: 'small' }]);
		const running = new Map<string, number>();
		let peak = 0;
		const t = await startTrigger(
			{ queue: name, maxParallelJobs: 4, visibilityTimeout: 30, options: { maxInFlightPerGroup: 2 } },
			(json) => {
				const group = String(json.group);
				running.set(group, (running.get(group) ?? 0) + 1);
				peak = Math.max(peak, running.get(group) ?? 0);
				setTimeout(() => running.set(group, (running.get(group) ?? 1) - 1), 14);
				return { ms: 15 };
			},
		);
		try {
			await until(async () => t.emitted.length === 13 && (await queue.stats()).inFlight === 0, 'every job');
			// The small group's job is among the first jobs, not behind the big group's twelve.
			expect(t.emitted.slice(0, 3).map((e) => e.json.group)).toContain('small');
			expect(peak).toBeLessThanOrEqual(2);
			expect(t.stats().maxActive).toBeLessThanOrEqual(3);
		} finally {
			await t.response.closeFunction?.();
		}
	});

	it('fails a job whose execution fails: retried, then dead-lettered with the error', async () => {
		const name = uniquePrefix('tq');
		const queue = queueFor(name);
		const t = await startTrigger({ queue: name, maxParallelJobs: 2, visibilityTimeout: 30 }, (json) => ({
			ms: 10,
			error: `Node "Post" failed on attempt ${String(json.attempt)}`,
		}));
		try {
			const [{ id }] = await queue.enqueue([{ payload: { bad: true }, maxAttempts: 2, backoffMs: 100 }]);
			await until(async () => (await queue.stats()).dead === 1, 'the dead letter');
			expect(t.emitted.map((e) => e.json.attempt)).toEqual([1, 2]);
			expect(t.emitted[1].json.lastError).toBe('Node "Post" failed on attempt 1');
			const [dead] = await queue.listDead();
			expect(dead).toMatchObject({ id, attempt: 2, error: 'Node "Post" failed on attempt 2' });
			expect(await queue.stats()).toMatchObject({ waiting: 0, inFlight: 0, delayed: 0 });
		} finally {
			await t.response.closeFunction?.();
		}
	});

	it('never runs more executions at once than Max Parallel Jobs, and runs every job once', async () => {
		const name = uniquePrefix('tq');
		const queue = queueFor(name);
		const t = await startTrigger({ queue: name, maxParallelJobs: 3, visibilityTimeout: 30 }, () => ({ ms: 60 }));
		try {
			await queue.enqueue(Array.from({ length: 15 }, (_, n) => ({ payload: { n } })));
			await until(async () => t.emitted.length === 15 && (await queue.stats()).inFlight === 0, 'all jobs');
			expect(t.stats().maxActive).toBe(3);
			expect(new Set(t.emitted.map((e) => e.json.id)).size).toBe(15);
			expect(await queue.stats()).toMatchObject({ waiting: 0, inFlight: 0, dead: 0 });
		} finally {
			await t.response.closeFunction?.();
		}
	});

	it('keeps a long execution alive past its visibility timeout by heartbeats (no second delivery)', async () => {
		const name = uniquePrefix('tq');
		const queue = queueFor(name);
		// 1 s visibility, 2.5 s execution: without heartbeats the job would be handed out again.
		const t = await startTrigger({ queue: name, maxParallelJobs: 2, visibilityTimeout: 1 }, () => ({ ms: 2500 }));
		try {
			await queue.enqueue([{ payload: 'long' }]);
			await until(async () => t.emitted.length === 1 && (await queue.stats()).inFlight === 0, 'the long job', 10_000);
			expect(t.emitted).toHaveLength(1);
			expect((await queue.stats()).dead).toBe(0);
		} finally {
			await t.response.closeFunction?.();
		}
	});

	it('closeFunction stops taking jobs and releases its dedicated client; a job left running is acked later', async () => {
		const name = uniquePrefix('tq');
		const queue = queueFor(name);
		const before = sharedPool.size;
		const t = await startTrigger({ queue: name, maxParallelJobs: 1, visibilityTimeout: 30 }, () => ({ ms: 300 }));
		expect(sharedPool.size).toBe(before + 1);
		await queue.enqueue([{ payload: 1 }]);
		await until(() => t.emitted.length === 1, 'the first job');
		await t.response.closeFunction?.();
		expect(sharedPool.size).toBe(before);
		await queue.enqueue([{ payload: 2 }]);
		await until(async () => (await queue.stats()).inFlight === 0, 'the running job to be acked');
		expect(t.emitted).toHaveLength(1);
		expect(await queue.stats()).toMatchObject({ waiting: 1, inFlight: 0 });
	});

	it('a new activation stops a worker left running by an earlier one (its close never came)', async () => {
		const name = uniquePrefix('tq');
		const queue = queueFor(name);
		const before = sharedPool.size;
		const first = await startTrigger({ queue: name, maxParallelJobs: 1, visibilityTimeout: 30 }, () => ({ ms: 5 }));
		const second = await startTrigger({ queue: name, maxParallelJobs: 1, visibilityTimeout: 30 }, () => ({ ms: 5 }));
		try {
			// Only the second activation's dedicated client is still open.
			expect(sharedPool.size).toBe(before + 1);
			await queue.enqueue([{ payload: 1 }, { payload: 2 }]);
			await until(async () => second.emitted.length === 2 && (await queue.stats()).inFlight === 0, 'both jobs');
			expect(first.emitted).toHaveLength(0);
		} finally {
			await second.response.closeFunction?.();
			await first.response.closeFunction?.();
		}
	});

	it('"Test step" (manual mode) takes one job, emits it and acks it after the run', async () => {
		const name = uniquePrefix('tq');
		const queue = queueFor(name);
		await queue.enqueue([{ payload: 'a' }, { payload: 'b' }, { payload: 'c' }]);
		const t = await startTrigger({ queue: name, maxParallelJobs: 5, visibilityTimeout: 30 }, () => ({ ms: 30 }), 'manual');
		try {
			await until(async () => t.emitted.length === 1 && (await queue.stats()).inFlight === 0, 'the manual job');
			expect(t.emitted[0].json.payload).toBe('a');
			expect(await queue.stats()).toMatchObject({ waiting: 2, inFlight: 0 });
		} finally {
			await t.response.closeFunction?.();
		}
		expect(t.emitted).toHaveLength(1);
	});
});
