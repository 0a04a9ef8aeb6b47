import type { ResourceDefinition } from '../../../shared/operation';
import { serverOperations } from './operations';
import { serverProperties } from './description';

export const serverResource: ResourceDefinition = {
	value: 'server',
	name: 'Server',
	description: 'Health of the Redis server: memory, hit rate, evictions, clients, slow log',
	properties: serverProperties,
	operations: serverOperations,
};
