// Workflows whose executions leave countable traces: our trigger, then our action node increments the
// delivered item's mark on a "started" sorted set, a Code node optionally sleeps (so an execution can be
// caught mid-way), and the action node increments the mark on a "done" sorted set. A score above 1 on
// "done" is a duplicate execution; a mark missing from "done" is a lost one.
//
// The sleep applies to the first delivery only (job attempt 1, an update not redelivered), so work that
// a crash cut short runs quickly when it comes back.
import type { WorkflowFile } from '../../../scripts/lib/n8n';
import { TEMPLATE_CREDENTIAL } from '../../../scripts/lib/n8n';
import { OUR_TYPES } from './validate';

export type MarkerEvent = 'pubsub' | 'stream' | 'queue';

export interface MarkerBoards {
	started: string;
	done: string;
}

/** Sorted-set names (default DB of the credential) for one scenario and event. */
export function markerBoards(scenario: string, event: MarkerEvent): MarkerBoards {
	return { started: `e2e:${scenario}:${event}:started`, done: `e2e:${scenario}:${event}:done` };
}

/** What producers put into a message or job payload. */
export interface MarkerBody {
	mark: string;
	sleepMs?: number;
	/** What a Coalesce By workflow gathers updates by. */
	draft?: string;
}

const credentials = { marketingRedisApi: { ...TEMPLATE_CREDENTIAL } };

// Jobs carry the body under `payload`, updates under `message`.
const BODY = '($json.payload ?? $json.message)';

const WORK_CODE = [
	"const t = $('Trigger').first().json;",
	'const body = t.payload ?? t.message ?? {};',
	'const first = Number(t.attempt ?? 1) <= 1 && t.redelivered !== true;',
	'const ms = first ? Number(body.sleepMs ?? 0) : 0;',
	'if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));',
	'return [{ json: { mark: String(body.mark), slept: ms, attempt: t.attempt ?? null, redelivered: t.redelivered ?? null } }];',
].join('\n');

function markNode(name: string, id: string, board: string, member: string, x: number) {
	return {
		id,
		name,
		type: OUR_TYPES.action,
		typeVersion: 1,
		position: [x, 0],
		parameters: { resource: 'leaderboard', operation: 'add', leaderboard: board, member, score: 1, scoreMode: 'increment' },
		credentials,
	};
}

function markerWorkflow(id: string, name: string, triggerParameters: Record<string, unknown>, boards: MarkerBoards): WorkflowFile {
	return {
		id,
		name,
		active: false,
		nodes: [
			{ id: `${id}-t`, name: 'Trigger', type: OUR_TYPES.trigger, typeVersion: 1, position: [0, 0], parameters: triggerParameters, credentials },
			markNode('Mark Started', `${id}-s`, boards.started, `={{ String(${BODY}.mark) }}`, 240),
			{ id: `${id}-w`, name: 'Work', type: 'n8n-nodes-base.code', typeVersion: 2, position: [480, 0], parameters: { jsCode: WORK_CODE } },
			markNode('Mark Done', `${id}-d`, boards.done, '={{ $json.mark }}', 720),
		],
		connections: {
			Trigger: { main: [[{ node: 'Mark Started', type: 'main', index: 0 }]] },
			'Mark Started': { main: [[{ node: 'Work', type: 'main', index: 0 }]] },
			Work: { main: [[{ node: 'Mark Done', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	} as WorkflowFile;
}

export function pubSubMarkerWorkflow(id: string, channel: string, boards: MarkerBoards): WorkflowFile {
	return markerWorkflow(id, `E2E ${id}: pub/sub ${channel}`, { event: 'contentUpdatePubSub', channels: channel }, boards);
}

export function streamMarkerWorkflow(
	id: string,
	channel: string,
	boards: MarkerBoards,
	options: { group: string; maxParallel: number; coalesceBy?: string; coalesceWindow?: number },
): WorkflowFile {
	const { group, maxParallel, coalesceBy, coalesceWindow } = options;
	const coalesce = coalesceBy ? { coalesceBy, coalesceWindow } : {};
	return markerWorkflow(
		id,
		`E2E ${id}: durable stream ${channel}`,
		{
			event: 'contentUpdateStream',
			channels: channel,
			// A fresh group starting at the stream's beginning: an update appended before the group existed still counts.
			options: { group, maxParallel, startAt: 'all', ...coalesce },
		},
		boards,
	);
}

export function queueMarkerWorkflow(
	id: string,
	queue: string,
	boards: MarkerBoards,
	options: { parallel: number; visibilitySeconds: number },
): WorkflowFile {
	return markerWorkflow(
		id,
		`E2E ${id}: job queue ${queue}`,
		{ event: 'jobAvailable', jobQueue: queue, maxParallelJobs: options.parallel, visibilityTimeout: options.visibilitySeconds },
		boards,
	);
}
