import type { ResourceDefinition } from '../../shared/operation';
import { apiCacheResource } from './apiCache';
import { contentResource } from './content';
import { conversationResource } from './conversation';
import { jobResource } from './job';
import { leaderboardResource } from './leaderboard';
import { lockResource } from './lock';
import { rateLimitResource } from './rateLimit';
import { searchResource } from './search';
import { serverResource } from './server';
import { sessionResource } from './session';
import { updateResource } from './update';

/** Every resource of the MarketingRedis node, in the order the UI lists them: by DB role, then state, then ops. */
export const RESOURCES: ResourceDefinition[] = [
	sessionResource,
	contentResource,
	searchResource,
	apiCacheResource,
	rateLimitResource,
	conversationResource,
	updateResource,
	lockResource,
	leaderboardResource,
	jobResource,
	serverResource,
];
