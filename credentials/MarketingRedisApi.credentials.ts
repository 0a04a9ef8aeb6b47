import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

const dbField = (displayName: string, name: string, def: number, description: string): INodeProperties => ({
	displayName,
	name,
	type: 'number',
	typeOptions: { minValue: 0, numberPrecision: 0 },
	default: def,
	description,
	displayOptions: { hide: { mode: ['cluster'] } },
});

export class MarketingRedisApi implements ICredentialType {
	name = 'marketingRedisApi';

	displayName = 'Marketing Redis API';

	icon: Icon = { light: 'file:../nodes/MarketingRedis/marketingRedis.svg', dark: 'file:../nodes/MarketingRedis/marketingRedis.dark.svg' };

	// Opened as given (n8n adds its tracking query only to docs.n8n.io links), so it may name a heading;
	// test/foundation/docs-links.test.ts checks the anchor against that file's headings.
	documentationUrl = 'https://github.com/marketing-platform/n8n-nodes-marketing-redis/blob/main/docs/CREDENTIALS.md#credentials-marketing-redis-api';

	// Tested by the nodes' `marketingRedisConnectionTest` (a TCP Redis check cannot be an HTTP request).
	properties: INodeProperties[] = [
		{
			displayName: 'Connection Mode',
			name: 'mode',
			type: 'options',
			options: [
				{ name: 'Standalone', value: 'standalone', description: 'One Redis server' },
				{ name: 'Sentinel', value: 'sentinel', description: 'A Sentinel group with automatic failover' },
				{ name: 'Cluster', value: 'cluster', description: 'Redis Cluster (sharded, DB 0 only)' },
			],
			default: 'standalone',
		},
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: 'localhost',
			displayOptions: { show: { mode: ['standalone'] } },
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 6379,
			displayOptions: { show: { mode: ['standalone'] } },
		},
		{
			displayName: 'Sentinels',
			name: 'sentinels',
			type: 'string',
			default: '',
			placeholder: '10.0.0.5:26379, 10.0.0.6:26379, 10.0.0.7:26379',
			description: 'Comma-separated host:port pairs of the Sentinel processes',
			displayOptions: { show: { mode: ['sentinel'] } },
		},
		{
			displayName: 'Master Name',
			name: 'masterName',
			type: 'string',
			default: 'mymaster',
			description: 'The name the Sentinels monitor the master under',
			displayOptions: { show: { mode: ['sentinel'] } },
		},
		{
			displayName: 'Sentinel Password',
			name: 'sentinelPassword',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Password of the Sentinel processes, if they require one',
			displayOptions: { show: { mode: ['sentinel'] } },
		},
		{
			displayName: 'Cluster Nodes',
			name: 'clusterNodes',
			type: 'string',
			default: '',
			placeholder: '10.0.0.5:7000, 10.0.0.6:7000, 10.0.0.7:7000',
			description: 'Comma-separated host:port seed nodes of the cluster',
			displayOptions: { show: { mode: ['cluster'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			description: 'ACL username (Redis 6+). Leave empty to use the default user.',
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: "The platform's REDIS_PASSWORD",
		},
		{
			displayName: 'TLS',
			name: 'tls',
			type: 'boolean',
			default: false,
			description: 'Whether to connect over TLS',
		},
		{
			displayName: 'CA Certificate',
			name: 'tlsCa',
			type: 'string',
			typeOptions: { rows: 4 },
			default: '',
			placeholder: '-----BEGIN CERTIFICATE-----',
			description: 'PEM CA certificate that signed the server certificate. Empty means the system trust store.',
			displayOptions: { show: { tls: [true] } },
		},
		{
			displayName: 'Skip Certificate Verification',
			name: 'tlsSkipVerify',
			type: 'boolean',
			default: false,
			description: 'Whether to accept any server certificate. Only for self-signed test servers: it allows man-in-the-middle attacks.',
			displayOptions: { show: { tls: [true] } },
		},
		{
			displayName:
				'Cluster has only DB 0: the DB mapping below is ignored and roles are kept apart by their key prefixes (session:, conversation:, message_store:, content:, search:, api:, queue:, ratelimit:, lock:, stream:)',
			name: 'clusterNotice',
			type: 'notice',
			default: '',
			displayOptions: { show: { mode: ['cluster'] } },
		},
		dbField('Sessions and Conversations DB', 'sessionDb', 0, 'DB for session:{id} and conversation keys'),
		dbField('Content Cache DB', 'contentDb', 1, 'DB for content:{id} keys'),
		dbField('API and Search Cache DB', 'cacheDb', 2, 'DB for search: and api: cache keys'),
		dbField('Job Queue DB', 'queueDb', 3, 'DB for queue: keys and the Celery queue'),
		dbField('Rate Limit DB', 'rateLimitDb', 4, 'DB for ratelimit: counters'),
		dbField('Default DB (Locks, Leaderboards)', 'defaultDb', 0, 'DB for lock: keys and leaderboards'),
		{
			...dbField('Celery Result DB', 'celeryResultDb', -1, "DB of Celery's Redis result backend (celery-task-meta-* keys); -1 means the Job Queue DB"),
			typeOptions: { minValue: -1, numberPrecision: 0 },
		},
		{
			displayName: 'Key Prefix',
			name: 'keyPrefix',
			type: 'string',
			default: '',
			placeholder: 'staging:',
			description: 'Optional prefix for every key, to keep one tenant or environment apart on a shared Redis',
		},
		{
			displayName: 'Connect Timeout (Seconds)',
			name: 'connectTimeout',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 60 },
			default: 5,
		},
	];
}
