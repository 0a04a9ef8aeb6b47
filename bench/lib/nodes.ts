import { join } from 'node:path';

/**
 * The node classes, loaded by explicit `.ts` path: `MarketingRedis.node` sits next to its
 * codex `MarketingRedis.node.json`, and Node's resolver (which tsx uses) would pick the
 * JSON file for the extension-less specifier. The types still come from the TypeScript source.
 */
type NodeModule = typeof import('../../nodes/MarketingRedis/MarketingRedis.node');
type TriggerModule = typeof import('../../nodes/MarketingRedisTrigger/MarketingRedisTrigger.node');

const nodesDir = join(__dirname, '..', '..', 'nodes');

export function loadMarketingRedis(): NodeModule['MarketingRedis'] {
	return (require(join(nodesDir, 'MarketingRedis', 'MarketingRedis.node.ts')) as NodeModule).MarketingRedis;
}

export function loadMarketingRedisTrigger(): TriggerModule['MarketingRedisTrigger'] {
	return (require(join(nodesDir, 'MarketingRedisTrigger', 'MarketingRedisTrigger.node.ts')) as TriggerModule)
		.MarketingRedisTrigger;
}
