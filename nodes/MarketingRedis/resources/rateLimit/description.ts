import type { INodeProperties } from 'n8n-workflow';

const show = (operation: string[]) => ({ show: { resource: ['rateLimit'], operation } });
const whenWaiting = { show: { resource: ['rateLimit'], operation: ['check'], whenLimited: ['wait'] } };
const showFor = (algorithm: string[]) => ({ show: { resource: ['rateLimit'], operation: ['check', 'status'], algorithm } });

export const rateLimitProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['rateLimit'] } },
		options: [
			{
				name: 'Check',
				value: 'check',
				action: 'Check and consume a rate limit',
				description:
					'Count one request against a limit (for example calls to the LinkedIn API) and say whether it is allowed; limited requests are not counted. Use before calling a rate-limited API.',
			},
			{
				name: 'Status',
				value: 'status',
				action: 'Get the status of a rate limit',
				description: 'See how many requests a limit has left and when it resets, without using one up',
			},
			{
				name: 'Reset',
				value: 'reset',
				action: 'Reset a rate limit',
				description: 'Forget every request counted against a limit, so the full limit is available again',
			},
		],
		default: 'check',
	},
	{
		displayName: 'Key',
		name: 'limitKey',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'api_linkedin',
		description: 'What is being limited, for example an API name or API name plus user; the Redis key is ratelimit:{Key}',
		displayOptions: { show: { resource: ['rateLimit'] } },
	},
	{
		displayName: 'Algorithm',
		name: 'algorithm',
		type: 'options',
		options: [
			{
				name: 'Sliding Window',
				value: 'slidingWindow',
				description: 'Exact: at most Max Requests in any window of the given length; memory grows with the limit',
			},
			{
				name: 'Token Bucket',
				value: 'tokenBucket',
				description: 'A burst of up to Burst requests, then Refill Rate per second; constant memory, how most APIs meter',
			},
			{
				name: 'Fixed Window',
				value: 'fixedWindow',
				description: 'Max Requests per window aligned to the clock (a day from 00:00 UTC); constant memory, for very large limits',
			},
		],
		default: 'slidingWindow',
		description: 'How requests are counted. Use the same algorithm and figures on every check of one key.',
		displayOptions: show(['check', 'status']),
	},
	{
		displayName: 'Max Requests',
		name: 'maxRequests',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		required: true,
		default: 100,
		description: 'How many requests are allowed in any window of the given length (Fixed Window: in each window)',
		displayOptions: showFor(['slidingWindow', 'fixedWindow']),
	},
	{
		displayName: 'Window (Seconds)',
		name: 'windowSeconds',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		required: true,
		default: 3600,
		description:
			'Length of the window: a request counts against the limit for this many seconds after it was made (Fixed Window: windows of this length, aligned to the clock). Use the same value on every check of one key.',
		displayOptions: showFor(['slidingWindow', 'fixedWindow']),
	},
	{
		displayName: 'Burst',
		name: 'burst',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		required: true,
		default: 10,
		description: 'How many requests may go through at once after a quiet spell: the capacity of the bucket',
		displayOptions: showFor(['tokenBucket']),
	},
	{
		displayName: 'Refill Rate (Per Second)',
		name: 'refillPerSecond',
		type: 'number',
		typeOptions: { minValue: 0.0001, numberPrecision: 4 },
		required: true,
		default: 1,
		description: 'Requests added back per second, fractions allowed: 100 a minute is 1.6667, 1,000,000 a day 11.5741',
		displayOptions: showFor(['tokenBucket']),
	},
	{
		displayName: 'When Limited',
		name: 'whenLimited',
		type: 'options',
		options: [
			{
				name: 'Route to Limited',
				value: 'route',
				description: 'Output the item at once with allowed = false (on the Limited output when Route to Two Outputs is on)',
			},
			{
				name: 'Wait Until Allowed',
				value: 'wait',
				description:
					'Hold the item until the limit lets it through, in arrival order with every other waiter on the key, for up to Max Wait',
			},
		],
		default: 'route',
		description: 'What happens to an item the limit does not allow yet',
		displayOptions: show(['check']),
	},
	{
		displayName: 'Max Wait (Seconds)',
		name: 'maxWaitSeconds',
		type: 'number',
		typeOptions: { minValue: 0, numberPrecision: 3 },
		default: 60,
		description: 'How long an item may wait for the limit; the execution stays running meanwhile',
		displayOptions: whenWaiting,
	},
	{
		displayName: 'After Max Wait',
		name: 'afterMaxWait',
		type: 'options',
		options: [
			{ name: 'Route to Limited', value: 'limited', description: 'Output the item with allowed = false, as Route to Limited does' },
			{ name: 'Error', value: 'error', description: 'Fail the item (with Continue On Fail it goes to the Limited output)' },
		],
		default: 'limited',
		description: 'What happens to an item that is still limited when Max Wait has passed',
		displayOptions: whenWaiting,
	},
	{
		displayName: 'Route to Two Outputs',
		name: 'routeOutputs',
		type: 'boolean',
		default: false,
		description:
			'Whether to send allowed items to an "Allowed" output and limited items to a "Limited" output, so the workflow can branch without an IF node',
		displayOptions: show(['check']),
	},
];
