import { randomBytes } from 'node:crypto';

import type { IDataObject, IRun, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import type { RedisConnectionConfig } from '../../../platform/config';
import { sharedPool } from '../../../platform/connection-pool';
import { toPlatformError } from '../../../platform/errors';
import { KeySchema } from '../../../platform/keys';
import { withTimeout } from '../../../platform/timing';
import {
	followStreams,
	KeepPending,
	UPDATE_STREAM_ROLE,
	UpdateStreamReader,
	type UpdateStream,
} from '../../../platform/updates';
import { secretsOf } from '../../shared/credentials';
import { NodeOperationError } from '../../shared/n8n';
import { activationKey, register, stopPrevious } from './activations';
import type { TriggerEvent } from './event';
import { handOver, workflowRan } from './handover';
import {
	admitMessage,
	channelsProperty,
	coalesceOptions,
	coalesceValue,
	filtersProperty,
	nonJsonOption,
	triggerConfig,
} from './update-common';
import { giveUpOption, readStreamSettings, UPDATES_GIVE_UP_SECONDS, type StreamSettings } from './settings';
import { TriggerParams } from '../../shared/params';

const EVENT = 'contentUpdateStream';

/**
 * Content updates from the streams the Update resource's Publish appends to (stream:<channel>),
 * read through a consumer group: updates published while the workflow was inactive are
 * delivered when it comes back, each acknowledged once handled.
 */
export const streamEvent: TriggerEvent = {
	value: EVENT,
	name: 'Content Update (Durable Stream)',
	description:
		'Starts the workflow for each update appended to the channels\' streams, at least once: updates sent while the workflow is not published are delivered once it is published again',
	properties: [
		channelsProperty(
			EVENT,
			'Channels whose update stream (key stream:<channel>) to read, separated by commas. Publishers must append to the stream: the Update resource\'s Publish with "Also Append to Stream (Durable)" on.',
		),
		filtersProperty(EVENT),
		{
			displayName: 'Options',
			name: 'options',
			type: 'collection',
			placeholder: 'Add Option',
			default: {},
			displayOptions: { show: { event: [EVENT] } },
			options: [
				{
					displayName: 'Acknowledge',
					name: 'acknowledge',
					type: 'options',
					default: 'execution',
					description: 'When an update counts as handled and is removed from the pending list',
					options: [
						{
							name: 'When the Execution Finishes',
							value: 'execution',
							description:
								'If n8n stops mid-execution, the update is delivered again on restart (successful or failed, a finished execution acknowledges it)',
						},
						{
							name: 'As Soon as It Is Emitted',
							value: 'emit',
							description: 'Fastest; an update whose execution was cut short by an n8n crash is not delivered again',
						},
					],
				},
				...coalesceOptions,
				{
					displayName: 'Consumer Group',
					name: 'group',
					type: 'string',
					default: 'n8n',
					description:
						'Redis consumer group. Workflows sharing a group split the updates between them; give each workflow that must see every update its own group.',
				},
				giveUpOption(UPDATES_GIVE_UP_SECONDS),
				{
					displayName: 'Max Wait for an Execution (Minutes)',
					name: 'executionWaitMinutes',
					type: 'number',
					typeOptions: { minValue: 0 },
					default: 60,
					description:
						'With "When the Execution Finishes": if n8n has not reported an execution finished after this long, the trigger moves on and leaves the update pending (delivered again after a backoff, or by the next activation), so one lost execution cannot stall it. 0 waits forever.',
				},
				{
					displayName: 'Max Parallel Executions',
					name: 'maxParallel',
					type: 'number',
					typeOptions: { minValue: 1 },
					default: 1,
					description:
						'With "When the Execution Finishes": how many executions may run at once. 1 handles updates strictly one after another, in order.',
				},
				{
					displayName: 'New Group Starts At',
					name: 'startAt',
					type: 'options',
					default: 'new',
					description:
						'Where a consumer group created by this trigger starts reading. Once the group exists it always continues where it left off, including after downtime.',
					options: [
						{
							name: 'New Updates Only',
							value: 'new',
							description: 'Updates published from the first activation on',
						},
						{
							name: 'All Retained Updates',
							value: 'all',
							description: 'Everything still in the stream (up to its MAXLEN), then new updates',
						},
					],
				},
				nonJsonOption,
			],
		},
	],
	start: startStream,
};

type Entry = { channel: string; id: string; fields: Record<string, string>; redelivered: boolean };

function outputOf(
	ctx: ITriggerFunctions,
	settings: StreamSettings,
	config: RedisConnectionConfig,
	entry: Entry,
	onReported?: () => void,
	/** Older updates of the same value this one stands for (Coalesce By). */
	replaced: Entry[] = [],
): IDataObject | undefined {
	const admitted = admitMessage(ctx, settings, config, entry.channel, entry.fields.message ?? '', onReported);
	if (!admitted) return undefined;
	const json: IDataObject = {
		channel: entry.channel,
		message: admitted.message as IDataObject,
		publishedAt: entry.fields.publishedAt ?? null,
		receivedAt: new Date().toISOString(),
		id: entry.id,
		// Any of them delivered before: the execution may repeat one that already ran.
		redelivered: entry.redelivered || replaced.some((r) => r.redelivered),
	};
	// Only with the option on, so workflows saved without it see the same keys as before.
	if (settings.coalesceBy) Object.assign(json, { coalesced: replaced.length, replacedIds: replaced.map((r) => r.id) });
	return json;
}

async function startStream(ctx: ITriggerFunctions): Promise<ITriggerResponse> {
	const node = ctx.getNode();
	const settings = readStreamSettings(new TriggerParams(ctx));
	const config = await triggerConfig(ctx);
	const keys = new KeySchema(config.keyPrefix);
	const streams: UpdateStream[] = settings.channels.map((channel) => ({ key: keys.updatesStream(channel), channel }));
	const key = activationKey(ctx, EVENT);
	if (await stopPrevious(key)) {
		ctx.logger.warn(`Marketing Redis Trigger "${node.name}": stopped a stream reader left from an earlier activation`);
	}
	if (ctx.getMode() === 'manual') return await startManual(ctx, settings, config, streams, key);

	// Earlier activations of this node share the prefix, so their unacknowledged updates are ours to finish.
	const takeOverPrefix = `n8n:${ctx.getWorkflow().id ?? 'unsaved'}:${node.id ?? node.name}:`;
	const consumer = `${takeOverPrefix}${randomBytes(4).toString('hex')}`;
	let gaveUp = false;
	const closing = new AbortController();
	const label = `Marketing Redis Trigger "${node.name}"`;
	const readers = streamGroups(config, streams).map(
		(group) =>
			new UpdateStreamReader(config, {
				streams: group,
				group: settings.group,
				consumer,
				takeOverPrefix,
				newGroupStartsAt: settings.startAt,
				maxInFlight: settings.acknowledge === 'execution' ? settings.maxParallel : 1,
				giveUpAfterMs: settings.giveUpAfterMs,
				logger: ctx.logger,
				label,
				coalesce: settings.coalesceBy
					? { keyOf: (entry) => coalesceValue(settings, entry.fields.message ?? ''), windowMs: settings.coalesceWindowMs }
					: undefined,
				handle: async (entry, replaced) => {
					const json = outputOf(ctx, settings, config, entry, undefined, replaced);
					// Filtered out or reported by our own rules: handled, so acknowledged like any other entry.
					if (!json) return;
					const outcome = await handOver(ctx, json, {
						waitForRun: settings.acknowledge === 'execution',
						signal: closing.signal,
						label,
						what: replaced.length > 0 ? `update ${entry.id} (with the ${replaced.length} it replaced)` : `update ${entry.id}`,
						whereItWaits: 'The update stays pending in its stream and is delivered when the trigger is active again.',
						secrets: secretsOf(config),
					});
					// Rejecting leaves the entry pending: no execution ever saw it.
					if (!outcome.taken) throw new NodeOperationError(node, `n8n did not take it: ${outcome.why}`);
					if (outcome.done) await waitForExecution(outcome.done, settings.executionWaitMs);
				},
				onGiveUp: (error) => {
					if (gaveUp) return;
					gaveUp = true;
					ctx.emitError(new NodeOperationError(node, error.message, { description: error.hint }));
				},
			}),
	);
	const stopAll = async () => {
		closing.abort();
		await Promise.all(readers.map(async (reader) => reader.stop()));
	};
	try {
		for (const reader of readers) await reader.start();
	} catch (error) {
		await stopAll();
		const failure = error as Error & { hint?: string };
		throw new NodeOperationError(node, `Could not read the update stream: ${failure.message}`, {
			description: failure.hint,
		});
	}
	const unregister = register(key, stopAll);
	return {
		closeFunction: async () => {
			unregister();
			await stopAll();
		},
	};
}

/**
 * Waits for n8n to report the execution finished. n8n settles that promise only once the
 * execution has started; if starting it fails, nothing ever settles it, and with one execution
 * at a time the trigger would stall silently. After the limit the slot is freed and the entry
 * left pending, so the next activation delivers it again. A run that n8n ended before the
 * workflow ran (a queue-mode worker killed mid-execution) leaves the entry pending too.
 */
async function waitForExecution(done: Promise<IRun>, limitMs: number): Promise<void> {
	const run =
		limitMs <= 0
			? await done
			: await withTimeout(
					done,
					limitMs,
					() => new KeepPending(`the execution did not finish within ${Math.round(limitMs / 60_000)} min`),
					// A limit of minutes on an execution that may never start: not a reason to stay alive.
					{ unref: true },
				);
	if (!workflowRan(run)) {
		throw new KeepPending(`n8n ended the execution before the workflow ran: ${run?.data?.resultData?.error?.message ?? run?.status}`);
	}
}

/**
 * Streams read together by one blocking client. A multi-key XREADGROUP must stay in one
 * Cluster slot, and stream:{channel} keys of different channels rarely share one, so in
 * Cluster mode each stream gets its own reader.
 */
function streamGroups(config: RedisConnectionConfig, streams: UpdateStream[]): UpdateStream[][] {
	return config.mode === 'cluster' ? streams.map((stream) => [stream]) : [streams];
}

/** "Test step": show the next update appended from now on, without touching the consumer group. */
async function startManual(
	ctx: ITriggerFunctions,
	settings: StreamSettings,
	config: RedisConnectionConfig,
	streams: UpdateStream[],
	key: string,
): Promise<ITriggerResponse> {
	const clients = streamGroups(config, streams).map((group) => ({
		group,
		client: sharedPool.dedicated(config, UPDATE_STREAM_ROLE, 'blocking'),
	}));
	let stopped = false;
	const stop = async () => {
		if (stopped) return;
		stopped = true;
		for (const { client } of clients) client.disconnect();
		await Promise.all(clients.map(async ({ client }) => sharedPool.release(client)));
	};
	const unregister = register(key, stop);
	const channelOf = new Map(streams.map((s) => [s.key, s.channel]));
	let shown = false;
	const following = Promise.all(
		clients.map(async ({ group, client }) =>
			followStreams(
				client,
				group.map((s) => s.key),
				(streamKey, id, fields) => {
					if (shown) return true;
					const channel = fields.channel ?? channelOf.get(streamKey) ?? streamKey;
					let reported = false;
					const json = outputOf(ctx, settings, config, { channel, id, fields, redelivered: false }, () => {
						reported = true;
					});
					if (reported) {
						// The failed execution is the step's result.
						shown = true;
						void stop();
						return true;
					}
					if (!json) return false;
					shown = true;
					ctx.emit([ctx.helpers.returnJsonArray([json])]);
					// The other followers (Cluster, one per stream) have nothing more to do.
					void stop();
					return true;
				},
				() => stopped,
			),
		),
	);
	following.catch(() => undefined);
	return {
		closeFunction: async () => {
			unregister();
			await stop();
		},
		manualTriggerFunction: async () => {
			try {
				await following;
			} catch (error) {
				if (shown || stopped) return;
				const described = toPlatformError(error, secretsOf(config));
				ctx.emitError(new NodeOperationError(ctx.getNode(), `Reading the update stream failed: ${described.message}`));
			}
		},
	};
}
