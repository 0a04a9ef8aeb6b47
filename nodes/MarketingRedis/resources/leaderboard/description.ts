import type { INodeProperties } from 'n8n-workflow';

const show = (operation: string[]) => ({ show: { resource: ['leaderboard'], operation } });

const orderOption: INodeProperties = {
	displayName: 'Order',
	name: 'order',
	type: 'options',
	options: [
		{ name: 'Highest Score First', value: 'desc' },
		{ name: 'Lowest Score First', value: 'asc' },
	],
	default: 'desc',
	description: 'Which end of the leaderboard is rank 1',
};

export const leaderboardProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['leaderboard'] } },
		options: [
			{
				name: 'Add or Increment Score',
				value: 'add',
				action: 'Add or increment a leaderboard score',
				description:
					'Set the score of a member (for example the engagement score of post_123 in top_content), or add to it',
			},
			{
				name: 'Top N',
				value: 'top',
				action: 'Get the top entries of a leaderboard',
				description: 'Read the N best members with their scores, for example the 10 most engaging posts',
			},
			{
				name: 'Rank and Score',
				value: 'rank',
				action: 'Get the rank and score of a member',
				description: 'Find where one member stands (rank 1 = best) and its score',
			},
			{
				name: 'Remove',
				value: 'remove',
				action: 'Remove a member from a leaderboard',
				description: 'Take a member off the leaderboard, for example a deleted post',
			},
		],
		default: 'add',
	},
	{
		displayName: 'Leaderboard',
		name: 'leaderboard',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'top_content',
		description: 'Name of the leaderboard; it is used as the Redis key as it is (plus the credential\'s key prefix)',
		displayOptions: { show: { resource: ['leaderboard'] } },
	},
	{
		displayName: 'Member',
		name: 'member',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'post_123',
		description: 'The entry on the leaderboard, for example a post or user ID',
		displayOptions: show(['add', 'rank', 'remove']),
	},
	{
		displayName: 'Score',
		name: 'score',
		type: 'number',
		typeOptions: { numberPrecision: 4 },
		required: true,
		default: 0,
		description: 'The score to set, or the amount to add (negative to subtract) when incrementing',
		displayOptions: show(['add']),
	},
	{
		displayName: 'Mode',
		name: 'scoreMode',
		type: 'options',
		options: [
			{ name: 'Set Score', value: 'set', description: 'Replace the score (ZADD)' },
			{ name: 'Increment Score', value: 'increment', description: 'Add to the current score; a new member starts at 0 (ZINCRBY)' },
		],
		default: 'set',
		displayOptions: show(['add']),
	},
	{
		displayName: 'Count',
		name: 'topN',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		default: 10,
		description: 'How many entries to return',
		displayOptions: show(['top']),
	},
	{
		displayName: 'Options',
		name: 'leaderboardOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(['add']),
		options: [
			{
				displayName: 'Only Update If',
				name: 'updateRule',
				type: 'options',
				options: [
					{ name: 'Always', value: 'always' },
					{ name: 'New Score Is Higher', value: 'gt', description: 'Keep a best score (ZADD GT)' },
					{ name: 'New Score Is Lower', value: 'lt', description: 'Keep a lowest score (ZADD LT)' },
				],
				default: 'always',
				description: 'With Set Score: when an existing score is replaced. New members are always added.',
			},
			{
				displayName: 'Expire After (Seconds)',
				name: 'expireSeconds',
				type: 'number',
				typeOptions: { minValue: 0, numberPrecision: 0 },
				default: 0,
				description:
					'Give the whole leaderboard a time to live, for example for a weekly board; 0 keeps it until deleted',
			},
		],
	},
	{
		displayName: 'Options',
		name: 'leaderboardReadOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(['top', 'rank']),
		options: [
			orderOption,
			{
				displayName: 'One Item per Entry',
				name: 'splitEntries',
				type: 'boolean',
				default: false,
				description:
					'Whether Top N returns one item per entry instead of one item with an "entries" list (no items when the leaderboard is empty)',
			},
		],
	},
];
