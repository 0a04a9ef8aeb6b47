import type { INodeProperties } from 'n8n-workflow';

import { errorOnTimeoutOption, includeTracebackOption, waitOption } from './results-description';

const show = { show: { resource: ['job'], operation: ['sendCeleryTask'] } };

/** The fields of Job Queue > Send Celery Task: a Celery protocol 2 message for the Python workers. */
export const celeryProperties: INodeProperties[] = [
	{
		displayName: 'Celery Queue',
		name: 'celeryQueue',
		type: 'string',
		default: 'celery',
		description: "Queue the Celery workers consume (Celery's default is celery)",
		displayOptions: show,
	},
	{
		displayName: 'Task Name',
		name: 'taskName',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'tasks.generate_content',
		description: 'Registered name of the Celery task, as the worker lists it on start',
		displayOptions: show,
	},
	{
		displayName: 'Args',
		name: 'args',
		type: 'json',
		default: '[]',
		description: 'Positional arguments of the task, as a JSON array',
		displayOptions: show,
	},
	{
		displayName: 'Kwargs',
		name: 'kwargs',
		type: 'json',
		default: '{}',
		description: 'Keyword arguments of the task, as a JSON object',
		displayOptions: show,
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show,
		options: [
			{
				displayName: 'Countdown (Seconds)',
				name: 'countdown',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Run the task no earlier than this many seconds from now (sent as its ETA)',
			},
			errorOnTimeoutOption,
			{
				displayName: 'ETA',
				name: 'eta',
				type: 'dateTime',
				default: '',
				description: 'Run the task no earlier than this time',
			},
			{
				displayName: 'Expires',
				name: 'expires',
				type: 'dateTime',
				default: '',
				description: 'Discard the task if it has not started by this time',
			},
			includeTracebackOption,
			{
				displayName: 'Priority',
				name: 'priority',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 9, numberPrecision: 0 },
				default: 0,
				description:
					"0-9 as in Celery; with Redis, kombu serves 0 first, then 3, 6, 9 (it rounds down to those steps into separate lists)",
			},
			{
				displayName: 'Task ID',
				name: 'taskId',
				type: 'string',
				default: '',
				description: 'Your own task ID (for example to look up its result); empty generates a UUID',
			},
			waitOption('the task to reach SUCCESS, FAILURE or REVOKED (Celery\'s Redis result backend must be on)'),
		],
	},
];
