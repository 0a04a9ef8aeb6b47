import type { IExecuteFunctions, INodeExecutionData, INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { marketingRedisConnectionTest } from '../shared/connection-test';
import { runPipelined, runSequential } from '../shared/batch';
import { operationEnv } from './environment';
import { RESOURCES } from './resources';
import { NodeConnectionTypes, NodeOperationError } from '../shared/n8n';
import { lookupSubtitle } from '../shared/subtitle';

const resourceSelector: INodeProperties = {
	displayName: 'Resource',
	name: 'resource',
	type: 'options',
	noDataExpression: true,
	options: RESOURCES.map((r) => ({ name: r.name, value: r.value, description: r.description })),
	default: RESOURCES[0].value,
};

/** The routing option of Rate Limit > Check decides whether the node has two outputs. */
const OUTPUTS_EXPRESSION =
	'={{ $parameter.resource === "rateLimit" && $parameter.operation === "check" && $parameter.routeOutputs === true ? [{ "type": "main", "displayName": "Allowed" }, { "type": "main", "displayName": "Limited" }] : ["main"] }}';

export class MarketingRedis implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Marketing Redis',
		name: 'marketingRedis',
		icon: { light: 'file:marketingRedis.svg', dark: 'file:marketingRedis.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: lookupSubtitle(
			['resource', 'operation'],
			Object.fromEntries(RESOURCES.map((r) => [r.value, Object.fromEntries(Object.entries(r.operations).map(([op, o]) => [op, o.action]))])),
		),
		documentationUrl: 'https://github.com/marketing-platform/n8n-nodes-marketing-redis/blob/main/docs/RESOURCES.md#resources-and-operations',
		description:
			"Sessions, caches, job queue, rate limits, locks, leaderboards, agent memory and updates on the marketing platform's Redis",
		defaults: { name: 'Marketing Redis' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: OUTPUTS_EXPRESSION,
		credentials: [{ name: 'marketingRedisApi', required: true, testedBy: 'marketingRedisConnectionTest' }],
		properties: [resourceSelector, ...RESOURCES.flatMap((r) => r.properties)],
	};

	methods = {
		credentialTest: { marketingRedisConnectionTest },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const resource = this.getNodeParameter('resource', 0) as string;
		const operation = this.getNodeParameter('operation', 0) as string;
		const op = RESOURCES.find((r) => r.value === resource)?.operations[operation];
		if (!op) {
			throw new NodeOperationError(this.getNode(), `Unknown operation "${operation}" of resource "${resource}"`);
		}
		// getNodeOutputs() runs OUTPUTS_EXPRESSION through n8n's expression engine, about a fifth
		// of a single-item execution (see BENCHMARKS.md). That expression gives two outputs only for
		// Rate Limit > Check with the raw routeOutputs parameter true, so ask it only then.
		const mayRoute =
			resource === 'rateLimit' &&
			operation === 'check' &&
			this.getNodeParameter('routeOutputs', 0, false, { rawExpressions: true }) === true;
		const outputs = mayRoute ? Math.max(1, this.getNodeOutputs().length) : 1;
		let env;
		try {
			env = await operationEnv(this);
		} catch (error) {
			throw new NodeOperationError(this.getNode(), `The Marketing Redis credential is invalid: ${(error as Error).message}`);
		}
		try {
			return op.kind === 'pipelined' ? await runPipelined(this, op, env, outputs) : await runSequential(this, op, env, outputs);
		} finally {
			// A waiting operation's SUBSCRIBE connection lives exactly as long as this run.
			await env.finish();
		}
	}
}
