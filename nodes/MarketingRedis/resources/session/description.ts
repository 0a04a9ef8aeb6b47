import type { INodeProperties } from 'n8n-workflow';

import { ttlField, writeOptions } from '../../../shared/fields';

const show = (operation: string[]) => ({ show: { resource: ['session'], operation } });

export const sessionProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['session'] } },
		options: [
			{
				name: 'Set',
				value: 'set',
				action: 'Set a session',
				description: 'Store a JSON object as the session of a user or agent, with a TTL (key session:{ID})',
			},
			{
				name: 'Get',
				value: 'get',
				action: 'Get a session',
				description: 'Read the session of a user or agent; "found" is false when it does not exist or expired',
			},
			{
				name: 'Delete',
				value: 'delete',
				action: 'Delete a session',
				description: 'Remove the session of a user or agent (log out)',
			},
			{
				name: 'Refresh TTL',
				value: 'refresh',
				action: 'Refresh a session TTL',
				description: 'Keep a session alive: reset its time to live without changing its data',
			},
		],
		default: 'set',
	},
	{
		displayName: 'Session ID',
		name: 'sessionId',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'user_123',
		description: 'ID of the user or agent; the key is session:{ID}',
		displayOptions: { show: { resource: ['session'] } },
	},
	{
		displayName: 'Data',
		name: 'data',
		type: 'json',
		required: true,
		default: '{\n  "name": "John",\n  "role": "admin"\n}',
		description: 'The session as a JSON object',
		displayOptions: show(['set']),
	},
	ttlField(show(['set', 'refresh']), 3600, 'Seconds until the session expires'),
	writeOptions(show(['set']), 'sessions'),
];
