import type { INodeProperties } from 'n8n-workflow';

/** The fields of getting results back (see results.ts): the wait options and the two Get ... Result operations. */

const show = (operation: string[]) => ({ show: { resource: ['job'], operation } });

export const errorOnTimeoutOption: INodeProperties = {
	displayName: 'Error on Timeout',
	name: 'errorOnTimeout',
	type: 'boolean',
	default: true,
	description:
		'Whether a result that did not arrive in time fails the item; turn off to output the current state with "timedOut": true instead',
};

export const includeTracebackOption: INodeProperties = {
	displayName: 'Include Traceback',
	name: 'includeTraceback',
	type: 'boolean',
	default: false,
	description: "Whether to output the Python traceback Celery stored with a failed task (as \"traceback\")",
};

export function waitOption(what: string): INodeProperties {
	return {
		displayName: 'Wait for Result (Seconds)',
		name: 'waitForResult',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description: `Wait up to this long for ${what}, without polling (0 = do not wait). All items wait at the same time, on one connection.`,
	};
}

export const completeResultOptions: INodeProperties[] = [
	{
		displayName: 'Result',
		name: 'result',
		type: 'json',
		default: '{}',
		description: 'JSON the job produced; a workflow waiting on the job (Enqueue with Wait for Result, Get Job Result) receives it',
	},
	{
		displayName: 'Result TTL (Seconds)',
		name: 'resultTtl',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		default: 86400,
		description: 'How long the result is kept for readers',
	},
];

export const resultProperties: INodeProperties[] = [
	{
		displayName: 'Task ID',
		name: 'taskId',
		type: 'string',
		required: true,
		default: '={{ $json.taskId }}',
		description: 'ID of the Celery task, as output by Send Celery Task',
		displayOptions: show(['getCeleryResult']),
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(['getResult']),
		options: [errorOnTimeoutOption, waitOption('the job to be completed or dead-lettered')],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(['getCeleryResult']),
		options: [errorOnTimeoutOption, includeTracebackOption, waitOption('SUCCESS, FAILURE or REVOKED')],
	},
];
