import type { TriggerEvent } from './event';
import { pubSubEvent } from './pubsub';
import { streamEvent } from './stream';
import { queueEvent } from './queue';

export { eventAction } from './event';

/** Every event of the MarketingRedisTrigger node, in the order the UI lists them. */
export const TRIGGER_EVENTS: TriggerEvent[] = [
	pubSubEvent,
	streamEvent,
	queueEvent,
];
