import type { INodeProperties, INodeType, INodeTypeDescription, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import { marketingRedisConnectionTest } from '../shared/connection-test';
import { eventAction, TRIGGER_EVENTS } from './events';
import { NodeConnectionTypes, NodeOperationError } from '../shared/n8n';
import { lookupSubtitle } from '../shared/subtitle';

const eventSelector: INodeProperties = {
	displayName: 'Trigger On',
	name: 'event',
	type: 'options',
	noDataExpression: true,
	options: TRIGGER_EVENTS.map((e) => ({ name: e.name, value: e.value, description: e.description, action: eventAction(e) })),
	default: TRIGGER_EVENTS[0]?.value ?? '',
};

export class MarketingRedisTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Marketing Redis Trigger',
		name: 'marketingRedisTrigger',
		icon: { light: 'file:marketingRedisTrigger.svg', dark: 'file:marketingRedisTrigger.dark.svg' },
		group: ['trigger'],
		// Version 2 renamed the queue event's settings; version 1 nodes keep theirs (events/settings.ts).
		version: [1, 2],
		subtitle: lookupSubtitle(['event'], Object.fromEntries(TRIGGER_EVENTS.map((e) => [e.value, eventAction(e)]))),
		documentationUrl: 'https://github.com/marketing-platform/n8n-nodes-marketing-redis/blob/main/docs/TRIGGERS.md#trigger-content-updates',
		// n8n's node panel merges this node with the action node under "Marketing Redis" and shows this text for
		// both, so it names the actions too.
		description:
			"Starts workflows on the marketing platform's Redis (content updates, queued jobs); with actions for sessions, caches, the job queue, rate limits, locks and more",
		eventTriggerDescription: 'Waiting for an update or a job on Redis',
		defaults: { name: 'Marketing Redis Trigger' },
		triggerPanel: {
			header: 'Listening to Redis',
			executionsHelp: {
				inactive: 'Click "Execute step", then send an update or enqueue a job: the first one shows here.',
				active: 'The workflow runs for every matching update or job.',
			},
			activationHint: 'Once the workflow is ready, publish it: it then runs for every update or job.',
		},
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'marketingRedisApi', required: true, testedBy: 'marketingRedisConnectionTest' }],
		properties: [eventSelector, ...TRIGGER_EVENTS.flatMap((e) => e.properties)],
	};

	methods = {
		credentialTest: { marketingRedisConnectionTest },
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const value = this.getNodeParameter('event') as string;
		const event = TRIGGER_EVENTS.find((e) => e.value === value);
		if (!event) throw new NodeOperationError(this.getNode(), `Unknown trigger event "${value}"`);
		return event.start(this);
	}
}
