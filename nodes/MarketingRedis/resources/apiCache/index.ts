import type { ResourceDefinition } from '../../../shared/operation';
import { apiCacheOperations } from './operations';
import { apiCacheProperties } from './description';

export const apiCacheResource: ResourceDefinition = {
	value: 'apiCache',
	name: 'API Cache',
	description: 'Cached API responses such as competitor data, by namespace and key (DB of the "API cache" role)',
	properties: apiCacheProperties,
	operations: apiCacheOperations,
};
