import type { IDataObject } from 'n8n-workflow';

import { CELERY_READY_STATES, parseCeleryMeta, waitForCeleryResult, type CeleryResult } from '../../../../platform/celery-result';
import { jobResultKey, type QueueKeys } from '../../../../platform/keys';
import { parseJobResult, waitForJobResult, type JobResult } from '../../../../platform/queue';
import type { ItemResult, Operation, OperationEnv, PipelinedItem } from '../../../shared/operation';
import type { ItemParams } from '../../../shared/params';

/**
 * Getting results back: Enqueue and Send Celery Task with "Wait for Result", Get Job Result and
 * Get Celery Task Result. Every wait of one execution goes through the run's ResultWaiter (one
 * SUBSCRIBE connection however many items wait; see platform/result-wait.ts).
 */

const WAIT_LABEL = 'Wait for Result (Seconds)';
const MAX_WAIT_SECONDS = 86_400;

export interface WaitSettings {
	/** 0: do not wait. */
	timeoutMs: number;
	errorOnTimeout: boolean;
}

export function waitSettings(p: ItemParams): WaitSettings {
	const seconds = p.numberOr('options.waitForResult', WAIT_LABEL, 0, { min: 0, max: MAX_WAIT_SECONDS, unit: 'seconds' });
	// Read option by option: every Enqueue item passes here, waiting or not (see ParamReader.isSet).
	return { timeoutMs: Math.round(seconds * 1000), errorOnTimeout: seconds === 0 || p.raw('options.errorOnTimeout', true) !== false };
}

function iso(ms: number): string {
	return new Date(ms).toISOString();
}

function jobResultJson(result: JobResult): IDataObject {
	if (result.status === 'completed') return { status: result.status, result: result.result as IDataObject, completedAt: iso(result.completedAt) };
	if (result.status === 'dead') return { status: result.status, error: result.error, attempt: result.attempt, failedAt: iso(result.failedAt) };
	return { status: result.status, result: null };
}

function timedOut(p: ItemParams, wait: WaitSettings, what: string, state: string): never {
	return p.fail(
		WAIT_LABEL,
		`ran out after ${wait.timeoutMs / 1000} s: ${what} is still ${state}`,
		'Wait longer, or turn off "Error on Timeout" to output the state with "timedOut": true and collect the result later with a Get ... Result operation',
	);
}

/**
 * Waits for a job's record, unless `current` (what a read in the item's pipeline found, when
 * there was one) is final already or nothing is to be waited for; a timeout fails the item
 * unless asked not to.
 */
async function jobOutcome(p: ItemParams, env: OperationEnv, keys: QueueKeys, id: string, wait: WaitSettings, current?: string | null): Promise<IDataObject> {
	if (current !== undefined && (current !== null || wait.timeoutMs === 0)) return jobResultJson(parseJobResult(id, current));
	const { result, timedOut: late } = await waitForJobResult(env.resultWaiter('queue'), keys, id, wait.timeoutMs);
	if (!late) return jobResultJson(result);
	if (wait.errorOnTimeout) timedOut(p, wait, `job ${id}`, 'pending');
	return { ...jobResultJson(result), timedOut: true };
}

/**
 * Enqueue with Wait for Result: the enqueue as planned, then the wait. A job ID you set may
 * carry an older run's record, which is deleted in the same pipeline before the enqueue: the
 * new job cannot have finished yet, so any record there is stale.
 */
export function enqueueAndWait(p: ItemParams, env: OperationEnv, keys: QueueKeys, id: string, ownId: boolean, plan: PipelinedItem): PipelinedItem {
	const wait = waitSettings(p);
	if (wait.timeoutMs === 0) return plan;
	return {
		send: (pipe) => {
			if (ownId) pipe.del(jobResultKey(keys, id));
			plan.send(pipe);
		},
		read: async (replies) => {
			const enqueued = (await plan.read(replies.slice(ownId ? 1 : 0))) as ItemResult;
			return { json: { ...(enqueued.json as IDataObject), ...(await jobOutcome(p, env, keys, id, wait)) } };
		},
	};
}

function celeryJson(result: CeleryResult, traceback: boolean): IDataObject {
	const json: IDataObject = { taskId: result.taskId, status: result.status, result: result.result as IDataObject, dateDone: result.dateDone };
	if (result.errorType !== undefined) Object.assign(json, { errorType: result.errorType, errorMessage: result.errorMessage });
	if (traceback) json.traceback = result.traceback;
	return json;
}

async function celeryOutcome(p: ItemParams, env: OperationEnv, taskId: string, wait: WaitSettings, current?: string | null): Promise<IDataObject> {
	const traceback = p.raw('options.includeTraceback', false) === true;
	if (current !== undefined) {
		const now = parseCeleryMeta(taskId, current);
		if (wait.timeoutMs === 0 || CELERY_READY_STATES.includes(now.status)) return celeryJson(now, traceback);
	}
	const { result, timedOut: late } = await waitForCeleryResult(env.resultWaiter('celeryResult'), env.keys, taskId, wait.timeoutMs);
	if (!late) return celeryJson(result, traceback);
	if (wait.errorOnTimeout) timedOut(p, wait, `Celery task ${taskId}`, result.status);
	return { ...celeryJson(result, traceback), timedOut: true };
}

/** Send Celery Task with Wait for Result: the send as planned, then the wait for a ready state. */
export function sendAndWait(p: ItemParams, env: OperationEnv, taskId: string, plan: PipelinedItem): PipelinedItem {
	const wait = waitSettings(p);
	if (wait.timeoutMs === 0) return plan;
	return {
		send: plan.send,
		read: async (replies) => {
			const sent = (await plan.read(replies)) as ItemResult;
			return { json: { ...(sent.json as IDataObject), ...(await celeryOutcome(p, env, taskId, wait)) } };
		},
	};
}

export const resultOperations: Record<string, Operation> = {
	getResult: {
		kind: 'pipelined',
		role: 'queue',
		action: 'Get Job Result',
		plan(p, env) {
			const name = p.queueName('queue');
			const keys = env.keys.queue(name);
			const id = p.key('jobId', 'Job ID');
			const wait = waitSettings(p);
			const key = jobResultKey(keys, id);
			return {
				send: (pipe) => void pipe.get(key),
				read: async ([current]) => ({ json: { queue: name, id, ...(await jobOutcome(p, env, keys, id, wait, current as string | null)) } }),
			};
		},
	},
	getCeleryResult: {
		kind: 'pipelined',
		role: 'celeryResult',
		action: 'Get Celery Task Result',
		plan(p, env) {
			const taskId = p.key('taskId', 'Task ID');
			const wait = waitSettings(p);
			const key = env.keys.celeryResult(taskId);
			return {
				send: (pipe) => void pipe.get(key),
				read: async ([current]) => ({ json: await celeryOutcome(p, env, taskId, wait, current as string | null) }),
			};
		},
	},
};
