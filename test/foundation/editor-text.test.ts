/**
 * What the editor shows for our nodes. The subtitle under a node on the canvas is the
 * description's `subtitle` expression, which the editor evaluates with n8n-workflow's expression
 * engine (workflow.expression.getSimpleParameterValue, mode "internal"); the test evaluates it the
 * same way, with the real engine, for every resource/operation pair and every trigger event.
 *
 * The node creator names a trigger's events from the "Trigger On" options: an option's `action`
 * as it is, otherwise "On " + the name in lower case without punctuation ("On content update pub
 * sub"; n8n-editor-ui's useActionsGeneration, 2.8 and 2.41), so every event carries its action.
 */
import { Workflow, type INode, type INodeProperties, type INodePropertyOptions, type INodeType } from 'n8n-workflow';

import { MarketingRedis } from '../../nodes/MarketingRedis/MarketingRedis.node';
import { MarketingRedisTrigger } from '../../nodes/MarketingRedisTrigger/MarketingRedisTrigger.node';
import { StaticNodeTypes } from '../../harness/n8n-engine';

function canvasSubtitle(nodeType: INodeType, parameters: Record<string, string>): unknown {
	const { description } = nodeType;
	const node: INode = {
		id: 'n',
		name: 'Node',
		type: description.name,
		typeVersion: Math.max(...[description.version].flat()),
		position: [0, 0],
		parameters,
	};
	const workflow = new Workflow({ nodes: [node], connections: {}, nodeTypes: new StaticNodeTypes({ [description.name]: nodeType }), active: false });
	return workflow.expression.getSimpleParameterValue(node, description.subtitle, 'internal', {});
}

const action = new MarketingRedis();
const trigger = new MarketingRedisTrigger();

/** Every resource/operation pair the node offers, from its own selectors. */
function pairs(): Array<[string, string]> {
	const resources = action.description.properties.find((p) => p.name === 'resource')!.options as INodePropertyOptions[];
	return resources.flatMap((resource) => {
		const selector = action.description.properties.find(
			(p): p is INodeProperties => p.name === 'operation' && (p.displayOptions?.show?.resource ?? []).includes(resource.value as string),
		)!;
		return (selector.options as INodePropertyOptions[]).map((op): [string, string] => [resource.value as string, op.value as string]);
	});
}

const SUBTITLES: Record<string, string> = {
	'session/set': 'Set Session',
	'session/get': 'Get Session',
	'session/delete': 'Delete Session',
	'session/refresh': 'Refresh Session TTL',
	'content/cache': 'Cache Content',
	'content/get': 'Get Content',
	'content/delete': 'Delete Content',
	'search/cacheResults': 'Cache Search Results',
	'search/getResults': 'Get Cached Search Results',
	'apiCache/set': 'Cache API Response',
	'apiCache/get': 'Get Cached API Response',
	'apiCache/delete': 'Delete Cached API Response',
	'rateLimit/check': 'Check Rate Limit',
	'rateLimit/status': 'Get Rate Limit Status',
	'rateLimit/reset': 'Reset Rate Limit',
	'conversation/append': 'Append Messages',
	'conversation/getHistory': 'Get Conversation History',
	'conversation/clear': 'Clear Conversation',
	'update/publish': 'Publish Update',
	'lock/acquire': 'Acquire Lock',
	'lock/release': 'Release Lock',
	'lock/extend': 'Extend Lock',
	'leaderboard/add': 'Add or Increment Score',
	'leaderboard/top': 'Get Top Entries',
	'leaderboard/rank': 'Get Rank and Score',
	'leaderboard/remove': 'Remove Member',
	'job/enqueue': 'Enqueue Job',
	'job/dequeue': 'Dequeue Job',
	'job/complete': 'Complete Job',
	'job/fail': 'Fail Job',
	'job/stats': 'Get Queue Stats',
	'job/recoverStalled': 'Recover Stalled Jobs',
	'job/retryDead': 'Retry Dead Jobs',
	'job/purgeDead': 'Purge Dead Jobs',
	'job/sendCeleryTask': 'Send Celery Task',
	'job/getResult': 'Get Job Result',
	'job/getCeleryResult': 'Get Celery Task Result',
	'server/health': 'Check Redis Health',
};

const EVENTS: Record<string, string> = {
	contentUpdatePubSub: 'On Content Update (Pub/Sub)',
	contentUpdateStream: 'On Content Update (Durable Stream)',
	jobAvailable: 'On Job Available on Queue',
};

describe('canvas subtitles', () => {
	it('the table below lists every resource/operation pair the node offers', () => {
		expect(pairs().map(([r, o]) => `${r}/${o}`).sort()).toEqual(Object.keys(SUBTITLES).sort());
	});

	it.each(pairs())('%s / %s reads as the action chosen', (resource, operation) => {
		expect(canvasSubtitle(action, { resource, operation })).toBe(SUBTITLES[`${resource}/${operation}`]);
	});

	it.each(Object.entries(EVENTS))('trigger event %s reads as "%s"', (event, text) => {
		expect(canvasSubtitle(trigger, { event })).toBe(text);
	});

	it('a value this version does not know gives an empty subtitle, not an error', () => {
		expect(canvasSubtitle(action, { resource: 'session', operation: 'future' })).toBe('');
		expect(canvasSubtitle(action, { resource: 'future', operation: 'set' })).toBe('');
		expect(canvasSubtitle(trigger, { event: 'future' })).toBe('');
	});
});

describe('trigger events in the node creator', () => {
	const options = trigger.description.properties.find((p) => p.name === 'event')!.options as INodePropertyOptions[];

	it('the selector is the one n8n reads events from ("Trigger On")', () => {
		expect(trigger.description.properties.find((p) => p.name === 'event')!.displayName.toLowerCase()).toBe('trigger on');
	});

	it.each(options.map((o) => [o.name, o] as const))('%s has an action, the same text as its subtitle', (_name, option) => {
		expect(option.action).toBe(EVENTS[option.value as string]);
	});
});

describe('words of n8n 2.x', () => {
	const panel = trigger.description.triggerPanel as { executionsHelp: { inactive: string; active: string }; activationHint: string };

	it('the trigger panel says Publish and "Execute step", as n8n 2.x labels them', () => {
		const text = [panel.executionsHelp.inactive, panel.executionsHelp.active, panel.activationHint].join('\n');
		expect(text).not.toMatch(/\bactivate\b|test step/i);
		expect(panel.activationHint).toMatch(/\bpublish\b/i);
		expect(panel.executionsHelp.inactive).toContain('"Execute step"');
	});

	it('no field of either node names the "Test step" button', () => {
		const texts = JSON.stringify([action.description.properties, trigger.description.properties]);
		expect(texts).not.toMatch(/test step/i);
	});
});
