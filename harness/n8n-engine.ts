/**
 * The pieces of n8n's runtime that running our nodes in-process needs, shared by the action-node
 * runner (test/helpers/n8n.ts), the trigger runner (test/helpers/trigger.ts) and the bench
 * (bench/lib/n8n-runner.ts): a node-types registry, a credentials helper that returns fixed
 * credential data, the additional data an execution carries, the lifecycle hooks of a manual
 * run, and the item-source node the workflows start from. Everything else (expressions,
 * contexts, WorkflowExecute) is n8n-core's own.
 */
import { Container } from '@n8n/di';
import { ExecutionLifecycleHooks } from 'n8n-core';
import {
	createDeferredPromise,
	createRunExecutionData,
	ICredentialsHelper,
	NodeConnectionTypes,
	type ICredentialDataDecryptedObject,
	type IConnections,
	type INode,
	type INodeProperties,
	type INodeType,
	type INodeTypeDescription,
	type INodeTypes,
	type IRun,
	type IRunExecutionData,
	type IVersionedNodeType,
	type IWorkflowExecuteAdditionalData,
} from 'n8n-workflow';

// Not exported by n8n-core's index; its cleanup interval would keep jest and the bench alive.
import { SSHClientsManager } from 'n8n-core/dist/execution-engine/ssh-clients-manager';

import { MarketingRedisApi } from '../credentials/MarketingRedisApi.credentials';

/** Node types by name, as n8n's registry resolves them (one version each). */
export class StaticNodeTypes implements INodeTypes {
	constructor(private readonly types: Record<string, INodeType>) {}

	getByName(name: string): INodeType | IVersionedNodeType {
		return this.getByNameAndVersion(name);
	}

	getByNameAndVersion(name: string): INodeType {
		const found = this.types[name];
		if (!found) throw new Error(`Unknown node type ${name}`);
		return found;
	}

	getKnownTypes() {
		return {};
	}
}

const credentialType = new MarketingRedisApi();

/** Resolves credentials by credential id (falling back to the type name) to fixed decrypted data. */
export class StaticCredentialsHelper extends ICredentialsHelper {
	constructor(private readonly byId: Record<string, ICredentialDataDecryptedObject>) {
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
		throw new Error('not used by in-process runs');
	}

	async getDecrypted(_a: unknown, nodeCredentials: { id: string | null }, type: string) {
		const found = this.byId[nodeCredentials.id ?? type] ?? this.byId[type];
		if (!found) throw new Error(`No credential data for ${type}`);
		return found;
	}

	async updateCredentials() {}

	async updateCredentialsOauthTokenData() {}

	getCredentialsProperties() {
		return credentialType.properties;
	}
}

/** The additional data n8n passes to an execution; only what our nodes and the engine read. */
export function additionalData(
	credentialsHelper: ICredentialsHelper,
	hooks?: ExecutionLifecycleHooks,
	executionId = 'in-process-execution',
): IWorkflowExecuteAdditionalData {
	return {
		hooks,
		credentialsHelper,
		executionId,
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
			throw new Error('no task runner in-process');
		},
		executeWorkflow: async () => {
			throw new Error('sub-workflows are not run in-process');
		},
		getRunExecutionData: async () => undefined,
	} as unknown as IWorkflowExecuteAdditionalData;
}

/**
 * The description of a node without inputs that emits items: the stand-in for whatever
 * produced the items upstream of the node under test.
 */
export function itemSourceDescription(name: string, displayName: string, properties: INodeProperties[] = []): INodeTypeDescription {
	return {
		displayName,
		name,
		group: ['input'],
		version: 1,
		description: 'Emits fixed items',
		defaults: { name: 'Items' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		properties,
	};
}

/** The description of a node between an input and an output that may use our credential. */
export function actionNodeDescription(spec: {
	name: string;
	displayName: string;
	description: string;
	/** The node's default name on the canvas. */
	defaultName: string;
	credentialRequired: boolean;
	properties: INodeProperties[];
}): INodeTypeDescription {
	return {
		displayName: spec.displayName,
		name: spec.name,
		group: ['transform'],
		version: 1,
		description: spec.description,
		defaults: { name: spec.defaultName },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'marketingRedisApi', required: spec.credentialRequired }],
		properties: spec.properties,
	};
}

/** The workflow fields a manual run's lifecycle hooks carry. */
export interface RunWorkflow {
	id: string;
	name: string;
	nodes: INode[];
	connections: IConnections;
}

/**
 * Lifecycle hooks for one manual (editor) run of an unsaved workflow, and the run they report
 * when it ends: WorkflowExecute resolves before the hooks have seen the whole run.
 */
export function manualRunHooks(executionId: string, workflow: RunWorkflow): { hooks: ExecutionLifecycleHooks; finished: Promise<IRun> } {
	const hooks = new ExecutionLifecycleHooks('manual', executionId, {
		...workflow,
		active: false,
		settings: {},
		createdAt: new Date(),
		updatedAt: new Date(),
		isArchived: false,
		activeVersionId: null,
	} as never);
	const done = createDeferredPromise<IRun>();
	hooks.addHandler('workflowExecuteAfter', (run) => done.resolve(run));
	return { hooks, finished: done.promise };
}

/** Run data that starts the execution at `node`, with one empty item, as the editor's run does. */
export function startingAt(node: INode): IRunExecutionData {
	return createRunExecutionData({
		executionData: { nodeExecutionStack: [{ node, data: { main: [[{ json: {} }]] }, source: null }] },
	});
}

/**
 * n8n-core starts an SSH-tunnel sweeper interval the first time a node context is made; in n8n
 * the shutdown hook stops it. Unref it so a test file or bench can exit.
 */
export function releaseEngineTimers(): void {
	if (!Container.has(SSHClientsManager)) return;
	const timer = (Container.get(SSHClientsManager) as unknown as { cleanupTimer?: NodeJS.Timeout }).cleanupTimer;
	timer?.unref();
}

// The sweeper is one per DI container, made on first use. Making it here, with the engine, and
// unreferencing it at once covers every context created later, also those created after a test
// file's own cleanup ran (a trigger's execution still finishing), which left a jest worker to be
// force-exited now and then.
Container.get(SSHClientsManager);
releaseEngineTimers();
