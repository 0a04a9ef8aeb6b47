/**
 * Baseline A: the same work done the way n8n's built-in Redis node does it
 * (packages/nodes-base/nodes/Redis in the n8n repository, read for its behaviour):
 * every execution creates a new client, connects (AUTH, SELECT), PINGs, then runs one
 * awaited command per item (SET followed by a separate EXPIRE when "Expire" is on; INCR
 * followed by EXPIRE; LPUSH for "Push"), and quits at the end.
 *
 * The built-in node uses the `redis` npm client; this baseline uses ioredis (already a
 * devDependency) with the same connect / await-per-command / quit pattern, so the
 * difference measured is the pattern, not the client library.
 */
import {
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { actionNodeDescription } from '../../harness/n8n-engine';
import { Redis } from '../../platform/redis-driver';

export class BuiltinStyleRedis implements INodeType {
	description: INodeTypeDescription = actionNodeDescription({
		name: 'builtinStyleRedis',
		displayName: 'Built-in-style Redis (bench baseline)',
		description: 'Connect per execution, one awaited command per item, quit',
		defaultName: 'Redis',
		credentialRequired: true,
		properties: [
			{ displayName: 'Operation', name: 'operation', type: 'string', default: 'set' },
			{ displayName: 'Database', name: 'database', type: 'number', default: 0 },
			{ displayName: 'Key', name: 'key', type: 'string', default: '' },
			{ displayName: 'Value', name: 'value', type: 'string', default: '' },
			{ displayName: 'Key Type', name: 'keyType', type: 'string', default: 'string' },
			{ displayName: 'Expire', name: 'expire', type: 'boolean', default: false },
			{ displayName: 'TTL', name: 'ttl', type: 'number', default: -1 },
			{ displayName: 'Property Name', name: 'propertyName', type: 'string', default: 'value' },
		],
	});

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const credentials = await this.getCredentials('marketingRedisApi');
		const client = new Redis({
			host: String(credentials.host),
			port: Number(credentials.port),
			username: credentials.user ? String(credentials.user) : undefined,
			password: credentials.password ? String(credentials.password) : undefined,
			db: this.getNodeParameter('database', 0) as number,
			lazyConnect: true,
			// node-redis sends no INFO ready check; neither do we, to be fair to the baseline.
			enableReadyCheck: false,
		});
		client.on('error', () => undefined);
		await client.connect();
		await client.ping();
		const operation = this.getNodeParameter('operation', 0) as string;
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		try {
			for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
				const key = this.getNodeParameter('key', itemIndex) as string;
				if (operation === 'set') {
					const value = this.getNodeParameter('value', itemIndex) as string;
					this.getNodeParameter('keyType', itemIndex);
					const expire = this.getNodeParameter('expire', itemIndex, false) as boolean;
					const ttl = this.getNodeParameter('ttl', itemIndex, -1) as number;
					await client.set(key, String(value));
					if (expire) await client.expire(key, ttl);
					out.push(items[itemIndex]);
				} else if (operation === 'get') {
					const propertyName = this.getNodeParameter('propertyName', itemIndex) as string;
					this.getNodeParameter('keyType', itemIndex);
					const value = (await client.get(key)) || null;
					out.push({ json: { [propertyName]: value } as IDataObject, pairedItem: { item: itemIndex } });
				} else if (operation === 'incr') {
					const expire = this.getNodeParameter('expire', itemIndex, false) as boolean;
					const ttl = this.getNodeParameter('ttl', itemIndex, -1) as number;
					const value = await client.incr(key);
					if (expire && ttl > 0) await client.expire(key, ttl);
					out.push({ json: { [key]: value }, pairedItem: { item: itemIndex } });
				} else if (operation === 'push') {
					const value = this.getNodeParameter('value', itemIndex) as string;
					await client.lpush(key, value);
					out.push(items[itemIndex]);
				} else {
					throw new Error(`unknown baseline operation ${operation}`);
				}
			}
		} finally {
			await client.quit().catch(() => client.disconnect());
		}
		return [out];
	}
}
