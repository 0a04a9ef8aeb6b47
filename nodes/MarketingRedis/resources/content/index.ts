import type { ResourceDefinition } from '../../../shared/operation';
import { contentOperations } from './operations';
import { contentProperties } from './description';

export const contentResource: ResourceDefinition = {
	value: 'content',
	name: 'Content',
	description: 'Cache of drafts, SEO results and other generated content (DB of the "content" role)',
	properties: contentProperties,
	operations: contentOperations,
};
