import type { ResourceDefinition } from '../../../shared/operation';
import { lockOperations } from './operations';
import { lockProperties } from './description';

export const lockResource: ResourceDefinition = {
	value: 'lock',
	name: 'Lock',
	description: 'Distributed locks shared with the Python workers (lock:{name}, DB of the "default" role)',
	properties: lockProperties,
	operations: lockOperations,
};
