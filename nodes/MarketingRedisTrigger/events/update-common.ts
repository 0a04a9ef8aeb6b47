import type { INodeProperties, ITriggerFunctions } from 'n8n-workflow';

import type { RedisConnectionConfig } from '../../../platform/config';
import { redact } from '../../../platform/errors';
import { matchesAll, readPath } from '../../../platform/message-filter';
import { configFromCredentials, CREDENTIAL_TYPE, secretsOf } from '../../shared/credentials';
import { NodeOperationError } from '../../shared/n8n';
import { COALESCE_WINDOW, type StreamSettings, type UpdateSettings } from './settings';

export function channelsProperty(event: string, description: string): INodeProperties {
	return {
		displayName: 'Channels',
		name: 'channels',
		type: 'string',
		default: 'content_updates',
		placeholder: 'content_updates, seo_updates',
		description,
		displayOptions: { show: { event: [event] } },
	};
}

export function filtersProperty(event: string): INodeProperties {
	return {
		displayName: 'Filters',
		name: 'filters',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Filter',
		default: {},
		description:
			'Start the workflow only for messages where every filter matches. Values compare as text, so 123 matches the number 123 and "123"; "null" matches null.',
		displayOptions: { show: { event: [event] } },
		options: [
			{
				displayName: 'Filter',
				name: 'filter',
				values: [
					{
						displayName: 'Field',
						name: 'path',
						type: 'string',
						default: '',
						placeholder: 'data.status',
						description: 'Dot path into the JSON message; numbers index arrays (items.0.id)',
					},
					{
						displayName: 'Value',
						name: 'value',
						type: 'string',
						default: '',
						placeholder: 'approved',
						description: 'The value the field must have',
					},
				],
			},
		],
	};
}

export const nonJsonOption: INodeProperties = {
	displayName: 'Non-JSON Messages',
	name: 'nonJson',
	type: 'options',
	default: 'text',
	description: 'What to do with a message that is not valid JSON',
	options: [
		{
			name: 'Pass Through as Text',
			value: 'text',
			description: 'Start the workflow with "message" set to the raw text (filters never match text)',
		},
		{
			name: 'Report as Failed Execution',
			value: 'failedExecution',
			description: 'Record a failed execution that shows the message; the workflow stays active',
		},
		{
			name: 'Skip',
			value: 'skip',
			description: 'Ignore the message and log a warning',
		},
	],
};

export async function triggerConfig(ctx: ITriggerFunctions): Promise<RedisConnectionConfig> {
	try {
		return configFromCredentials(await ctx.getCredentials(CREDENTIAL_TYPE));
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), `Invalid credential: ${(error as Error).message}`);
	}
}

export type Decoded = { json: true; value: unknown } | { json: false; text: string };

export function decodePayload(payload: string): Decoded {
	try {
		return { json: true, value: JSON.parse(payload) as unknown };
	} catch {
		return { json: false, text: payload };
	}
}

/**
 * Applies the non-JSON setting and the filters. Returns the message to emit, or undefined
 * when it must not start the workflow (filtered out, skipped, or reported as failed).
 */
export function admitMessage(
	ctx: ITriggerFunctions,
	settings: UpdateSettings,
	config: RedisConnectionConfig,
	channel: string,
	payload: string,
	/** Called after a message was reported as a failed execution (manual mode ends its wait then). */
	onReported?: () => void,
): { message: unknown } | undefined {
	const decoded = decodePayload(payload);
	if (!decoded.json) {
		if (settings.nonJson === 'skip') {
			ctx.logger.warn(`Marketing Redis Trigger: skipped a non-JSON message on channel "${channel}"`);
			return undefined;
		}
		if (settings.nonJson === 'failedExecution') {
			const preview = redact(decoded.text.slice(0, 200), secretsOf(config));
			ctx.saveFailedExecution(
				new NodeOperationError(ctx.getNode(), `A message on channel "${channel}" is not valid JSON`, {
					description: `The message starts with: ${preview}`,
				}),
			);
			onReported?.();
			return undefined;
		}
		return settings.filters.length === 0 ? { message: decoded.text } : undefined;
	}
	return matchesAll(decoded.value, settings.filters) ? { message: decoded.value } : undefined;
}

/** Durable Stream only: "Coalesce By" and its window (off by default: saved workflows run every update). */
export const coalesceOptions: INodeProperties[] = [
	{
		displayName: 'Coalesce By',
		name: 'coalesceBy',
		type: 'string',
		default: '',
		placeholder: 'draft_id',
		description:
			'Field (dot path) whose value marks updates of the same thing. Updates with the same value within the window start one execution with the newest of them; "coalesced" says how many it replaced. Updates without the field run on their own. Empty: every update runs.',
	},
	{
		displayName: 'Coalesce Window (Seconds)',
		name: 'coalesceWindow',
		type: 'number',
		typeOptions: { minValue: COALESCE_WINDOW.min, maxValue: COALESCE_WINDOW.max, numberPrecision: 2 },
		default: COALESCE_WINDOW.defaultSeconds,
		description:
			'With "Coalesce By": how long after the first update of a value its execution starts, whatever arrives meanwhile. Also the longest an update waits, however often the value is updated.',
	},
];

/**
 * The value an update is coalesced by, as text (123 and "123" are one draft, like the filters'
 * values), or undefined when it runs on its own: coalescing is off, the message is not JSON, it
 * is filtered out (a filtered-out update must not stand in for one that passes), or the field is
 * missing, null or empty.
 */
export function coalesceValue(settings: StreamSettings, payload: string): string | undefined {
	if (!settings.coalesceBy) return undefined;
	const decoded = decodePayload(payload);
	if (!decoded.json || !matchesAll(decoded.value, settings.filters)) return undefined;
	const value = readPath(decoded.value, settings.coalesceBy);
	if (value === undefined || value === null || typeof value === 'symbol' || value === '') return undefined;
	return typeof value === 'string' ? value : JSON.stringify(value);
}
