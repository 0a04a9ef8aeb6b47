import type { INodeProperties } from 'n8n-workflow';

import { maxValueSizeOption } from '../../../shared/fields';
import { groupLimitOptions } from '../../../shared/group-limits';
import { celeryProperties } from './celery-description';
import { completeResultOptions, errorOnTimeoutOption, resultProperties, waitOption } from './results-description';

const show = (operation: string[]) => ({ show: { resource: ['job'], operation } });

const QUEUE_OPERATIONS = ['enqueue', 'dequeue', 'complete', 'fail', 'getResult', 'stats', 'recoverStalled', 'retryDead', 'purgeDead'];

export const jobProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['job'] } },
		options: [
			{
				name: 'Enqueue',
				value: 'enqueue',
				action: 'Enqueue a job',
				description:
					'Add a job (a JSON payload) to a queue for a worker to run, optionally delayed, prioritised or de-duplicated by job ID; outputs the job ID',
			},
			{
				name: 'Dequeue',
				value: 'dequeue',
				action: 'Dequeue a job',
				description:
					'Take the next job from a queue, waiting up to a timeout; the job stays reserved (in flight) until Complete or Fail, and returns to the queue if neither happens within the visibility timeout',
			},
			{
				name: 'Complete',
				value: 'complete',
				action: 'Complete a job',
				description: 'Acknowledge a dequeued job as done, removing it from the queue for good, and store its result for waiters',
			},
			{
				name: 'Fail',
				value: 'fail',
				action: 'Fail a job',
				description:
					'Report that a dequeued job failed: it is retried after a growing delay until its attempts are used up, then moved to the dead-letter list with the error',
			},
			{
				name: 'Get Job Result',
				value: 'getResult',
				action: 'Get the result of a job',
				description: 'Read the result a worker stored when it completed a job (or the error that dead-lettered it), optionally waiting for it',
			},
			{
				name: 'Stats',
				value: 'stats',
				action: 'Get queue statistics',
				description: 'Count waiting, in-flight, delayed and dead jobs of a queue, per group too, and the age of the oldest waiting job',
			},
			{
				name: 'Recover Stalled',
				value: 'recoverStalled',
				action: 'Recover stalled jobs',
				description:
					'Return jobs whose worker stopped (visibility timeout passed) and delayed jobs that are due to the queue; Dequeue does this by itself, so this is only needed for monitoring',
			},
			{
				name: 'Retry Dead',
				value: 'retryDead',
				action: 'Retry dead jobs',
				description: 'Move dead-lettered jobs (all, some, or one by ID) back to the queue with a fresh set of attempts',
			},
			{
				name: 'Purge Dead',
				value: 'purgeDead',
				action: 'Purge dead jobs',
				description: 'Delete every dead-lettered job of a queue for good',
			},
			{
				name: 'Send Celery Task',
				value: 'sendCeleryTask',
				action: 'Send a task to Celery workers',
				description:
					"Hand a task straight to the platform's Python Celery workers (Celery protocol 2 message on the Celery queue list); outputs the task ID, or its result when waiting",
			},
			{
				name: 'Get Celery Task Result',
				value: 'getCeleryResult',
				action: 'Get the result of a celery task',
				description: "Read a Celery task's state and result from Celery's Redis result backend, optionally waiting for it to finish",
			},
		],
		default: 'enqueue',
	},
	{
		displayName: 'Queue Name',
		name: 'queue',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'content_generation',
		description: 'Name of the queue; its waiting list is the Redis key queue:{Queue Name} in the queue DB, which Python producers and consumers use too',
		displayOptions: show(QUEUE_OPERATIONS),
	},
	{
		displayName: 'Payload',
		name: 'payload',
		type: 'json',
		required: true,
		default: '{\n  "campaign_id": 1,\n  "type": "blog"\n}',
		description: 'The job data, as JSON; the worker receives it as "payload"',
		displayOptions: show(['enqueue']),
	},
	{
		displayName: 'Timeout (Seconds)',
		name: 'timeout',
		type: 'number',
		typeOptions: { minValue: 0, numberPrecision: 0 },
		default: 5,
		description: 'How long to wait for a job when the queue is empty; 0 returns at once',
		displayOptions: show(['dequeue']),
	},
	{
		displayName: 'Visibility Timeout (Seconds)',
		name: 'visibilityTimeout',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		default: 300,
		description:
			'How long the job stays reserved for this workflow; if it is neither completed nor failed by then, it returns to the queue for another worker',
		displayOptions: show(['dequeue']),
	},
	{
		displayName: 'When Empty',
		name: 'whenEmpty',
		type: 'options',
		options: [
			{ name: 'Return No Item', value: 'noItem', description: 'Output nothing, so the following nodes do not run' },
			{ name: 'Return an Empty Flag', value: 'emptyFlag', description: 'Output one item {"empty": true}' },
		],
		default: 'noItem',
		description: 'What to output when no job arrived within the timeout (never an error)',
		displayOptions: show(['dequeue']),
	},
	{
		displayName: 'Job ID',
		name: 'jobId',
		type: 'string',
		required: true,
		default: '={{ $json.id }}',
		description: 'ID of the job, as output by Dequeue (or Enqueue)',
		displayOptions: show(['complete', 'fail', 'getResult']),
	},
	{
		displayName: 'Error Message',
		name: 'errorMessage',
		type: 'string',
		default: '',
		placeholder: 'LinkedIn API returned 503',
		description: 'Why the job failed; kept with the job and shown in the dead-letter list',
		displayOptions: show(['fail']),
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(['enqueue']),
		options: [
			{
				displayName: 'Backoff (Seconds)',
				name: 'backoffSeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 1,
				description: 'Delay before the first retry after a failure; it doubles with each further attempt (capped at one hour)',
			},
			{
				displayName: 'Delay (Seconds)',
				name: 'delaySeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Run the job no earlier than this many seconds from now',
			},
			errorOnTimeoutOption,
			{
				displayName: 'Group',
				name: 'group',
				type: 'string',
				default: '',
				placeholder: 'account_42',
				description:
					'Fair queues: takes rotate over the groups that have waiting jobs (for example one per client account), so one big group cannot hold the others back. Empty = the ungrouped jobs, which form one more group. Grouped jobs are read only by this node, the trigger and redis_manager, not by plain Python BRPOP consumers.',
			},
			{
				displayName: 'Job ID',
				name: 'jobId',
				type: 'string',
				default: '',
				description:
					'Your own ID for the job; enqueueing the same ID again is skipped (output "duplicate": true) while the job is waiting, running or dead. Empty generates a unique ID.',
			},
			{
				displayName: 'Max Attempts',
				name: 'maxAttempts',
				type: 'number',
				typeOptions: { minValue: 1, numberPrecision: 0 },
				default: 3,
				description: 'How many times the job may run before it is dead-lettered',
			},
			maxValueSizeOption('jobs'),
			{
				displayName: 'Priority',
				name: 'priority',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 100, numberPrecision: 0 },
				default: 0,
				description:
					'0 (normal) to 100; higher runs first. Prioritised jobs wait in their own lane that only this node and the trigger read, not plain Python BRPOP consumers.',
			},
			{
				displayName: 'Run At',
				name: 'runAt',
				type: 'dateTime',
				default: '',
				description: 'Run the job no earlier than this time',
			},
			waitOption('the job to be completed (its result) or dead-lettered (its last error)'),
		],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(['dequeue']),
		options: [
			...groupLimitOptions,
			{
				displayName: 'Max Jobs',
				name: 'maxJobs',
				type: 'number',
				typeOptions: { minValue: 1, numberPrecision: 0 },
				default: 1,
				description: 'Take up to this many jobs at once (one output item each); only the first one waits',
			},
			{
				displayName: 'Max Attempts for Bare Payloads',
				name: 'defaultMaxAttempts',
				type: 'number',
				typeOptions: { minValue: 1, numberPrecision: 0 },
				default: 3,
				description: 'Attempts allowed for jobs a producer pushed as plain JSON, without our envelope',
			},
		],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(['complete']),
		options: [
			{
				displayName: 'Lease',
				name: 'lease',
				type: 'string',
				default: '',
				description:
					'The "lease" output by Dequeue: the ack is refused if the job timed out and another worker took it meanwhile',
			},
			...completeResultOptions,
		],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(['fail']),
		options: [
			{
				displayName: 'Backoff (Seconds)',
				name: 'backoffSeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 1,
				description: "Overrides the job's base retry delay; it doubles with each attempt",
			},
			{
				displayName: 'Lease',
				name: 'lease',
				type: 'string',
				default: '',
				description: 'The "lease" output by Dequeue: the fail is refused if another worker owns the job by now',
			},
			{
				displayName: 'Retry',
				name: 'retry',
				type: 'boolean',
				default: true,
				description: 'Whether to retry while attempts are left; turn off to dead-letter the job at once (for errors a retry cannot fix)',
			},
		],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(['retryDead']),
		options: [
			{
				displayName: 'Job ID',
				name: 'jobId',
				type: 'string',
				default: '',
				description: 'Retry only this dead job; empty retries the oldest dead jobs up to the limit',
			},
			{
				displayName: 'Limit',
				name: 'limit',
				type: 'number',
				typeOptions: { minValue: 1, numberPrecision: 0 },
				default: 1000,
				description: 'Max number of dead jobs to move back',
			},
		],
	},
	...celeryProperties,
	...resultProperties,
];
