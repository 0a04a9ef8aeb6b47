import type { IDataObject, INodeProperties, IRun, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import { sharedPool } from '../../../platform/connection-pool';
import { redact, toPlatformError } from '../../../platform/errors';
import { KeySchema } from '../../../platform/keys';
import { JobQueue, QUEUE_DEFAULTS, QueueWorker, type HandBack, type Job, type JobDone } from '../../../platform/queue';
import { secretsOf } from '../../shared/credentials';
import { activationKey, register, stopPrevious } from './activations';
import type { TriggerEvent } from './event';
import { handOver } from './handover';
import { NodeOperationError } from '../../shared/n8n';
import { groupLimitOptions } from '../../shared/group-limits';
import { TriggerParams } from '../../shared/params';
import { giveUpOption, QUEUE_GIVE_UP_SECONDS, readQueueSettings, showFor } from './settings';
import { triggerConfig } from './update-common';

const EVENT = 'jobAvailable';

const show = { show: { event: [EVENT] } };

function queueNameProperty(name: string, version: 'v1' | 'current'): INodeProperties {
	return {
		displayName: 'Queue Name',
		name,
		type: 'string',
		required: true,
		default: '',
		placeholder: 'content_generation',
		description: 'Queue to work on (the Redis list queue:{Queue Name} in the queue DB); jobs come from the Marketing Redis node or Python producers',
		displayOptions: showFor(EVENT, version),
	};
}

const bareMaxAttemptsOption: INodeProperties = {
	displayName: 'Max Attempts for Bare Payloads',
	name: 'defaultMaxAttempts',
	type: 'number',
	typeOptions: { minValue: 1, numberPrecision: 0 },
	default: 3,
	description: 'Attempts allowed for jobs a producer pushed as plain JSON, without our envelope',
};

const properties: INodeProperties[] = [
	queueNameProperty('jobQueue', 'v1'),
	queueNameProperty('queue', 'current'),
	{
		displayName: 'Max Parallel Jobs',
		name: 'maxParallelJobs',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 100, numberPrecision: 0 },
		default: 1,
		description: 'How many executions may run at the same time; the next job is taken only when one finishes',
		displayOptions: show,
	},
	{
		displayName: 'Visibility Timeout (Seconds)',
		name: 'visibilityTimeout',
		type: 'number',
		typeOptions: { minValue: 5, numberPrecision: 0 },
		default: 300,
		description:
			'If n8n stops while a job runs, the job returns to the queue after this long. While the execution runs, the deadline is pushed out every third of this time.',
		displayOptions: show,
	},
	{
		// Version 1's options, kept so that saved version 1 nodes still load (see settings.ts).
		displayName: 'Options',
		name: 'queueOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: showFor(EVENT, 'v1'),
		options: [
			{
				displayName: 'Give Up After (Minutes)',
				name: 'giveUpAfterMinutes',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: QUEUE_GIVE_UP_SECONDS / 60,
				description: 'If Redis stays unreachable this long, report the error (n8n then retries the activation)',
			},
			bareMaxAttemptsOption,
		],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: showFor(EVENT, 'current'),
		options: [
			giveUpOption(QUEUE_GIVE_UP_SECONDS),
			bareMaxAttemptsOption,
			...groupLimitOptions,
			{
				displayName: 'Store Result',
				name: 'storeResult',
				type: 'options',
				options: [
					{
						name: "Last Node's First Item",
						value: 'lastNode',
						description: 'The JSON of the first item the last node of the execution output',
					},
					{ name: 'None', value: 'none', description: 'Complete the job without a result record' },
				],
				default: 'lastNode',
				description: 'What a successful execution stores as the job\'s result, for a workflow waiting on it (Enqueue with Wait for Result, Get Job Result); kept for 24 hours',
			},
		],
	},
];

/** Largest result the trigger stores; a bigger one is stored as null (and logged). */
const MAX_RESULT_BYTES = 1024 * 1024;

/** The JSON of the first item the execution's last node output, or null. */
export function lastNodeJson(run: IRun | undefined): unknown {
	const result = run?.data?.resultData;
	const last = result?.lastNodeExecuted;
	if (!result || !last) return null;
	const tasks = result.runData?.[last] ?? [];
	return tasks[tasks.length - 1]?.data?.main?.[0]?.[0]?.json ?? null;
}

function jobItem(queue: string, job: Job): IDataObject {
	return {
		queue,
		id: job.id,
		payload: job.payload as IDataObject,
		attempt: job.attempt,
		maxAttempts: job.maxAttempts,
		enqueuedAt: job.enqueuedAt === null ? null : new Date(job.enqueuedAt).toISOString(),
		lastError: job.lastError,
		group: job.group,
	};
}

/** The error of a finished execution, if it failed. */
export function runFailure(run: IRun | undefined): string | undefined {
	const error = run?.data?.resultData?.error;
	if (error) return error.message || 'The workflow execution failed';
	if (run?.status === 'error' || run?.status === 'crashed' || run?.status === 'canceled') {
		return `The workflow execution ended with status "${run.status}"`;
	}
	return undefined;
}

/**
 * One workflow execution per job, at most "Max Parallel Jobs" at a time. The job is acked only
 * when its execution finishes successfully (the donePromise of emit, as n8n's RabbitMQ Trigger
 * does); a failed execution fails the job (retry with backoff, then dead letter). Jobs running
 * when n8n stops are not acked and return after their visibility timeout.
 */
async function startJobWorker(ctx: ITriggerFunctions): Promise<ITriggerResponse> {
	const node = ctx.getNode();
	const settings = readQueueSettings(new TriggerParams(ctx), QUEUE_DEFAULTS.maxAttempts);
	const name = settings.queue;

	// A previous activation whose close failed must not keep taking jobs next to this one.
	const key = activationKey(ctx, EVENT);
	if (await stopPrevious(key)) ctx.logger.warn(`Marketing Redis Trigger "${node.name}": stopped a queue worker left from an earlier activation`);
	const config = await triggerConfig(ctx);
	const secrets = secretsOf(config);
	let keys;
	try {
		keys = new KeySchema(config.keyPrefix).queue(name);
	} catch (error) {
		// The name itself was checked above; what is left is a brace in the credential's key prefix.
		throw new NodeOperationError(node, (error as Error).message);
	}
	const queue = new JobQueue(sharedPool.client(config, 'queue'), keys);
	const blocking = sharedPool.dedicated(config, 'queue', 'blocking');
	const manual = ctx.getMode() === 'manual';
	const label = `Marketing Redis Trigger "${node.name}" (queue ${name})`;

	let worker: QueueWorker | undefined;
	const closing = new AbortController();
	const storeResult = ctx.getNodeParameter('options.storeResult', 'lastNode') !== 'none';
	const handler = async (job: Job): Promise<HandBack | JobDone | undefined> => {
		// "Test step" shows one job: stop taking more; this one still gets acked or failed.
		if (manual) void worker?.stop();
		const outcome = await handOver(ctx, jobItem(name, job), {
			waitForRun: true,
			signal: closing.signal,
			label,
			what: `job ${job.id}`,
			whereItWaits: 'The job went back to the head of its queue without using up an attempt.',
			secrets,
		});
		// No execution ran it: a fault on n8n's side must not use up the job's attempts.
		if (!outcome.taken) return { handBack: outcome.why };
		// A run n8n ended before the workflow ran (a queue-mode worker killed) counts as a failed
		// attempt, not a hand-back: a job that kills every worker must reach the dead letter, not loop.
		const run = await (outcome.done as Promise<IRun>);
		const failure = runFailure(run);
		if (failure !== undefined) throw new Error(failure);
		if (!storeResult) return undefined;
		let result = lastNodeJson(run);
		if (Buffer.byteLength(JSON.stringify(result) ?? 'null') > MAX_RESULT_BYTES) {
			ctx.logger.warn(`${label}: the result of job ${job.id} is over ${MAX_RESULT_BYTES} bytes; stored as null`);
			result = null;
		}
		return { result, resultTtlMs: QUEUE_DEFAULTS.resultTtlMs };
	};
	worker = new QueueWorker(queue, blocking, handler, {
		concurrency: manual ? 1 : settings.maxParallelJobs,
		visibilityMs: settings.visibilityMs,
		// 0 means "retry forever" here as in the update events; the worker reads an absent budget that way.
		giveUpAfterMs: settings.giveUpAfterMs > 0 ? settings.giveUpAfterMs : undefined,
		defaultMaxAttempts: settings.defaultMaxAttempts,
		groupLimits: settings.groupLimits,
		describeError: (error) => redact(error instanceof Error ? error.message : String(error), secrets),
		onError: (error) => ctx.logger.warn(`${label}: ${toPlatformError(error, secrets).message}; retrying`),
		onSettled: (job, outcome) => {
			const status = typeof outcome === 'string' ? outcome : outcome.status;
			if (status === 'missing' || status === 'stale') {
				ctx.logger.warn(
					`${label}: job ${job.id} outlived its visibility timeout before its execution finished, so it may run again; raise "Visibility Timeout"`,
				);
			}
		},
		onGiveUp: (error) => {
			const described = toPlatformError(error, secrets);
			ctx.emitError(new NodeOperationError(node, `${label} stopped: ${described.message}`, { description: described.hint }));
		},
	});
	const started = worker;
	if (!manual) started.start();
	// Running executions keep their heartbeat and are acked when they finish (the shared
	// client stays open); only the wait for new jobs ends here.
	const stop = async () => {
		closing.abort();
		await started.stop();
		await sharedPool.release(blocking);
	};
	const unregister = register(key, stop);

	return {
		closeFunction: async () => {
			unregister();
			await stop();
		},
		manualTriggerFunction: manual ? async () => started.start() : undefined,
	};
}

export const queueEvent: TriggerEvent = {
	value: EVENT,
	name: 'Job Available on Queue',
	description:
		'Runs the workflow once per job of a queue (at-least-once): the job is completed when the execution succeeds, and retried or dead-lettered when it fails',
	properties,
	start: startJobWorker,
};
