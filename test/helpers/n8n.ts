/**
 * Runs our nodes through n8n-core's real execution engine, in-process: a workflow built in
 * the test, run by WorkflowExecute with a small node-types registry and a credentials
 * helper. Expressions, continueOnFail and pairedItem therefore behave as they do in n8n.
 */
import { Container } from '@n8n/di';
import { ExecutionLifecycleHooks, WorkflowExecute } from 'n8n-core';
import { SSHClientsManager } from 'n8n-core/dist/execution-engine/ssh-clients-manager';
import {
	createDeferredPromise,
	createRunExecutionData,
	ICredentialsHelper,
	NodeConnectionTypes,
	Workflow,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type IExecuteFunctions,
	type INode,
	type INodeExecutionData,
	type INodeType,
	type INodeTypes,
	type IRun,
	type IRunExecutionData,
	type IVersionedNodeType,
	type IWorkflowExecuteAdditionalData,
	type IConnections,
} from 'n8n-workflow';

import { MarketingRedis } from '../../nodes/MarketingRedis/MarketingRedis.node';
import { MarketingRedisApi } from '../../credentials/MarketingRedisApi.credentials';
import { testCredentials } from './redis';

/** Emits the items given in its `items` parameter: the test's stand-in for upstream nodes. */
class TestItems implements INodeType {
	description = {
		displayName: 'Test Items',
		name: 'testItems',
		group: ['input'] as Array<'input'>,
		version: 1,
		description: 'Emits fixed items',
		defaults: { name: 'Items' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		properties: [{ displayName: 'Items', name: 'items', type: 'json' as const, default: '[]' }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const raw = this.getNodeParameter('items', 0) as string | IDataObject[];
		const items = (typeof raw === 'string' ? JSON.parse(raw) : raw) as IDataObject[];
		return [items.map((json, item) => ({ json, pairedItem: { item } }))];
	}
}

// n8n-core starts an SSH-tunnel sweeper interval the first time a node runs; in n8n the
// shutdown hook stops it, here the test file's end does, so jest can exit.
afterAll(() => {
	if (Container.has(SSHClientsManager)) Container.get(SSHClientsManager).onShutdown();
});

export const NODE_TYPE = 'n8n-nodes-marketing-redis.marketingRedis';

const registry: Record<string, INodeType> = {
	testItems: new TestItems(),
	[NODE_TYPE]: new MarketingRedis(),
};

export function registerNodeType(name: string, nodeType: INodeType): void {
	registry[name] = nodeType;
}

class TestNodeTypes implements INodeTypes {
	getByName(nodeType: string): INodeType | IVersionedNodeType {
		return this.getByNameAndVersion(nodeType);
	}

	getByNameAndVersion(nodeType: string): INodeType {
		const found = registry[nodeType];
		if (!found) throw new Error(`Unknown node type ${nodeType}`);
		return found;
	}

	getKnownTypes() {
		return {};
	}
}

const credentialType = new MarketingRedisApi();

class TestCredentialsHelper extends ICredentialsHelper {
	constructor(private readonly data: Record<string, ICredentialDataDecryptedObject>) {
		super();
	}

	getParentTypes(): string[] {
		return [];
	}

	async authenticate(_c: ICredentialDataDecryptedObject, _t: string, requestOptions: never) {
		return requestOptions;
	}

	async preAuthentication() {
		return undefined;
	}

	async getCredentials(): Promise<never> {
		throw new Error('not used by these tests');
	}

	async getDecrypted(_a: unknown, nodeCredentials: { id: string | null }, type: string) {
		const found = this.data[nodeCredentials.id ?? type] ?? this.data[type];
		if (!found) throw new Error(`No test credential for ${type}`);
		return found;
	}

	async updateCredentials() {}

	async updateCredentialsOauthTokenData() {}

	getCredentialsProperties() {
		return credentialType.properties;
	}
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
		nodeTypes: new TestNodeTypes(),
		active: false,
		settings: {},
	});
	const hooks = new ExecutionLifecycleHooks('manual', 'test-execution', {
		id: 'test-workflow',
		name: 'test',
		active: false,
		nodes,
		connections,
		settings: {},
		createdAt: new Date(),
		updatedAt: new Date(),
		isArchived: false,
		activeVersionId: null,
	} as never);
	const done = createDeferredPromise<IRun>();
	hooks.addHandler('workflowExecuteAfter', (fullRunData) => done.resolve(fullRunData));
	const additionalData = {
		hooks,
		credentialsHelper: new TestCredentialsHelper({
			[credentialId]: options.credentials ?? (testCredentials() as ICredentialDataDecryptedObject),
		}),
		executionId: 'test-execution',
		restApiUrl: 'http://localhost',
		instanceBaseUrl: 'http://localhost',
		formWaitingBaseUrl: 'http://localhost',
		webhookBaseUrl: 'http://localhost',
		webhookWaitingBaseUrl: 'http://localhost',
		webhookTestBaseUrl: 'http://localhost',
		currentNodeParameters: undefined,
		executionTimeoutTimestamp: undefined,
		userId: 'test-user',
		variables: {},
		setExecutionStatus: () => undefined,
		sendDataToUI: () => undefined,
		logAiEvent: () => undefined,
		startRunnerTask: async () => {
			throw new Error('no task runner in tests');
		},
		executeWorkflow: async () => {
			throw new Error('sub-workflows are not used in these tests');
		},
		getRunExecutionData: async () => undefined,
	} as unknown as IWorkflowExecuteAdditionalData;
	const runExecutionData: IRunExecutionData = createRunExecutionData({
		executionData: {
			nodeExecutionStack: [{ node: workflow.getNode('Items')!, data: { main: [[{ json: {} }]] }, source: null }],
		},
	});
	const execute = new WorkflowExecute(additionalData, 'manual', runExecutionData);
	await execute.processRunExecutionData(workflow);
	const run = await done.promise;
	const taskData = run.data.resultData.runData.Target?.[0];
	const items = (taskData?.data?.main ?? []).map((out) => out ?? []);
	return {
		outputs: items.map((out) => out.map((item) => item.json)),
		items,
		error: (taskData?.error ?? run.data.resultData.error) as RunNodeResult['error'],
		run,
	};
}
