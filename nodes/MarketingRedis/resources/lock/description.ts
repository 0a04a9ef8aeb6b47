import type { INodeProperties } from 'n8n-workflow';

const show = (operation: string[]) => ({ show: { resource: ['lock'], operation } });

export const lockProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['lock'] } },
		options: [
			{
				name: 'Acquire',
				value: 'acquire',
				action: 'Acquire a lock',
				description:
					'Take a named lock so only one workflow or worker works on something (for example one campaign) at a time. Returns a token needed to release or extend it, and expiresAt, when the lease ends unless extended. A lock whose lease has ended counts as free. Can wait for the current holder.',
			},
			{
				name: 'Release',
				value: 'release',
				action: 'Release a lock',
				description:
					'Give a lock back, using the token from Acquire; a lock now held by someone else is left alone. outcome "expired" means your lease had already ended (the lock is freed all the same).',
			},
			{
				name: 'Extend',
				value: 'extend',
				action: 'Extend a lock',
				description:
					'Give a lock you still hold a new lease counted from now, using the token from Acquire, when the work takes longer. Fails with outcome "expired" once the lease has ended: Acquire again then.',
			},
		],
		default: 'acquire',
	},
	{
		displayName: 'Lock Name',
		name: 'lockName',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'campaign_123',
		description: 'What the lock protects; the Redis key is lock:{Lock Name}, the same as the Python workers use',
		displayOptions: { show: { resource: ['lock'] } },
	},
	{
		displayName: 'Token',
		name: 'lockToken',
		type: 'string',
		required: true,
		default: '',
		placeholder: '={{ $json.token }}',
		description: 'The token that Acquire returned; proves that you hold the lock',
		displayOptions: show(['release', 'extend']),
	},
	{
		displayName: 'TTL (Seconds)',
		name: 'lockTtl',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		default: 30,
		description:
			'Length of the lease: seconds after which the lock counts as free if it is not released or extended, so a crashed workflow cannot block others forever. Extend: the new lease counted from now. (The lease end is stored in the lock itself, not as a Redis TTL, so Redis never evicts a held lock.)',
		displayOptions: show(['acquire', 'extend']),
	},
	{
		displayName: 'Wait Up To (Ms)',
		name: 'waitMs',
		type: 'number',
		typeOptions: { minValue: 0, numberPrecision: 0 },
		default: 0,
		description:
			'When the lock is held, keep trying for up to this many milliseconds before giving up; 0 tries once. "acquired" says whether it worked.',
		displayOptions: show(['acquire']),
	},
	{
		displayName: 'Retry Interval (Ms)',
		name: 'retryMs',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		default: 100,
		description: 'Pause between tries while waiting (randomised a little so waiting workflows do not retry in step)',
		displayOptions: show(['acquire']),
	},
];
