import {
	NodeOperationError,
	type IDataObject,
	type ITriggerFunctions,
	type ITriggerResponse,
} from 'n8n-workflow';

import { ResilientSubscriber } from '../../../platform/subscriber';
import { activationKey, register, stopPrevious } from './activations';
import type { TriggerEvent } from './event';
import {
	admitMessage,
	channelsProperty,
	filtersProperty,
	giveUpOption,
	nonJsonOption,
	readUpdateSettings,
	splitNames,
	triggerConfig,
} from './update-common';

const EVENT = 'contentUpdatePubSub';

/**
 * Content updates over pub/sub: lowest latency, but a message published while the workflow
 * is inactive or n8n is down is gone (see the durable stream event for that case).
 */
export const pubSubEvent: TriggerEvent = {
	value: EVENT,
	name: 'Content Update (Pub/Sub)',
	description:
		'Starts the workflow for each message published on the channels or patterns (lowest latency; messages sent while the workflow is inactive are lost)',
	properties: [
		channelsProperty(
			EVENT,
			'Exact channel names to SUBSCRIBE to, separated by commas. A "*" here is part of the name, not a wildcard.',
		),
		{
			displayName: 'Patterns',
			name: 'patterns',
			type: 'string',
			default: '',
			placeholder: 'campaign:*:updates',
			description:
				'Glob patterns to PSUBSCRIBE to, separated by commas (* any text, ? one character, [abc] one of). The output says which pattern matched.',
			displayOptions: { show: { event: [EVENT] } },
		},
		filtersProperty(EVENT),
		{
			displayName: 'Options',
			name: 'options',
			type: 'collection',
			placeholder: 'Add Option',
			default: {},
			displayOptions: { show: { event: [EVENT] } },
			options: [giveUpOption, nonJsonOption],
		},
	],
	start: startPubSub,
};

async function startPubSub(ctx: ITriggerFunctions): Promise<ITriggerResponse> {
	const node = ctx.getNode();
	const options = ctx.getNodeParameter('options', {}) as IDataObject;
	const settings = readUpdateSettings(ctx, options);
	const patterns = splitNames(ctx.getNodeParameter('patterns', ''));
	if (settings.channels.length === 0 && patterns.length === 0) {
		throw new NodeOperationError(node, 'Enter at least one channel or pattern', {
			description: 'The platform publishes content updates on "content_updates"',
		});
	}
	const config = await triggerConfig(ctx);
	const manual = ctx.getMode() === 'manual';

	// "Test step" shows the first matching message; n8n closes the trigger right after.
	let settleManual: () => void = () => undefined;
	const manualDone = new Promise<void>((resolve) => {
		settleManual = resolve;
	});
	let emittedOnce = false;

	const key = activationKey(ctx, EVENT);
	if (await stopPrevious(key)) {
		ctx.logger.warn(`Marketing Redis Trigger "${node.name}": stopped a subscription left from an earlier activation`);
	}
	const subscriber = new ResilientSubscriber(config, {
		channels: settings.channels,
		patterns,
		giveUpAfterMs: settings.giveUpAfterMs,
		logger: ctx.logger,
		label: `Marketing Redis Trigger "${node.name}"`,
		onMessage: (incoming) => {
			if (manual && emittedOnce) return;
			const admitted = admitMessage(ctx, settings, config, incoming.channel, incoming.payload, () => {
				// In manual mode the failed execution is the step's result: stop waiting.
				emittedOnce = true;
				settleManual();
			});
			if (!admitted) return;
			const json: IDataObject = { channel: incoming.channel };
			if (incoming.pattern !== undefined) json.pattern = incoming.pattern;
			json.message = admitted.message as IDataObject;
			json.receivedAt = incoming.receivedAt.toISOString();
			emittedOnce = true;
			// Always call through ctx: in manual mode n8n swaps ctx.emit after trigger() returns.
			ctx.emit([ctx.helpers.returnJsonArray([json])]);
			settleManual();
		},
		onGiveUp: (error) => {
			ctx.emitError(new NodeOperationError(node, error.message, { description: error.hint }));
			settleManual();
		},
	});
	try {
		await subscriber.start();
	} catch (error) {
		const failure = error as Error & { hint?: string };
		throw new NodeOperationError(node, `Could not subscribe: ${failure.message}`, { description: failure.hint });
	}
	const unregister = register(key, async () => subscriber.stop());

	return {
		closeFunction: async () => {
			unregister();
			await subscriber.stop();
			settleManual();
		},
		manualTriggerFunction: manual ? async () => await manualDone : undefined,
	};
}
