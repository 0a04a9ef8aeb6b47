import type { INodeProperties } from 'n8n-workflow';

import type { GroupLimits } from '../../platform/queue';
import type { ParamReader } from './params';

/**
 * The per-group limits of fair queues, where jobs are taken: the queue trigger's options and
 * Dequeue's. They belong to the consumers, since what they protect (an account's API quota, a
 * client's share of the workers) is the consumers' concern, and every take checks them in Redis
 * against the queue's shared counts, so all consumers that set the same values keep them
 * together (Python workers pass the same numbers to take_job).
 */
export const groupLimitOptions: INodeProperties[] = [
	{
		displayName: 'Max In Flight per Group',
		name: 'maxInFlightPerGroup',
		type: 'number',
		typeOptions: { minValue: 0, numberPrecision: 0 },
		default: 0,
		description:
			'At most this many jobs of one group (see Enqueue\'s Group) running at once, across every consumer that sets the same limit; 0 = no limit. Jobs without a group count as one group.',
	},
	{
		displayName: 'Max Jobs per Group per Window',
		name: 'groupRateLimit',
		type: 'number',
		typeOptions: { minValue: 0, numberPrecision: 0 },
		default: 0,
		description: 'At most this many jobs of one group taken within the rate window (a sliding window); 0 = no limit',
	},
	{
		displayName: 'Group Rate Window (Seconds)',
		name: 'groupRateWindow',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 60,
		description: 'The window of "Max Jobs per Group per Window"',
	},
];

/** The limits set in `collection` (the options of Dequeue or of the queue trigger). */
export function readGroupLimits(p: ParamReader, collection: string): GroupLimits {
	return {
		maxInFlight: p.integerOr(`${collection}.maxInFlightPerGroup`, 'Max In Flight per Group', 0, { min: 0, max: 1_000_000 }),
		rateMax: p.integerOr(`${collection}.groupRateLimit`, 'Max Jobs per Group per Window', 0, { min: 0, max: 1_000_000_000 }),
		rateWindowMs: Math.round(
			p.numberOr(`${collection}.groupRateWindow`, 'Group Rate Window (Seconds)', 60, { min: 0.001, max: 7 * 86_400, unit: 'seconds' }) * 1000,
		),
	};
}
