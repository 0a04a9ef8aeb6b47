import type { ResourceDefinition } from '../../../shared/operation';
import { updateOperations } from './operations';
import { updateProperties } from './description';

export const updateResource: ResourceDefinition = {
	value: 'update',
	name: 'Update',
	description: 'Real-time content updates over pub/sub, optionally kept in a durable stream',
	properties: updateProperties,
	operations: updateOperations,
};
