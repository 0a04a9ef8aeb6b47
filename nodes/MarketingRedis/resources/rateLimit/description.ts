import type { INodeProperties } from 'n8n-workflow';

const show = (operation: string[]) => ({ show: { resource: ['rateLimit'], operation } });

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
		displayName: 'Max Requests',
		name: 'maxRequests',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		required: true,
		default: 100,
		description: 'How many requests are allowed in any window of the given length',
		displayOptions: show(['check', 'status']),
	},
	{
		displayName: 'Window (Seconds)',
		name: 'windowSeconds',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		required: true,
		default: 3600,
		description:
			'Length of the sliding window: a request counts against the limit for this many seconds after it was made. Use the same value on every check of one key.',
		displayOptions: show(['check', 'status']),
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
