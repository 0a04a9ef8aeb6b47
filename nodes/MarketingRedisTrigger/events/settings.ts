import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { trimIdentifier } from '../../../platform/keys';
import { normaliseFilters, type FieldFilter } from '../../../platform/message-filter';
import type { GroupLimits } from '../../../platform/queue';
import { readGroupLimits } from '../../shared/group-limits';
import type { TriggerParams } from '../../shared/params';

/**
 * Every setting of the trigger's events, read through the same parameter reader as the action
 * node (same checks, same wording), and the one place that knows what version 1 called them.
 *
 * Version 2 renamed the queue event's settings to match the rest of the package: "Queue Name" is
 * `queue` (as in the action node, was `jobQueue`), its options collection is `options` (was
 * `queueOptions`) and "Give Up After" is `giveUpAfter` in seconds everywhere (the queue event had
 * `giveUpAfterMinutes`). n8n keeps a saved node on the version it was saved with and drops the
 * parameters its description lacks when it loads a workflow, so version 1's fields stay in the
 * description, shown only to version 1 nodes, and are read for them here.
 */

/** The first version with the new names; older nodes read the version 1 fields. */
export const RENAMED_IN_VERSION = 2;

export const showFor = (event: string, version: 'v1' | 'current'): INodeProperties['displayOptions'] =>
	version === 'v1'
		? { show: { event: [event], '@version': [1] } }
		: { show: { event: [event] }, hide: { '@version': [1] } };

/** A Node.js timer longer than 2^31 - 1 ms (about 24.8 days) fires at once, so waits stop below that. */
const MAX_WAIT_SECONDS = 24 * 86_400;

const GIVE_UP_LABEL = 'Give Up After (Seconds)';

/** "Give Up After (Seconds)", the same option in every event; only its default differs. */
export function giveUpOption(defaultSeconds: number): INodeProperties {
	return {
		displayName: GIVE_UP_LABEL,
		name: 'giveUpAfter',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: defaultSeconds,
		description:
			'How long to keep reconnecting after Redis becomes unreachable before the trigger reports an error (n8n then deactivates the workflow and retries activating it). 0 retries forever.',
	};
}

/** Default of "Give Up After" for the update events, and for the queue event (10 minutes, as in version 1). */
export const UPDATES_GIVE_UP_SECONDS = 300;
export const QUEUE_GIVE_UP_SECONDS = 600;

function giveUpAfterMs(p: TriggerParams, collection: string, fallbackSeconds: number): number {
	return p.numberOr(`${collection}.giveUpAfter`, GIVE_UP_LABEL, fallbackSeconds, { min: 0, max: MAX_WAIT_SECONDS, unit: 'seconds' }) * 1000;
}

/** What to do with a payload that is not JSON. */
export type NonJsonHandling = 'text' | 'failedExecution' | 'skip';

/** Settings both update events share. */
export interface UpdateSettings {
	channels: string[];
	filters: FieldFilter[];
	nonJson: NonJsonHandling;
	/** 0 keeps reconnecting forever. */
	giveUpAfterMs: number;
}

/** Splits a comma-separated list of names; each is trimmed like any identifier, `*` stays a literal character. */
export function splitNames(text: unknown): string[] {
	return String(text ?? '')
		.split(',')
		.map(trimIdentifier)
		.filter((name) => name.length > 0);
}

export function readUpdateSettings(p: TriggerParams): UpdateSettings {
	const filterRows = ((p.raw('filters', {}) as IDataObject | undefined)?.filter ?? []) as IDataObject[];
	return {
		channels: splitNames(p.raw('channels', '')),
		filters: normaliseFilters(filterRows),
		nonJson: p.oneOf('options.nonJson', 'Non-JSON Messages', ['text', 'failedExecution', 'skip'] as const, 'text'),
		giveUpAfterMs: giveUpAfterMs(p, 'options', UPDATES_GIVE_UP_SECONDS),
	};
}

const CHANNEL_FIX = 'The platform publishes content updates on "content_updates"';

export interface PubSubSettings extends UpdateSettings {
	patterns: string[];
}

export function readPubSubSettings(p: TriggerParams): PubSubSettings {
	const settings = readUpdateSettings(p);
	const patterns = splitNames(p.raw('patterns', ''));
	if (settings.channels.length === 0 && patterns.length === 0) {
		p.fail('Channels', 'is empty, and so is "Patterns": enter at least one channel or pattern', CHANNEL_FIX);
	}
	return { ...settings, patterns };
}

export interface StreamSettings extends UpdateSettings {
	group: string;
	acknowledge: 'execution' | 'emit';
	maxParallel: number;
	startAt: '$' | '0';
	/** 0 waits forever. */
	executionWaitMs: number;
	/** Dot path of the field updates are coalesced by; '' = every update runs on its own. */
	coalesceBy: string;
	coalesceWindowMs: number;
}

/** Coalesce Window bounds: long enough to gather a burst of edits, short enough to stay a delay. */
export const COALESCE_WINDOW = { defaultSeconds: 30, min: 0.01, max: 86_400 };

function coalescePath(p: TriggerParams): string {
	const path = p.raw('options.coalesceBy', '') ?? '';
	if (typeof path !== 'string') {
		p.fail('Coalesce By', 'must be a field name or dot path such as draft_id or data.draft_id', 'Leave it empty to run every update on its own');
	}
	return path.trim();
}

export function readStreamSettings(p: TriggerParams): StreamSettings {
	const settings = readUpdateSettings(p);
	if (settings.channels.length === 0) p.fail('Channels', 'is empty: enter at least one channel', CHANNEL_FIX);
	const waitMinutes = p.numberOr('options.executionWaitMinutes', 'Max Wait for an Execution (Minutes)', 60, {
		min: 0,
		max: MAX_WAIT_SECONDS / 60,
		unit: 'minutes',
	});
	return {
		...settings,
		group: p.key('options.group', 'Consumer Group', 'n8n'),
		acknowledge: p.oneOf('options.acknowledge', 'Acknowledge', ['execution', 'emit'] as const, 'execution'),
		maxParallel: p.integerOr('options.maxParallel', 'Max Parallel Executions', 1, { min: 1 }),
		startAt: p.oneOf('options.startAt', 'New Group Starts At', ['new', 'all'] as const, 'new') === 'all' ? '0' : '$',
		executionWaitMs: waitMinutes * 60_000,
		coalesceBy: coalescePath(p),
		coalesceWindowMs:
			p.numberOr('options.coalesceWindow', 'Coalesce Window (Seconds)', COALESCE_WINDOW.defaultSeconds, { ...COALESCE_WINDOW, unit: 'seconds' }) *
			1000,
	};
}

const MAX_PARALLEL_JOBS = 100;
/** The bounds of the same settings in the action node's Dequeue. */
const MAX_VISIBILITY_SECONDS = 7 * 86_400;
const MAX_ATTEMPTS = 1000;

export interface QueueSettings {
	queue: string;
	maxParallelJobs: number;
	visibilityMs: number;
	/** 0 keeps retrying forever. */
	giveUpAfterMs: number;
	defaultMaxAttempts: number;
	groupLimits: GroupLimits;
}

export function readQueueSettings(p: TriggerParams, defaultMaxAttempts: number): QueueSettings {
	const v1 = p.version < RENAMED_IN_VERSION;
	const collection = v1 ? 'queueOptions' : 'options';
	const giveUp = v1
		? p.numberOr('queueOptions.giveUpAfterMinutes', 'Give Up After (Minutes)', QUEUE_GIVE_UP_SECONDS / 60, {
				min: 0,
				max: MAX_WAIT_SECONDS / 60,
				unit: 'minutes',
			}) * 60_000
		: giveUpAfterMs(p, collection, QUEUE_GIVE_UP_SECONDS);
	return {
		queue: p.queueName(v1 ? 'jobQueue' : 'queue'),
		maxParallelJobs: p.integerOr('maxParallelJobs', 'Max Parallel Jobs', 1, { min: 1, max: MAX_PARALLEL_JOBS }),
		visibilityMs:
			p.integerOr('visibilityTimeout', 'Visibility Timeout (Seconds)', 300, { min: 1, max: MAX_VISIBILITY_SECONDS, unit: 'seconds' }) * 1000,
		giveUpAfterMs: giveUp,
		defaultMaxAttempts: p.integerOr(`${collection}.defaultMaxAttempts`, 'Max Attempts for Bare Payloads', defaultMaxAttempts, {
			min: 1,
			max: MAX_ATTEMPTS,
		}),
		// Version 1 never listed them, so they read as unset there: no limits.
		groupLimits: readGroupLimits(p, collection),
	};
}
