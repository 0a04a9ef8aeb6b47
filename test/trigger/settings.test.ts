/**
 * The trigger's settings: read by the same parameter reader as the action node, with the same
 * wording for a bad value, and with workflows saved by version 1 (before the queue event's
 * settings were renamed) still loading and running. Workflows are built by n8n-workflow's real
 * Workflow class, which is what normalises a saved node's parameters against the description
 * when n8n loads it; the trigger runs in n8n-core's real TriggerContext against real Redis.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Workflow, type INode, type INodeType, type ITriggerFunctions } from 'n8n-workflow';

import { MarketingRedisTrigger } from '../../nodes/MarketingRedisTrigger/MarketingRedisTrigger.node';
import { readPubSubSettings, readQueueSettings, readStreamSettings } from '../../nodes/MarketingRedisTrigger/events/settings';
import { TriggerParams } from '../../nodes/shared/params';
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { JobQueue } from '../../platform/queue';
import { runNode } from '../helpers/n8n';
import { StaticNodeTypes } from '../../harness/n8n-engine';
import { closeRawClients, deleteKeys, rawClient, testConfig, testCredentials, uniquePrefix } from '../helpers/redis';
import { startTrigger, TRIGGER_TYPE, TRIGGER_VERSION, type ActiveTrigger } from '../helpers/trigger';

const description = new MarketingRedisTrigger().description;
const queueDb = () => rawClient(testConfig().dbs.queue);
const started: ActiveTrigger[] = [];
const queues: string[] = [];

afterAll(async () => {
	for (const trigger of started) await trigger.close();
	for (const name of queues) await deleteKeys(queueDb(), `*${name}*`);
	await sharedPool.closeAll();
	await closeRawClients();
});

/** The trigger node of the fixture, as n8n 2.8 exported it from a workflow saved with version 1. */
function savedV1Node(queue: string): INode {
	const file = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'queue-worker-saved-v1.json'), 'utf8')) as { nodes: INode[] };
	const node = file.nodes.find((n) => n.type === TRIGGER_TYPE)!;
	return { ...node, parameters: { ...node.parameters, jobQueue: queue } };
}

/** The parameters n8n works with after loading `node`: Workflow drops what the description lacks. */
function loaded(node: INode): INode['parameters'] {
	const workflow = new Workflow({
		id: 'saved',
		nodes: [node],
		connections: {},
		nodeTypes: new StaticNodeTypes({ [TRIGGER_TYPE]: new MarketingRedisTrigger() }),
		active: false,
	});
	return workflow.getNode(node.name)!.parameters;
}

/** Activates a stand-in trigger with the real description that only reads the settings. */
async function settingsOf<T>(read: (p: TriggerParams) => T, parameters: Record<string, unknown>, typeVersion = TRIGGER_VERSION): Promise<T> {
	let settings: T | undefined;
	const probe: INodeType = {
		description,
		async trigger(this: ITriggerFunctions) {
			settings = read(new TriggerParams(this));
			return {};
		},
	};
	await startTrigger({ parameters, credentials: testCredentials(), nodeType: probe, typeVersion });
	return settings as T;
}

/** Starts the real trigger and returns the error its activation fails with. */
async function activationError(parameters: Record<string, unknown>, typeVersion = TRIGGER_VERSION): Promise<Error & { description?: string }> {
	try {
		started.push(await startTrigger({ parameters, credentials: testCredentials(), workflowId: uniquePrefix('wf'), typeVersion }));
	} catch (error) {
		return error as Error & { description?: string };
	}
	throw new Error('the activation did not fail');
}

describe('a queue worker saved with version 1 (jobQueue, queueOptions, giveUpAfterMinutes)', () => {
	it('keeps its old parameters when n8n loads it', () => {
		const name = uniquePrefix('v1');
		expect(loaded(savedV1Node(name))).toMatchObject({
			event: 'jobAvailable',
			jobQueue: name,
			queueOptions: { giveUpAfterMinutes: 3, defaultMaxAttempts: 7 },
		});
	});

	it('reads them as the settings a version 2 node with the new names has', async () => {
		const name = uniquePrefix('v1');
		const v1 = await settingsOf((p) => readQueueSettings(p, 3), savedV1Node(name).parameters, 1);
		const v2 = await settingsOf((p) => readQueueSettings(p, 3), {
			event: 'jobAvailable',
			queue: name,
			maxParallelJobs: 2,
			visibilityTimeout: 30,
			options: { giveUpAfter: 180, defaultMaxAttempts: 7 },
		});
		expect(v1).toEqual({
			queue: name,
			maxParallelJobs: 2,
			visibilityMs: 30_000,
			giveUpAfterMs: 180_000,
			defaultMaxAttempts: 7,
			groupLimits: { maxInFlight: 0, rateMax: 0, rateWindowMs: 60_000 },
		});
		expect(v2).toEqual(v1);
	});

	it('reads the per-group limits of a fair queue from the options', async () => {
		const settings = await settingsOf((p) => readQueueSettings(p, 3), {
			event: 'jobAvailable',
			queue: uniquePrefix('g'),
			options: { maxInFlightPerGroup: 2, groupRateLimit: 10, groupRateWindow: 1.5 },
		});
		expect(settings.groupLimits).toEqual({ maxInFlight: 2, rateMax: 10, rateWindowMs: 1500 });
	});

	it('without options, gives up after the same 10 minutes in both versions', async () => {
		const v1 = await settingsOf((p) => readQueueSettings(p, 3), { event: 'jobAvailable', jobQueue: 'q' }, 1);
		const v2 = await settingsOf((p) => readQueueSettings(p, 3), { event: 'jobAvailable', queue: 'q' });
		expect(v1.giveUpAfterMs).toBe(600_000);
		expect(v2.giveUpAfterMs).toBe(600_000);
	});

	it('runs: takes a job from the queue its old name names, with its old bare-payload attempts, and acks it', async () => {
		const name = uniquePrefix('v1');
		queues.push(name);
		const node = savedV1Node(name);
		const trigger = await startTrigger({ parameters: node.parameters, credentials: testCredentials(), typeVersion: 1, workflowId: uniquePrefix('wf') });
		started.push(trigger);
		const queue = new JobQueue(queueDb(), new KeySchema().queue(name));
		// A bare payload, as a Python producer LPUSHes it: its attempts come from the trigger's option.
		await queueDb().lpush(`queue:${name}`, JSON.stringify({ brief: 'b-1' }));
		const [job] = await trigger.waitFor(1);
		expect(job).toMatchObject({ queue: name, payload: { brief: 'b-1' }, attempt: 1, maxAttempts: 7 });
		await waitUntil(async () => {
			const stats = await queue.stats();
			return stats.waiting === 0 && stats.inFlight === 0 && stats.dead === 0;
		});
	});

	it('its old names mean nothing to a version 2 node: n8n drops them, so version 1 must keep them', async () => {
		const node = { ...savedV1Node(uniquePrefix('v1')), typeVersion: 2 };
		expect(loaded(node)).not.toHaveProperty('jobQueue');
		expect(loaded(node)).not.toHaveProperty('queueOptions');
		const error = await activationError(node.parameters, 2);
		expect(error.message).toBe('"Queue Name" is empty');
	});
});

describe('the update events read their settings the same way in both versions', () => {
	it.each([1, 2])('version %d: pub/sub', async (version) => {
		const settings = await settingsOf(
			readPubSubSettings,
			{ event: 'contentUpdatePubSub', channels: ' a , b ', patterns: 'c:*', options: { giveUpAfter: 2.5, nonJson: 'skip' } },
			version,
		);
		expect(settings).toEqual({ channels: ['a', 'b'], patterns: ['c:*'], filters: [], nonJson: 'skip', giveUpAfterMs: 2500 });
	});

	it.each([1, 2])('version %d: durable stream', async (version) => {
		const settings = await settingsOf(
			readStreamSettings,
			{ event: 'contentUpdateStream', channels: 'a', options: { group: ' g1 ', maxParallel: 3, startAt: 'all', executionWaitMinutes: 0 } },
			version,
		);
		expect(settings).toMatchObject({ channels: ['a'], group: 'g1', maxParallel: 3, startAt: '0', executionWaitMs: 0, giveUpAfterMs: 300_000 });
		// Saved workflows without the option do not coalesce.
		expect(settings).toMatchObject({ coalesceBy: '', coalesceWindowMs: 30_000 });
	});

	it.each([1, 2])('version %d: Coalesce By and its window', async (version) => {
		const settings = await settingsOf(
			readStreamSettings,
			{ event: 'contentUpdateStream', channels: 'a', options: { coalesceBy: ' data.draft_id ', coalesceWindow: 2.5 } },
			version,
		);
		expect(settings).toMatchObject({ coalesceBy: 'data.draft_id', coalesceWindowMs: 2500 });
	});
});

describe('a bad setting fails the activation with the field, the problem and the fix', () => {
	it.each([
		['Max Parallel Jobs', { event: 'jobAvailable', queue: 'q', maxParallelJobs: 0 }, /^"Max Parallel Jobs" must be a positive whole number, got 0$/, /greater than 0/],
		['Max Parallel Jobs', { event: 'jobAvailable', queue: 'q', maxParallelJobs: 101 }, /^"Max Parallel Jobs" must be a positive whole number \(at most 100\), got 101$/, /whole number/],
		[
			'Visibility Timeout (Seconds)',
			{ event: 'jobAvailable', queue: 'q', visibilityTimeout: '={{ "soon" }}' },
			/^"Visibility Timeout \(Seconds\)" must be a positive whole number of seconds, got "soon"$/,
			/of seconds/,
		],
		[
			'Give Up After (Seconds)',
			{ event: 'jobAvailable', queue: 'q', options: { giveUpAfter: -1 } },
			/^"Give Up After \(Seconds\)" must be a number of seconds from 0 to 2073600, got -1$/,
			/such as 30/,
		],
		[
			'Give Up After (Seconds)',
			{ event: 'contentUpdatePubSub', channels: 'c', options: { giveUpAfter: -1 } },
			/^"Give Up After \(Seconds\)" must be a number of seconds from 0 to 2073600, got -1$/,
			/such as 30/,
		],
		[
			'Max Attempts for Bare Payloads',
			{ event: 'jobAvailable', queue: 'q', options: { defaultMaxAttempts: 0 } },
			/^"Max Attempts for Bare Payloads" must be a positive whole number, got 0$/,
			/greater than 0/,
		],
		[
			'Max In Flight per Group',
			{ event: 'jobAvailable', queue: 'q', options: { maxInFlightPerGroup: 2.5 } },
			/^"Max In Flight per Group" must be a whole number of at least 0, got 2\.5$/,
			/whole number/,
		],
		[
			'Group Rate Window (Seconds)',
			{ event: 'jobAvailable', queue: 'q', options: { groupRateLimit: 5, groupRateWindow: 0 } },
			/^"Group Rate Window \(Seconds\)" must be a number of seconds from 0.001 to 604800, got 0$/,
			/such as 30/,
		],
		['Consumer Group', { event: 'contentUpdateStream', channels: 'c', options: { group: '  ' } }, /^"Consumer Group" is empty$/, /non-empty/],
		[
			'Max Wait for an Execution (Minutes)',
			{ event: 'contentUpdateStream', channels: 'c', options: { executionWaitMinutes: -5 } },
			/^"Max Wait for an Execution \(Minutes\)" must be a number of minutes from 0 to 34560, got -5$/,
			/such as 30/,
		],
		[
			'Coalesce Window (Seconds)',
			{ event: 'contentUpdateStream', channels: 'c', options: { coalesceBy: 'draft_id', coalesceWindow: 0 } },
			/^"Coalesce Window \(Seconds\)" must be a number of seconds from 0.01 to 86400, got 0$/,
			/such as 30/,
		],
		['Coalesce By', { event: 'contentUpdateStream', channels: 'c', options: { coalesceBy: '={{ 5 }}' } }, /^"Coalesce By" must be a field name/, /run every update/],
		['Channels', { event: 'contentUpdateStream', channels: ' , ' }, /^"Channels" is empty: enter at least one channel$/, /content_updates/],
		['Channels', { event: 'contentUpdatePubSub', channels: '', patterns: ' ' }, /at least one channel or pattern$/, /content_updates/],
		['Non-JSON Messages', { event: 'contentUpdatePubSub', channels: 'c', options: { nonJson: '={{ "drop" }}' } }, /^"Non-JSON Messages" must be one of/, /Choose/],
	])('%s', async (_label, parameters, message, fix) => {
		const error = await activationError(parameters);
		expect(error.message).toMatch(message);
		expect(error.description).toMatch(fix);
	});

	it('version 1 names its own fields', async () => {
		const error = await activationError({ event: 'jobAvailable', jobQueue: 'q', queueOptions: { giveUpAfterMinutes: -1 } }, 1);
		expect(error.message).toBe('"Give Up After (Minutes)" must be a number of minutes from 0 to 34560, got -1');
	});

	it('a queue name with braces: the rule and words of the action node, without an item', async () => {
		const trigger = await activationError({ event: 'jobAvailable', queue: 'a{b}' });
		const node = await runNode({ parameters: { resource: 'job', operation: 'stats', queue: 'a{b}' } });
		expect(node.error?.message).toBe(`${trigger.message} [item 0]`);
		expect(trigger.message).toBe('"Queue Name" must not contain { or }');
		expect(trigger.description).toBe(node.error?.description);
		expect(trigger.description).toMatch(/hash-tag/);
	});
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error('timed out');
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}
