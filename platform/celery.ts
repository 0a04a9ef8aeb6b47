import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';

/**
 * Celery task messages (protocol 2) as kombu's Redis transport stores them: one JSON document
 * per task, LPUSHed onto the list named after the Celery queue (default `celery`); the worker
 * BRPOPs it. The task's arguments travel base64-encoded in `body` as `[args, kwargs, embed]`.
 * https://docs.celeryq.dev/en/stable/internals/protocol.html
 */

export interface CeleryTaskInput {
	/** Registered task name, e.g. `tasks.generate_content`. */
	task: string;
	args?: unknown[];
	kwargs?: Record<string, unknown>;
	/** Celery queue name (the Redis list); `celery` by default. */
	queue?: string;
	/** Seconds from now before the task may run (turned into `eta`, as Celery's client does). */
	countdown?: number;
	/** Absolute earliest run time. */
	eta?: Date;
	/** After this time the worker discards the task. */
	expires?: Date;
	/** 0-9. On Redis, kombu serves the lists of lower numbers first (0 = most urgent). */
	priority?: number;
	/** Task id; a random UUID by default. */
	id?: string;
	now?: Date;
}

export interface CeleryMessage {
	taskId: string;
	/** The Redis list the message goes to (kombu's per-priority list for priorities above 0). */
	list: string;
	/** The message exactly as pushed. */
	json: string;
	eta: string | null;
}

/** Kombu's Redis transport: priority steps and the separator of per-priority list names. */
export const KOMBU_PRIORITY_STEPS = [0, 3, 6, 9];
export const KOMBU_PRIORITY_SEP = '\x06\x16';

/** The list kombu uses for a priority: the base name for 0-2, `name\x06\x16<step>` otherwise. */
export function kombuListFor(queue: string, priority: number): string {
	let step = 0;
	for (const s of KOMBU_PRIORITY_STEPS) if (priority >= s) step = s;
	return step === 0 ? queue : `${queue}${KOMBU_PRIORITY_SEP}${step}`;
}

function pythonRepr(value: unknown): string {
	// Only for the human-readable argsrepr/kwargsrepr headers that Flower and logs show.
	return JSON.stringify(value) ?? 'None';
}

export function buildCeleryMessage(input: CeleryTaskInput): CeleryMessage {
	if (!input.task || input.task.trim() === '') throw new Error('the task name is empty');
	const args = input.args ?? [];
	const kwargs = input.kwargs ?? {};
	const queue = input.queue ?? 'celery';
	const taskId = input.id ?? randomUUID();
	const now = input.now ?? new Date();
	let eta: string | null = null;
	if (input.eta) eta = input.eta.toISOString();
	else if (input.countdown !== undefined && input.countdown > 0) eta = new Date(now.getTime() + input.countdown * 1000).toISOString();
	const priority = input.priority ?? 0;
	if (!Number.isInteger(priority) || priority < 0 || priority > 9) throw new Error(`the priority must be 0 to 9, got ${priority}`);
	const embed = { callbacks: null, errbacks: null, chain: null, chord: null };
	const body = Buffer.from(JSON.stringify([args, kwargs, embed]), 'utf8').toString('base64');
	const message = {
		body,
		'content-encoding': 'utf-8',
		'content-type': 'application/json',
		headers: {
			lang: 'py',
			task: input.task,
			id: taskId,
			shadow: null,
			eta,
			expires: input.expires ? input.expires.toISOString() : null,
			group: null,
			group_index: null,
			retries: 0,
			timelimit: [null, null],
			root_id: taskId,
			parent_id: null,
			argsrepr: pythonRepr(args),
			kwargsrepr: pythonRepr(kwargs),
			origin: `n8n@${hostname()}`,
			ignore_result: false,
		},
		properties: {
			correlation_id: taskId,
			reply_to: '',
			delivery_mode: 2,
			delivery_info: { exchange: '', routing_key: queue },
			priority,
			body_encoding: 'base64',
			delivery_tag: randomUUID(),
		},
	};
	return { taskId, list: kombuListFor(queue, priority), json: JSON.stringify(message), eta };
}
