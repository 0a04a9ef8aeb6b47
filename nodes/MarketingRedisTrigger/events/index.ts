import type { TriggerEvent } from './event';

/** Every event of the MarketingRedisTrigger node, in the order the UI lists them. */
export const TRIGGER_EVENTS: TriggerEvent[] = [];
