import type { ResourceDefinition } from '../../../shared/operation';
import { conversationOperations } from './operations';
import { conversationProperties } from './description';

export const conversationResource: ResourceDefinition = {
	value: 'conversation',
	name: 'Conversation',
	description: 'Agent conversation memory, shareable with LangChain agents (DB of the "sessions" role)',
	properties: conversationProperties,
	operations: conversationOperations,
};
