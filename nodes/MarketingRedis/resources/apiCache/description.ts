import type { INodeProperties } from 'n8n-workflow';

import { writeOptions } from '../../../shared/fields';

const show = (operation: string[]) => ({ show: { resource: ['apiCache'], operation } });

export const apiCacheProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['apiCache'] } },
		options: [
			{
				name: 'Set',
				value: 'set',
				action: 'Cache an API response',
				description:
					'Store an API response (competitor data, enrichment, social stats) under a namespace and key, with a TTL',
			},
			{
				name: 'Get',
				value: 'get',
				action: 'Get a cached API response',
				description:
					'Look up a cached API response before calling the API again; "hit" is false when there is none or it expired',
			},
			{
				name: 'Delete',
				value: 'delete',
				action: 'Delete a cached API response',
				description: 'Remove one cached API response, for example to force a fresh call',
			},
		],
		default: 'get',
	},
	{
		displayName: 'Namespace',
		name: 'namespace',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'competitors',
		description: 'The API or data family, for example competitors or linkedin_stats; the key is api:{namespace}:{key}',
		displayOptions: { show: { resource: ['apiCache'] } },
	},
	{
		displayName: 'Key',
		name: 'cacheKey',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'acme.com',
		description: 'What the response is about within the namespace, for example a domain or an account ID',
		displayOptions: { show: { resource: ['apiCache'] } },
	},
	{
		displayName: 'Value',
		name: 'value',
		type: 'json',
		required: true,
		default: '{}',
		description: 'The response to cache, as JSON',
		displayOptions: show(['set']),
	},
	{
		displayName: 'TTL (Seconds)',
		name: 'ttl',
		type: 'number',
		required: true,
		typeOptions: { minValue: 1 },
		default: 3600,
		description:
			'Seconds until the entry expires. Required: Redis runs with volatile-lru, which can only evict entries that have a TTL.',
		displayOptions: show(['set']),
	},
	writeOptions(show(['set']), 'values'),
];
