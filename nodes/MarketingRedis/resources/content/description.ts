import type { INodeProperties } from 'n8n-workflow';

import { ttlField, writeOptions } from '../../../shared/fields';

const show = (operation: string[], extra: Record<string, string[]> = {}) => ({
	show: { resource: ['content'], operation, ...extra },
});

export const contentProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['content'] } },
		options: [
			{
				name: 'Cache',
				value: 'cache',
				action: 'Cache content',
				description:
					'Store a draft, SEO result or other generated content (text or JSON) under its ID with a TTL (key content:{ID})',
			},
			{
				name: 'Get',
				value: 'get',
				action: 'Get cached content',
				description:
					'Read cached content by ID; "hit" is true when it was found, false on a miss (never stored or expired)',
			},
			{
				name: 'Delete',
				value: 'delete',
				action: 'Delete cached content',
				description: 'Remove cached content by ID, for example after it was published or changed',
			},
		],
		default: 'cache',
	},
	{
		displayName: 'Content ID',
		name: 'contentId',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'draft_456',
		description: 'ID of the content; the key is content:{ID}',
		displayOptions: { show: { resource: ['content'] } },
	},
	{
		displayName: 'Value Type',
		name: 'valueType',
		type: 'options',
		options: [
			{ name: 'Text', value: 'text', description: 'Stored as the raw UTF-8 text, as redis_manager.cache_content does' },
			{ name: 'JSON', value: 'json', description: 'Stored as a JSON string' },
		],
		default: 'text',
		description: 'Whether the content is plain text or a JSON value',
		displayOptions: show(['cache']),
	},
	{
		displayName: 'Text',
		name: 'text',
		type: 'string',
		typeOptions: { rows: 4 },
		required: true,
		default: '',
		placeholder: 'Blog post content here',
		description: 'The content to cache, stored exactly as given',
		displayOptions: show(['cache'], { valueType: ['text'] }),
	},
	{
		displayName: 'JSON',
		name: 'json',
		type: 'json',
		required: true,
		default: '{\n  "title": "AI marketing trends",\n  "body": "..."\n}',
		description: 'The content to cache, as JSON',
		displayOptions: show(['cache'], { valueType: ['json'] }),
	},
	ttlField(show(['cache']), 86400, 'Seconds until the cached content expires (default one day); every cache entry has a TTL'),
	writeOptions(show(['cache']), 'content'),
	{
		displayName: 'Options',
		name: 'getOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(['get']),
		options: [
			{
				displayName: 'Read As',
				name: 'readAs',
				type: 'options',
				options: [
					{ name: 'Auto', value: 'auto', description: 'JSON when the stored text is valid JSON, otherwise text' },
					{ name: 'Text', value: 'text', description: 'Always the raw stored text' },
					{ name: 'JSON', value: 'json', description: 'Parse as JSON; an item whose value is not JSON fails' },
				],
				default: 'auto',
				description: 'How to return the stored value',
			},
		],
	},
];
