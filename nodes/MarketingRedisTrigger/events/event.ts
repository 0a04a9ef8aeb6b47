import type { INodeProperties, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

/**
 * One kind of event the trigger can start workflows on. Each lives in its own module with
 * its UI fields and its start logic side by side; the node file only routes on `event`.
 */
export interface TriggerEvent {
	/** Value of the `event` parameter. */
	value: string;
	name: string;
	description: string;
	/** Fields shown for this event (use displayOptions.show.event = [value]). */
	properties: INodeProperties[];
	/** Starts listening; the returned closeFunction must stop and release everything. */
	start(ctx: ITriggerFunctions): Promise<ITriggerResponse>;
}

/**
 * What an event is called where n8n lists it: the node creator shows an option's `action` as it
 * is, and only without one makes "On " plus the name in lower case without punctuation ("On
 * content update pub sub"). The canvas subtitle shows the same text.
 */
export function eventAction(event: Pick<TriggerEvent, 'name'>): string {
	return `On ${event.name}`;
}
