import type { INodeProperties } from 'n8n-workflow';

import { writeOptions } from '../../../shared/fields';

const show = (operation: string[], extra: Record<string, unknown[]> = {}) => ({
	show: { resource: ['conversation'], operation, ...extra },
});
const forFormat = (format: string) => ({ show: { resource: ['conversation'], format: [format] } });

export const conversationProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['conversation'] } },
		options: [
			{
				name: 'Append Messages',
				value: 'append',
				action: 'Append messages to a conversation',
				description:
					"Add one or more messages to an agent's conversation history, keeping only the newest ones and refreshing its TTL",
			},
			{
				name: 'Get History',
				value: 'getHistory',
				action: 'Get conversation history',
				description:
					"Read an agent's conversation history, oldest message first: all of it, or only the last N messages",
			},
			{
				name: 'Clear',
				value: 'clear',
				action: 'Clear a conversation',
				description: "Delete an agent's whole conversation history",
			},
		],
		default: 'append',
	},
	{
		displayName: 'Format',
		name: 'format',
		type: 'options',
		options: [
			{
				name: 'Platform',
				value: 'platform',
				description: 'Key conversation:{campaign}:{agent}; each message a JSON object as given, oldest first in the list',
			},
			{
				name: 'LangChain',
				value: 'langchain',
				description:
					'Key message_store:{session}; messages as {"type","data":{"content"}}, newest first, as LangChain RedisChatMessageHistory and n8n Redis Chat Memory store them',
			},
		],
		default: 'platform',
		description: 'How the history is laid out in Redis, which decides who else can read it',
		displayOptions: { show: { resource: ['conversation'] } },
	},
	{
		displayName: 'Campaign',
		name: 'campaign',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'campaign_1',
		description: 'Campaign the conversation belongs to',
		displayOptions: forFormat('platform'),
	},
	{
		displayName: 'Agent',
		name: 'agent',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'research_agent',
		description: 'Agent whose conversation this is',
		displayOptions: forFormat('platform'),
	},
	{
		displayName: 'Session ID',
		name: 'sessionId',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'chat_42',
		description: 'The LangChain session ID (n8n Redis Chat Memory: its Session Key)',
		displayOptions: forFormat('langchain'),
	},
	{
		displayName: 'Key Prefix',
		name: 'langchainKeyPrefix',
		type: 'string',
		default: 'message_store:',
		description:
			"Put before the session ID to form the key. LangChain's RedisChatMessageHistory uses message_store:. n8n's Redis Chat Memory uses the session key as it is, so clear this field to share its history.",
		displayOptions: forFormat('langchain'),
	},
	{
		displayName: 'Messages',
		name: 'messages',
		type: 'json',
		required: true,
		default: '[\n  { "role": "user", "content": "Find three AI marketing trends" },\n  { "role": "assistant", "content": "..." }\n]',
		description:
			'One message object or a list, oldest first. LangChain format needs a role (user, assistant, system) or type (human, ai, system) and a content.',
		displayOptions: show(['append']),
	},
	{
		displayName: 'Max Messages',
		name: 'maxLength',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 100,
		description: 'Keep only this many of the newest messages after appending (0 = keep all)',
		displayOptions: show(['append']),
	},
	{
		displayName: 'TTL (Seconds)',
		name: 'ttl',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 604800,
		description:
			'Seconds until the whole history expires, renewed on every append (default 7 days; 0 leaves the current expiry unchanged, so a new history never expires)',
		displayOptions: show(['append']),
	},
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: false,
		description: 'Whether to return all results or only up to a given limit',
		displayOptions: show(['getHistory']),
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
		displayOptions: show(['getHistory'], { returnAll: [false] }),
	},
	writeOptions(show(['append']), 'an item whose messages together are'),
];
