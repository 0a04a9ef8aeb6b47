import type { ResourceDefinition } from '../../shared/operation';
import { sessionResource } from './session';
import { rateLimitResource } from './rateLimit';
import { jobResource } from './job';
import { lockResource } from './lock';
import { contentResource } from './content';
import { searchResource } from './search';
import { apiCacheResource } from './apiCache';
import { conversationResource } from './conversation';
import { updateResource } from './update';
import { serverResource } from './server';
import { leaderboardResource } from './leaderboard';

/** Every resource of the MarketingRedis node, in the order the UI lists them. */
export const RESOURCES: ResourceDefinition[] = [sessionResource, rateLimitResource, jobResource, lockResource, contentResource, searchResource, apiCacheResource, conversationResource, updateResource, serverResource, leaderboardResource];
