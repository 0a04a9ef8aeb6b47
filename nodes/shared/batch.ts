import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { ItemParams } from './params';
import { redisFailure } from './errors';
import { installScripts } from '../../platform/scripts';
import { firstKeyOf, keySlot } from '../../platform/cluster-slot';
import type { ChainableCommander, Cluster } from '../../platform/redis-driver';
import type { ItemResult, OperationEnv, PipelinedItem, PipelinedOperation, SequentialOperation } from './operation';

/** Items per pipeline chunk: bounds reply buffering while keeping the socket full. */
const CHUNK = 2000;

type Outcome = { index: number; result: ItemResult | null } | { index: number; error: Error };

function emit(out: INodeExecutionData[][], index: number, result: ItemResult | null): void {
	if (!result) return;
	const output = result.output ?? 0;
	const list = Array.isArray(result.json) ? result.json : [result.json];
	for (const json of list) out[output].push({ json, pairedItem: { item: index } });
}

function collect(
	ctx: IExecuteFunctions,
	outcomes: Outcome[],
	outputs: number,
): INodeExecutionData[][] {
	const out: INodeExecutionData[][] = Array.from({ length: outputs }, () => []);
	const continueOnFail = ctx.continueOnFail();
	for (const outcome of outcomes.sort((a, b) => a.index - b.index)) {
		if ('error' in outcome) {
			if (!continueOnFail) throw outcome.error;
			const json: IDataObject = { error: outcome.error.message };
			const description = (outcome.error as { description?: string }).description;
			if (description) json.errorDescription = description;
			out[0].push({ json, pairedItem: { item: outcome.index } });
		} else {
			emit(out, outcome.index, outcome.result);
		}
	}
	return out;
}

/**
 * Runs one pipelined operation over all items: plans (validates) every item first, then
 * sends every valid item's commands on one connection in pipelined chunks, and maps the
 * replies back to their items in order.
 */
export async function runPipelined(
	ctx: IExecuteFunctions,
	op: PipelinedOperation,
	env: OperationEnv,
	outputs: number,
): Promise<INodeExecutionData[][]> {
	const items = ctx.getInputData();
	const continueOnFail = ctx.continueOnFail();
	const outcomes: Outcome[] = [];
	const planned: Array<{ index: number; plan: PipelinedItem }> = [];
	for (let i = 0; i < items.length; i++) {
		try {
			planned.push({ index: i, plan: op.plan(new ItemParams(ctx, i), env) });
		} catch (error) {
			// Without continueOnFail, one bad item stops the run before anything is written.
			if (!continueOnFail) throw redisFailure(ctx.getNode(), error, i, env.secrets, op.action);
			outcomes.push({ index: i, error: redisFailure(ctx.getNode(), error, i, env.secrets, op.action) });
		}
	}
	if (planned.length > 0) {
		const client = env.client(op.role);
		installScripts(client);
		const chunks: Array<Promise<Outcome[]>> = [];
		for (let start = 0; start < planned.length; start += CHUNK) {
			chunks.push(sendChunk(ctx, op, env, client, planned.slice(start, start + CHUNK)));
		}
		for (const chunk of await Promise.all(chunks)) outcomes.push(...chunk);
	}
	return collect(ctx, outcomes, outputs);
}

type Planned = { index: number; plan: PipelinedItem };
type Client = ReturnType<OperationEnv['client']>;

async function sendChunk(
	ctx: IExecuteFunctions,
	op: PipelinedOperation,
	env: OperationEnv,
	client: Client,
	chunk: Planned[],
): Promise<Outcome[]> {
	if (env.config.mode === 'cluster') return sendChunkPerNode(ctx, op, env, client as Cluster, chunk);
	return execItems(ctx, op, env, client.pipeline(), chunk, (item, pipeline) => item.plan.send(pipeline));
}

/** Queues every item's commands on one pipeline, runs it, and maps the replies back to the items. */
async function execItems(
	ctx: IExecuteFunctions,
	op: PipelinedOperation,
	env: OperationEnv,
	pipeline: ChainableCommander,
	chunk: Planned[],
	send: (item: Planned, pipeline: ChainableCommander) => void,
): Promise<Outcome[]> {
	const spans: Array<[number, number]> = [];
	for (const item of chunk) {
		const before = pipeline.length;
		send(item, pipeline);
		spans.push([before, pipeline.length]);
	}
	let replies: Array<[Error | null, unknown]>;
	try {
		replies = ((await pipeline.exec()) ?? []) as Array<[Error | null, unknown]>;
	} catch (error) {
		return chunk.map(({ index }) => ({ index, error: redisFailure(ctx.getNode(), error, index, env.secrets, op.action) }));
	}
	return chunk.map(({ index, plan }, n) => {
		const [from, to] = spans[n];
		const mine = replies.slice(from, to);
		if (mine.length !== to - from) {
			const lost = new Error('Connection is closed.');
			return { index, error: redisFailure(ctx.getNode(), lost, index, env.secrets, op.action) };
		}
		const failed = mine.find(([err]) => err);
		if (failed) return { index, error: redisFailure(ctx.getNode(), failed[0], index, env.secrets, op.action) };
		try {
			return { index, result: plan.read(mine.map(([, value]) => value)) };
		} catch (error) {
			return { index, error: redisFailure(ctx.getNode(), error, index, env.secrets, op.action) };
		}
	});
}

type Call = { name: string; args: unknown[] };

/** Captures the commands an item's send() queues, so they can be routed and then replayed. */
function record(plan: PipelinedItem): Call[] {
	const calls: Call[] = [];
	const recorder: ChainableCommander = new Proxy({} as ChainableCommander, {
		get(_target, name) {
			if (name === 'length') return calls.length;
			return (...args: unknown[]) => {
				calls.push({ name: String(name), args });
				return recorder;
			};
		},
	});
	plan.send(recorder);
	return calls;
}

function replay(calls: Call[], pipeline: ChainableCommander): void {
	const target = pipeline as unknown as Record<string, (...args: unknown[]) => unknown>;
	for (const { name, args } of calls) target[name](...args);
}

/**
 * Cluster mode: an ioredis Cluster pipeline must only touch slots of one node, so items are
 * grouped by the node that owns their key's slot and each node gets one pipeline, all sent
 * at once. An item whose keys span several nodes runs alone, so only that item fails.
 */
async function sendChunkPerNode(
	ctx: IExecuteFunctions,
	op: PipelinedOperation,
	env: OperationEnv,
	cluster: Cluster,
	chunk: Planned[],
): Promise<Outcome[]> {
	// The slot map arrives with the first connection; any command waits for it.
	if (cluster.slots.length === 0) {
		try {
			await cluster.ping();
		} catch (error) {
			return chunk.map(({ index }) => ({ index, error: redisFailure(ctx.getNode(), error, index, env.secrets, op.action) }));
		}
	}
	const nodeOf = (key: string | Buffer): string => {
		const slot = keySlot(key);
		return cluster.slots[slot]?.join(';') ?? `slot ${slot}`;
	};
	const groups = new Map<string, Array<Planned & { calls: Call[] }>>();
	for (const item of chunk) {
		const calls = record(item.plan);
		const keys = calls.map((c) => firstKeyOf(c.name, c.args)).filter((k) => k !== undefined);
		const slotKey = item.plan.slotKey ?? keys[0];
		let group = slotKey === undefined ? 'any' : nodeOf(slotKey);
		if (keys.some((k) => nodeOf(k) !== group)) group = `alone ${item.index}`;
		const list = groups.get(group) ?? [];
		list.push({ ...item, calls });
		groups.set(group, list);
	}
	const results = await Promise.all(
		[...groups.values()].map((items) =>
			execItems(ctx, op, env, cluster.pipeline(), items, (item, pipeline) =>
				replay((item as Planned & { calls: Call[] }).calls, pipeline),
			),
		),
	);
	return results.flat();
}

/** Runs an item-by-item operation, in item order. */
export async function runSequential(
	ctx: IExecuteFunctions,
	op: SequentialOperation,
	env: OperationEnv,
	outputs: number,
): Promise<INodeExecutionData[][]> {
	const items = ctx.getInputData();
	const continueOnFail = ctx.continueOnFail();
	const outcomes: Outcome[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			outcomes.push({ index: i, result: await op.run(new ItemParams(ctx, i), env, ctx) });
		} catch (error) {
			const wrapped = redisFailure(ctx.getNode(), error, i, env.secrets, op.action);
			if (!continueOnFail) throw wrapped;
			outcomes.push({ index: i, error: wrapped });
		}
	}
	return collect(ctx, outcomes, outputs);
}
