import type { INodeProperties } from 'n8n-workflow';

export const serverProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['server'] } },
		options: [
			{
				name: 'Health',
				value: 'health',
				action: 'Check Redis health',
				description:
					'Report memory used against maxmemory, cache hit rate, evicted keys, connected clients, the newest slow queries and the key count of each DB, with warnings',
			},
		],
		default: 'health',
	},
	{
		displayName: 'Options',
		name: 'healthOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { resource: ['server'], operation: ['health'] } },
		options: [
			{
				displayName: 'Slow Log Entries',
				name: 'slowLogCount',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 10,
				description: 'How many of the newest slow-log entries to include (0 = none)',
			},
			{
				displayName: 'Memory Warning (%)',
				name: 'memoryWarnPercent',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 100 },
				default: 90,
				description: 'Add a warning when memory use reaches this percent of maxmemory',
			},
		],
	},
];
