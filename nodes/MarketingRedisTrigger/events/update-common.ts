import type { IDataObject, INodeProperties, ITriggerFunctions } from 'n8n-workflow';

import type { RedisConnectionConfig } from '../../../platform/config';
import { redact } from '../../../platform/errors';
import { trimIdentifier } from '../../../platform/keys';
import { matchesAll, normaliseFilters, type FieldFilter } from '../../../platform/message-filter';
import { configFromCredentials, CREDENTIAL_TYPE, secretsOf } from '../../shared/credentials';
import { NodeOperationError } from '../../shared/n8n';

/** What to do with a payload that is not JSON. */
export type NonJsonHandling = 'text' | 'failedExecution' | 'skip';

/** Settings both update events share. */
export interface UpdateSettings {
	channels: string[];
	filters: FieldFilter[];
	nonJson: NonJsonHandling;
	giveUpAfterMs: number;
}

/** Splits a comma-separated list of names; each is trimmed like any identifier, `*` stays a literal character. */
export function splitNames(text: unknown): string[] {
	return String(text ?? '')
		.split(',')
		.map(trimIdentifier)
		.filter((name) => name.length > 0);
}

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

export const giveUpOption: INodeProperties = {
	displayName: 'Give Up After (Seconds)',
	name: 'giveUpAfter',
	type: 'number',
	typeOptions: { minValue: 0 },
	default: 300,
	description:
		'How long to keep reconnecting after Redis becomes unreachable before the trigger reports an error (n8n then deactivates the workflow and retries activating it). 0 retries forever.',
};

/** Reads the settings both events share; throws a readable error for an empty channel list. */
export function readUpdateSettings(ctx: ITriggerFunctions, options: IDataObject): UpdateSettings {
	const filterRows = ((ctx.getNodeParameter('filters', {}) as IDataObject).filter ?? []) as IDataObject[];
	const giveUp = Number(options.giveUpAfter ?? 300);
	if (!Number.isFinite(giveUp) || giveUp < 0) {
		throw new NodeOperationError(ctx.getNode(), '"Give Up After (Seconds)" must be 0 or a positive number');
	}
	return {
		channels: splitNames(ctx.getNodeParameter('channels', '')),
		filters: normaliseFilters(filterRows),
		nonJson: (options.nonJson as NonJsonHandling | undefined) ?? 'text',
		giveUpAfterMs: giveUp * 1000,
	};
}

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
