import type { IDataObject } from 'n8n-workflow';

import { buildCeleryMessage } from '../../../../platform/celery';
import type { QueueKeys } from '../../../../platform/keys';
import {
	JobQueue,
	MAX_PRIORITY,
	QUEUE_DEFAULTS,
	QueueInputError,
	parseComplete,
	parseEnqueue,
	parseFail,
	parseStats,
	prepareEnqueue,
	sendComplete,
	sendEnqueue,
	sendFail,
	sendStats,
	type Job,
} from '../../../../platform/queue';
import { readGroupLimits } from '../../../shared/group-limits';
import type { Operation, OperationEnv } from '../../../shared/operation';
import { describe as describeValue, type ItemParams } from '../../../shared/params';
import { enqueueAndWait, resultOperations, sendAndWait } from './results';

const MAX_DELAY_SECONDS = 10 * 365 * 86_400;

function queueKeys(p: ItemParams, env: OperationEnv): { name: string; keys: QueueKeys } {
	const name = p.queueName('queue');
	return { name, keys: env.keys.queue(name) };
}

/** A non-negative number of seconds (fractions allowed), as whole milliseconds. */
function secondsOr(p: ItemParams, name: string, label: string, fallback: number, max = MAX_DELAY_SECONDS): number {
	return Math.round(p.numberOr(name, label, fallback, { min: 0, max, unit: 'seconds' }) * 1000);
}

/** An optional date-time field; undefined when empty. */
function timeOr(p: ItemParams, name: string, label: string): Date | undefined {
	const value = p.raw(name, '');
	if (value === undefined || value === null || value === '') return undefined;
	const date = value instanceof Date ? value : new Date(typeof value === 'number' ? value : String(value));
	if (Number.isNaN(date.getTime())) {
		p.fail(label, `is not a date and time, got ${describeValue(value)}`, 'Use an ISO 8601 time such as 2026-01-31T09:00:00Z');
	}
	return date;
}

function iso(ms: number | null): string | null {
	return ms === null ? null : new Date(ms).toISOString();
}

function jobJson(queue: string, job: Job): IDataObject {
	return {
		queue,
		id: job.id,
		payload: job.payload as IDataObject,
		attempt: job.attempt,
		maxAttempts: job.maxAttempts,
		enqueuedAt: iso(job.enqueuedAt),
		visibleUntil: iso(job.visibleAt),
		lease: job.lease,
		lastError: job.lastError,
		group: job.group,
	};
}

export const jobOperations: Record<string, Operation> = {
	enqueue: {
		kind: 'pipelined',
		role: 'queue',
		action: 'Enqueue Job',
		plan(p, env) {
			const { name, keys } = queueKeys(p, env);
			const payload = p.json('payload', 'Payload');
			// Trimmed like the Job ID of Complete and Fail, so the ID given here is the one they find.
			const jobId = p.optionalKey('options.jobId', 'Job ID');
			// Trimmed as every identifier that becomes part of a key (the group names a sorted set).
			const group = p.optionalKey('options.group', 'Group');
			const runAt = timeOr(p, 'options.runAt', 'Run At');
			// Read (and validate) the options outside the try below, so their own errors keep their field names.
			const settings = {
				delayMs: secondsOr(p, 'options.delaySeconds', 'Delay (Seconds)', 0),
				priority: p.integerOr('options.priority', 'Priority', 0, { min: 0, max: MAX_PRIORITY }),
				maxAttempts: p.integerOr('options.maxAttempts', 'Max Attempts', QUEUE_DEFAULTS.maxAttempts, { min: 1, max: 1000 }),
				backoffMs: secondsOr(p, 'options.backoffSeconds', 'Backoff (Seconds)', QUEUE_DEFAULTS.backoffMs / 1000, 3600),
				maxValueBytes: p.maxValueBytes(),
			};
			let prepared;
			try {
				prepared = prepareEnqueue({
					payload,
					id: jobId === '' ? undefined : jobId,
					group,
					runAt: runAt?.getTime(),
					...settings,
				});
			} catch (error) {
				// Every field but the payload was validated above, so what is left is the payload's size or shape.
				const field = error instanceof QueueInputError ? error.field : 'Payload';
				return p.fail(field === 'payload' ? 'Payload' : field, (error as Error).message);
			}
			const ready = prepared;
			return enqueueAndWait(p, env, keys, ready.id, jobId !== '', {
				send: (pipe) => void sendEnqueue(pipe, keys, ready),
				read: ([reply]) => {
					const result = parseEnqueue(ready.id, reply);
					return {
						json: {
							queue: name,
							id: result.id,
							enqueued: result.enqueued,
							duplicate: !result.enqueued,
							runAt: iso(result.runAt),
							group: group === '' ? null : group,
						},
					};
				},
			});
		},
	},
	dequeue: {
		kind: 'sequential',
		role: 'queue',
		action: 'Dequeue Job',
		async run(p, env) {
			const { name, keys } = queueKeys(p, env);
			const timeoutMs = secondsOr(p, 'timeout', 'Timeout (Seconds)', 0, 86_400);
			const visibilityMs = p.integer('visibilityTimeout', 'Visibility Timeout (Seconds)', { min: 1, max: 7 * 86_400, unit: 'seconds' }) * 1000;
			const whenEmpty = p.string('whenEmpty', 'When Empty', { allowEmpty: true }) || 'noItem';
			const maxJobs = p.integerOr('options.maxJobs', 'Max Jobs', 1, { min: 1, max: 10_000 });
			const defaultMaxAttempts = p.integerOr('options.defaultMaxAttempts', 'Max Attempts for Bare Payloads', QUEUE_DEFAULTS.maxAttempts, { min: 1, max: 1000 });
			const groupLimits = readGroupLimits(p, 'options');
			const { jobs } = await new JobQueue(env.client('queue'), keys).dequeue({
				max: maxJobs,
				timeoutMs,
				visibilityMs,
				defaultMaxAttempts,
				groupLimits,
				// A wait holds its connection, so it gets a dedicated client, opened only when the queue is empty.
				openBlocking: () => {
					const client = env.dedicated('queue');
					return { client, release: () => env.release(client) };
				},
			});
			if (jobs.length === 0) return whenEmpty === 'emptyFlag' ? { json: { queue: name, empty: true } } : null;
			return { json: jobs.map((job) => jobJson(name, job)) };
		},
	},
	complete: {
		kind: 'pipelined',
		role: 'queue',
		action: 'Complete Job',
		plan(p, env) {
			const { name, keys } = queueKeys(p, env);
			const id = p.key('jobId', 'Job ID');
			const lease = p.string('options.lease', 'Lease', { allowEmpty: true });
			// Every completion leaves a record, so a waiter learns "done" even without a result.
			const done = {
				result: p.isSet('options.result') ? p.json('options.result', 'Result') : null,
				resultTtlMs: p.integerOr('options.resultTtl', 'Result TTL (Seconds)', QUEUE_DEFAULTS.resultTtlMs / 1000, { min: 1, max: 365 * 86_400 }) * 1000,
			};
			return {
				send: (pipe) => void sendComplete(pipe, keys, id, lease, done),
				read: ([reply]) => {
					const status = parseComplete(reply);
					const reason =
						status === 'missing'
							? 'The job is not in flight: unknown, already completed, or returned to the queue after its visibility timeout'
							: status === 'stale'
								? 'Another worker took the job after its visibility timeout; it owns the job now'
								: undefined;
					return { json: { queue: name, id, completed: status === 'done', ...(reason ? { reason } : {}) } };
				},
			};
		},
	},
	fail: {
		kind: 'pipelined',
		role: 'queue',
		action: 'Fail Job',
		plan(p, env) {
			const { name, keys } = queueKeys(p, env);
			const id = p.key('jobId', 'Job ID');
			const error = p.string('errorMessage', 'Error Message', { allowEmpty: true }) || 'Failed (no error message given)';
			const backoffMs = p.isSet('options.backoffSeconds') ? secondsOr(p, 'options.backoffSeconds', 'Backoff (Seconds)', 1, 3600) : undefined;
			const lease = p.string('options.lease', 'Lease', { allowEmpty: true });
			const retry = p.raw('options.retry', true) !== false;
			return {
				send: (pipe) => void sendFail(pipe, keys, id, error, { lease, backoffMs, retry }),
				read: ([reply]) => {
					const outcome = parseFail(reply);
					const json: IDataObject = { queue: name, id, status: outcome.status };
					if (outcome.status === 'retry') Object.assign(json, { attempt: outcome.attempt, retryAt: iso(outcome.runAt) });
					if (outcome.status === 'dead') Object.assign(json, { attempt: outcome.attempt, failedAt: iso(outcome.failedAt), error });
					if (outcome.status === 'missing') json.reason = 'The job is not in flight: unknown, already settled, or returned after its visibility timeout';
					if (outcome.status === 'stale') json.reason = 'Another worker took the job after its visibility timeout; it owns the job now';
					return { json };
				},
			};
		},
	},
	stats: {
		kind: 'pipelined',
		role: 'queue',
		action: 'Get Queue Stats',
		plan(p, env) {
			const { name, keys } = queueKeys(p, env);
			return {
				send: (pipe) => void sendStats(pipe, keys),
				read: ([reply]) => {
					const s = parseStats(reply);
					return {
						json: {
							queue: name,
							waiting: s.waiting,
							prioritized: s.prioritized,
							delayed: s.delayed,
							inFlight: s.inFlight,
							dead: s.dead,
							stalled: s.stalled,
							dueDelayed: s.due,
							oldestWaitingAgeSeconds: s.oldestWaitingAgeMs === null ? null : Math.round(s.oldestWaitingAgeMs / 1000),
							nextDelayedRunAt: iso(s.nextRunAt),
							groups: s.groups,
							byGroup: s.byGroup as unknown as IDataObject[],
						},
					};
				},
			};
		},
	},
	recoverStalled: {
		kind: 'sequential',
		role: 'queue',
		action: 'Recover Stalled Jobs',
		async run(p, env) {
			const { name, keys } = queueKeys(p, env);
			const result = await new JobQueue(env.client('queue'), keys).recoverStalled();
			return { json: { queue: name, recovered: result.recovered, deadLettered: result.dead, delayedMadeReady: result.promoted } };
		},
	},
	retryDead: {
		kind: 'sequential',
		role: 'queue',
		action: 'Retry Dead Jobs',
		async run(p, env) {
			const { name, keys } = queueKeys(p, env);
			const id = p.optionalKey('options.jobId', 'Job ID');
			const limit = p.integerOr('options.limit', 'Limit', 1000, { min: 1 });
			const moved = await new JobQueue(env.client('queue'), keys).retryDead(id ? { id } : { limit });
			return { json: { queue: name, retried: moved, ...(id ? { id, found: moved === 1 } : {}) } };
		},
	},
	purgeDead: {
		kind: 'sequential',
		role: 'queue',
		action: 'Purge Dead Jobs',
		async run(p, env) {
			const { name, keys } = queueKeys(p, env);
			const deleted = await new JobQueue(env.client('queue'), keys).purgeDead();
			return { json: { queue: name, deleted } };
		},
	},
	sendCeleryTask: {
		kind: 'pipelined',
		role: 'queue',
		action: 'Send Celery Task',
		plan(p, env) {
			const queue = p.key('celeryQueue', 'Celery Queue');
			const task = p.key('taskName', 'Task Name');
			const argsValue = p.json('args', 'Args');
			const args = Array.isArray(argsValue) ? (argsValue as unknown[]) : [];
			if (!Array.isArray(argsValue)) p.fail('Args', `must be a JSON array, got ${describeValue(argsValue)}`, 'Use an array such as [1, "blog"]');
			const kwargs = p.jsonObject('kwargs', 'Kwargs');
			const countdownMs = secondsOr(p, 'options.countdown', 'Countdown (Seconds)', 0);
			const message = buildCeleryMessage({
				task,
				args,
				kwargs,
				queue,
				countdown: countdownMs / 1000,
				eta: timeOr(p, 'options.eta', 'ETA'),
				expires: timeOr(p, 'options.expires', 'Expires'),
				priority: p.integerOr('options.priority', 'Priority', 0, { min: 0, max: 9 }),
				id: p.string('options.taskId', 'Task ID', { allowEmpty: true }) || undefined,
			});
			const list = env.keys.raw(message.list);
			return sendAndWait(p, env, message.taskId, {
				send: (pipe) => void pipe.lpush(list, message.json),
				read: () => ({ json: { taskId: message.taskId, task, queue, eta: message.eta } }),
			});
		},
	},
	...resultOperations,
};
