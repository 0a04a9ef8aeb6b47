import type { INodeProperties } from 'n8n-workflow';

const show = (operation: string[]) => ({ show: { resource: ['update'], operation } });

export const updateProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['update'] } },
		options: [
			{
				name: 'Publish',
				value: 'publish',
				action: 'Publish a content update',
				description:
					'Announce a change (for example a draft approved) to dashboards and agents listening on a channel; the output says how many subscribers received it',
			},
		],
		default: 'publish',
	},
	{
		displayName: 'Channel',
		name: 'channel',
		type: 'string',
		required: true,
		default: 'content_updates',
		description:
			'Pub/sub channel to publish on; the Streamlit dashboard listens on content_updates. Channels are not keys: the credential key prefix does not apply.',
		displayOptions: show(['publish']),
	},
	{
		displayName: 'Message',
		name: 'message',
		type: 'json',
		required: true,
		default: '{\n  "draft_id": 123,\n  "status": "approved"\n}',
		description: 'The update, as JSON; subscribers receive it as a JSON string',
		displayOptions: show(['publish']),
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(['publish']),
		options: [
			{
				displayName: 'Also Append to Stream (Durable)',
				name: 'durable',
				type: 'boolean',
				default: false,
				description:
					'Whether to also add the update to a capped stream (stream:{channel}), so a Marketing Redis Trigger in durable mode gets it even if it was not listening at that moment',
			},
			{
				displayName: 'Stream Max Length',
				name: 'streamMaxLength',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 10000,
				description: 'Keep about this many of the newest updates in the stream (MAXLEN ~)',
			},
			{
				displayName: 'Max Value Size (Bytes)',
				name: 'maxValueBytes',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 1048576,
				description: 'Reject messages larger than this, before anything is published',
			},
		],
	},
];
