import type { ResourceDefinition } from '../../../shared/operation';
import { jobOperations } from './operations';
import { jobProperties } from './description';

export const jobResource: ResourceDefinition = {
	value: 'job',
	name: 'Job Queue',
	description: 'At-least-once job queue shared with Python workers, and hand-off to Celery (DB of the "queue" role)',
	properties: jobProperties,
	operations: jobOperations,
};
