/**
 * Runs our nodes through n8n-core's real execution engine, in-process: a workflow built in
 * the test, run by WorkflowExecute with a small node-types registry and a credentials
 * helper. Expressions, continueOnFail and pairedItem therefore behave as they do in n8n.
 */
import { WorkflowExecute } from 'n8n-core';
import {
	NodeConnectionTypes,
	Workflow,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type IExecuteFunctions,
	type INode,
	type INodeExecutionData,
	type INodeType,
	type IRun,
	type IConnections,
} from 'n8n-workflow';

import { MarketingRedis } from '../../nodes/MarketingRedis/MarketingRedis.node';
import { additionalData, itemSourceDescription, manualRunHooks, releaseEngineTimers, startingAt, StaticCredentialsHelper, StaticNodeTypes } from '../../harness/n8n-engine';
import { testCredentials } from './redis';

/** Emits the items given in its `items` parameter: the test's stand-in for upstream nodes. */
class TestItems implements INodeType {
	description = itemSourceDescription('testItems', 'Test Items', [{ displayName: 'Items', name: 'items', type: 'json', default: '[]' }]);

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const raw = this.getNodeParameter('items', 0) as string | IDataObject[];
		const items = (typeof raw === 'string' ? JSON.parse(raw) : raw) as IDataObject[];
		return [items.map((json, item) => ({ json, pairedItem: { item } }))];
	}
}

// Engine timers must not keep jest alive after the file's tests.
afterAll(releaseEngineTimers);

export const NODE_TYPE = 'n8n-nodes-marketing-redis.marketingRedis';

const registry: Record<string, INodeType> = {
	testItems: new TestItems(),
	[NODE_TYPE]: new MarketingRedis(),
};

export function registerNodeType(name: string, nodeType: INodeType): void {
	registry[name] = nodeType;
}

export interface RunNodeOptions {
	/** Parameters of the node under test (resource, operation, fields; "={{ }}" for expressions). */
	parameters: Record<string, unknown>;
	/** Input items. */
	items?: IDataObject[];
	/** Credential data; defaults to the test server. */
	credentials?: ICredentialDataDecryptedObject;
	/** Credential id, to exercise per-credential client caching. */
	credentialId?: string;
	continueOnFail?: boolean;
	nodeType?: string;
	/** Gets the run's cancel (what n8n's Stop button calls) as soon as the run starts. */
	onStart?: (cancel: () => void) => void;
}

export interface RunNodeResult {
	/** The node's outputs: one array of json per output. */
	outputs: IDataObject[][];
	/** Full items, with pairedItem. */
	items: INodeExecutionData[][];
	/** Set when the node failed (no continueOnFail). */
	error?: Error & { description?: string };
	run: IRun;
}

/** Runs `Items -> node under test` once and returns the node's outputs or error. */
export async function runNode(options: RunNodeOptions): Promise<RunNodeResult> {
	const nodeType = options.nodeType ?? NODE_TYPE;
	const credentialId = options.credentialId ?? 'cred-test';
	const nodes: INode[] = [
		{
			id: 'items',
			name: 'Items',
			type: 'testItems',
			typeVersion: 1,
			position: [0, 0],
			parameters: { items: JSON.stringify(options.items ?? [{}]) },
		},
		{
			id: 'target',
			name: 'Target',
			type: nodeType,
			typeVersion: 1,
			position: [200, 0],
			parameters: options.parameters as INode['parameters'],
			credentials: { marketingRedisApi: { id: credentialId, name: 'Test Redis' } },
			continueOnFail: options.continueOnFail ?? false,
			onError: options.continueOnFail ? 'continueRegularOutput' : 'stopWorkflow',
		},
	];
	const connections: IConnections = {
		Items: { main: [[{ node: 'Target', type: NodeConnectionTypes.Main, index: 0 }]] },
	};
	const workflow = new Workflow({
		id: 'test-workflow',
		nodes,
		connections,
		nodeTypes: new StaticNodeTypes(registry),
		active: false,
		settings: {},
	});
	const { hooks, finished } = manualRunHooks('test-execution', { id: 'test-workflow', name: 'test', nodes, connections });
	const credentialsHelper = new StaticCredentialsHelper({
		[credentialId]: options.credentials ?? testCredentials(),
	});
	const runExecutionData = startingAt(workflow.getNode('Items')!);
	const execute = new WorkflowExecute(additionalData(credentialsHelper, hooks, 'test-execution'), 'manual', runExecutionData);
	const running = execute.processRunExecutionData(workflow);
	options.onStart?.(() => running.cancel());
	await running.catch((error: unknown) => {
		if (!running.isCanceled) throw error;
	});
	const run = await finished;
	const taskData = run.data.resultData.runData.Target?.[0];
	const items = (taskData?.data?.main ?? []).map((out) => out ?? []);
	return {
		outputs: items.map((out) => out.map((item) => item.json)),
		items,
		error: (taskData?.error ?? run.data.resultData.error) as RunNodeResult['error'],
		run,
	};
}
