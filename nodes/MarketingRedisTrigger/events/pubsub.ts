import type { IDataObject, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import { ResilientSubscriber } from '../../../platform/subscriber';
import { secretsOf } from '../../shared/credentials';
import { activationKey, register, stopPrevious } from './activations';
import type { TriggerEvent } from './event';
import { handOver } from './handover';
import { admitMessage, channelsProperty, filtersProperty, nonJsonOption, triggerConfig } from './update-common';
import { giveUpOption, readPubSubSettings, UPDATES_GIVE_UP_SECONDS } from './settings';
import { NodeOperationError } from '../../shared/n8n';
import { TriggerParams } from '../../shared/params';

const EVENT = 'contentUpdatePubSub';

/**
 * Content updates over pub/sub: lowest latency, but a message published while the workflow
 * is inactive or n8n is down is gone (see the durable stream event for that case).
 */
export const pubSubEvent: TriggerEvent = {
	value: EVENT,
	name: 'Content Update (Pub/Sub)',
	description:
		'Starts the workflow for each message published on the channels or patterns (lowest latency; messages sent while the workflow is not published are lost)',
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
			options: [giveUpOption(UPDATES_GIVE_UP_SECONDS), nonJsonOption],
		},
	],
	start: startPubSub,
};

async function startPubSub(ctx: ITriggerFunctions): Promise<ITriggerResponse> {
	const node = ctx.getNode();
	const settings = readPubSubSettings(new TriggerParams(ctx));
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
	const closing = new AbortController();
	const label = `Marketing Redis Trigger "${node.name}"`;
	const subscriber = new ResilientSubscriber(config, {
		channels: settings.channels,
		patterns: settings.patterns,
		giveUpAfterMs: settings.giveUpAfterMs,
		logger: ctx.logger,
		label,
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
			// The first attempt runs synchronously, so messages reach n8n in the order they came.
			void handOver(ctx, json, {
				waitForRun: false,
				signal: closing.signal,
				label,
				what: `a message on channel "${incoming.channel}"`,
				whereItWaits:
					'Pub/Sub keeps no copy, so this message is gone. Use the "Content Update (Durable Stream)" event for updates that must never be lost.',
				secrets: secretsOf(config),
			}).then(settleManual);
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
	const stop = async () => {
		closing.abort();
		await subscriber.stop();
	};
	const unregister = register(key, stop);

	return {
		closeFunction: async () => {
			unregister();
			await stop();
			settleManual();
		},
		manualTriggerFunction: manual ? async () => await manualDone : undefined,
	};
}
