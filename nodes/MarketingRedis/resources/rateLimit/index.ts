import type { ResourceDefinition } from '../../../shared/operation';
import { rateLimitOperations } from './operations';
import { rateLimitProperties } from './description';

export const rateLimitResource: ResourceDefinition = {
	value: 'rateLimit',
	name: 'Rate Limit',
	description: 'Sliding-window, token-bucket or fixed-window limits for API calls, that can wait for a slot (DB of the "rate limit" role)',
	properties: rateLimitProperties,
	operations: rateLimitOperations,
};
