import type { ResourceDefinition } from '../../../shared/operation';
import { searchOperations } from './operations';
import { searchProperties } from './description';

export const searchResource: ResourceDefinition = {
	value: 'search',
	name: 'Search Cache',
	description: 'Cached search results keyed by the normalised query (DB of the "API cache" role)',
	properties: searchProperties,
	operations: searchOperations,
};
