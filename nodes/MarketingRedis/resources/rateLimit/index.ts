import type { ResourceDefinition } from '../../../shared/operation';
import { rateLimitOperations } from './operations';
import { rateLimitProperties } from './description';

export const rateLimitResource: ResourceDefinition = {
	value: 'rateLimit',
	name: 'Rate Limit',
	description: 'Exact sliding-window limits for API calls and other actions (DB of the "rate limit" role)',
	properties: rateLimitProperties,
	operations: rateLimitOperations,
};
