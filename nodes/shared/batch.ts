import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { ItemParams } from './params';
import { redisFailure } from './errors';
import { execChunked, type PipelineReply } from '../../platform/cluster-pipeline';
import type { ItemResult, OperationEnv, PipelinedItem, PipelinedOperation, SequentialOperation } from './operation';

type Outcome = { index: number; result: ItemResult | null } | { index: number; error: Error };

type Planned = { index: number; plan: PipelinedItem };

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
	errorOutput = 0,
): INodeExecutionData[][] {
	const out: INodeExecutionData[][] = Array.from({ length: outputs }, () => []);
	// An operation may route failed items elsewhere (a limited branch fails closed); only when that output exists.
	const failed = errorOutput < outputs ? errorOutput : 0;
	const continueOnFail = ctx.continueOnFail();
	for (const outcome of outcomes.sort((a, b) => a.index - b.index)) {
		if ('error' in outcome) {
			if (!continueOnFail) throw outcome.error;
			const json: IDataObject = { error: outcome.error.message };
			const description = (outcome.error as { description?: string }).description;
			if (description) json.errorDescription = description;
			out[failed].push({ json, pairedItem: { item: outcome.index } });
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
	const planned: Planned[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			planned.push({ index: i, plan: op.plan(new ItemParams(ctx, i), env) });
		} catch (error) {
			const failure = redisFailure(ctx.getNode(), error, i, env.secrets, op.action);
			// Without continueOnFail, one bad item stops the run before anything is written.
			if (!continueOnFail) throw failure;
			outcomes.push({ index: i, error: failure });
		}
	}
	if (planned.length > 0) {
		// Chunked pipelines (one pipeline per node and chunk in Cluster mode), replies mapped back to items.
		const replies = await execChunked(env.client(op.role), planned.map(({ plan }) => plan));
		outcomes.push(...(await Promise.all(planned.map(({ index, plan }, n) => readItem(ctx, op, env, index, plan, replies[n])))));
	}
	return collect(ctx, outcomes, outputs, op.errorOutput);
}

async function readItem(
	ctx: IExecuteFunctions,
	op: PipelinedOperation,
	env: OperationEnv,
	index: number,
	plan: PipelinedItem,
	mine: PipelineReply[],
): Promise<Outcome> {
	const failed = mine.find(([err]) => err);
	if (failed) return { index, error: redisFailure(ctx.getNode(), failed[0], index, env.secrets, op.action) };
	try {
		return { index, result: await plan.read(mine.map(([, value]) => value)) };
	} catch (error) {
		return { index, error: redisFailure(ctx.getNode(), error, index, env.secrets, op.action) };
	}
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
	return collect(ctx, outcomes, outputs, op.errorOutput);
}
