/**
 * Runs a two-node workflow (fixed items -> node under test) through n8n-core's real
 * WorkflowExecute, like test/helpers/n8n.ts, but built once and executed many times: the
 * timed part is what n8n does per execution (expression evaluation, getNodeParameter,
 * pairedItem, run data), not the test harness's JSON parsing and workflow construction.
 */
import { WorkflowExecute } from 'n8n-core';
import {
	NodeConnectionTypes,
	Workflow,
	type ICredentialDataDecryptedObject,
	type IConnections,
	type IDataObject,
	type INode,
	type INodeExecutionData,
	type INodeType,
} from 'n8n-workflow';

import { additionalData, itemSourceDescription, manualRunHooks, releaseEngineTimers, startingAt, StaticCredentialsHelper, StaticNodeTypes } from '../../harness/n8n-engine';
import { BuiltinStyleRedis } from '../baselines/builtin-style-node';
import { loadMarketingRedis } from './nodes';

export const OUR_NODE = 'n8n-nodes-marketing-redis.marketingRedis';
export const BASELINE_NODE = 'bench.builtinStyleRedis';

/** Emits prebuilt items: the stand-in for whatever produced the items upstream. */
class FixedItems implements INodeType {
	description = itemSourceDescription('fixedItems', 'Fixed Items');

	/** n8n calls execute() with its own `this`, so the items live in a closure. */
	execute: () => Promise<INodeExecutionData[][]>;

	constructor(items: INodeExecutionData[]) {
		this.execute = async () => [items];
	}
}

let timersReleased = false;

const MarketingRedis = loadMarketingRedis();
const ourNode = new MarketingRedis();
const baselineNode = new BuiltinStyleRedis();

export interface WorkflowSpec {
	nodeType: typeof OUR_NODE | typeof BASELINE_NODE;
	parameters: Record<string, unknown>;
	items: IDataObject[];
	credentials: ICredentialDataDecryptedObject;
}

export interface ExecutionResult {
	outputs: INodeExecutionData[][];
	error?: Error;
}

/** A workflow built once; run() executes it through WorkflowExecute and returns the node's outputs. */
export class BenchWorkflow {
	private readonly workflow: Workflow;

	private readonly nodes: INode[];

	private readonly connections: IConnections;

	private readonly credentialsHelper: StaticCredentialsHelper;

	constructor(spec: WorkflowSpec) {
		const items = spec.items.map((json, item) => ({ json, pairedItem: { item } }));
		this.nodes = [
			{ id: 'items', name: 'Items', type: 'fixedItems', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'target',
				name: 'Target',
				type: spec.nodeType,
				typeVersion: 1,
				position: [200, 0],
				parameters: spec.parameters as INode['parameters'],
				credentials: { marketingRedisApi: { id: 'bench-credential', name: 'Bench Redis' } },
			},
		];
		this.connections = { Items: { main: [[{ node: 'Target', type: NodeConnectionTypes.Main, index: 0 }]] } };
		this.workflow = new Workflow({
			id: 'bench-workflow',
			nodes: this.nodes,
			connections: this.connections,
			nodeTypes: new StaticNodeTypes({ fixedItems: new FixedItems(items), [OUR_NODE]: ourNode, [BASELINE_NODE]: baselineNode }),
			active: false,
			settings: {},
		});
		this.credentialsHelper = new StaticCredentialsHelper({ 'bench-credential': spec.credentials });
	}

	async run(): Promise<ExecutionResult> {
		const { hooks, finished } = manualRunHooks('bench-execution', {
			id: 'bench-workflow',
			name: 'bench',
			nodes: this.nodes,
			connections: this.connections,
		});
		const data = additionalData(this.credentialsHelper, hooks, 'bench-execution');
		const runExecutionData = startingAt(this.workflow.getNode('Items')!);
		const execute = new WorkflowExecute(data, 'manual', runExecutionData);
		await execute.processRunExecutionData(this.workflow);
		if (!timersReleased) {
			// n8n-core's SSH sweeper interval starts with the first node context.
			releaseEngineTimers();
			timersReleased = true;
		}
		const run = await finished;
		const task = run.data.resultData.runData.Target?.[0];
		return {
			outputs: (task?.data?.main ?? []).map((out) => out ?? []),
			error: (task?.error ?? run.data.resultData.error) as Error | undefined,
		};
	}

	/** Runs once and throws unless the node produced `expected` items without error. */
	async runChecked(expected: number): Promise<INodeExecutionData[][]> {
		const result = await this.run();
		if (result.error) throw new Error(`execution failed: ${result.error.message}\n${result.error.stack ?? ""}`);
		const count = result.outputs.reduce((n, out) => n + out.length, 0);
		if (count !== expected) throw new Error(`execution returned ${count} items, expected ${expected}`);
		return result.outputs;
	}
}
