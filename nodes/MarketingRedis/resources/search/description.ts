import type { INodeProperties } from 'n8n-workflow';

import { ttlField, writeOptions } from '../../../shared/fields';

const show = (operation: string[]) => ({ show: { resource: ['search'], operation } });

export const searchProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['search'] } },
		options: [
			{
				name: 'Cache Results',
				value: 'cacheResults',
				action: 'Cache search results',
				description:
					'Store the results of a web or API search for a query, with a TTL; equivalent queries (case, spacing) share one entry',
			},
			{
				name: 'Get Cached Results',
				value: 'getResults',
				action: 'Get cached search results',
				description:
					'Look up cached results for a query before searching again; "hit" is false when there are none or they expired',
			},
		],
		default: 'getResults',
	},
	{
		displayName: 'Query',
		name: 'query',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'AI marketing trends',
		description:
			'The search query. It is trimmed, lower-cased and its spaces collapsed, then hashed (SHA-256) into the key search:{hash}.',
		displayOptions: { show: { resource: ['search'] } },
	},
	{
		displayName: 'Results',
		name: 'results',
		type: 'json',
		required: true,
		default: '[\n  {\n    "title": "...",\n    "url": "https://..."\n  }\n]',
		description: 'The results to cache, as JSON (usually a list)',
		displayOptions: show(['cacheResults']),
	},
	ttlField(show(['cacheResults']), 3600, 'Seconds until the cached results expire (default one hour); every cache entry has a TTL'),
	writeOptions(show(['cacheResults']), 'results'),
];
