import type { ResourceDefinition } from '../../../shared/operation';
import { sessionOperations } from './operations';
import { sessionProperties } from './description';

export const sessionResource: ResourceDefinition = {
	value: 'session',
	name: 'Session',
	description: 'User and agent session state (DB of the "sessions" role)',
	properties: sessionProperties,
	operations: sessionOperations,
};
