import type { INode } from 'n8n-workflow';

import { redact, toPlatformError } from '../../platform/errors';
import { NodeOperationError } from './n8n';

/** Bad input for one item: names the item, the field, the problem and the fix. */
export function invalidInput(
	node: INode,
	itemIndex: number,
	field: string,
	problem: string,
	fix?: string,
): NodeOperationError {
	return new NodeOperationError(node, `Item ${itemIndex}: "${field}" ${problem}`, {
		itemIndex,
		description: fix,
	});
}

/** A bad setting of a node that has no items (a trigger): the same wording, without an item. */
export function invalidSetting(node: INode, field: string, problem: string, fix?: string): NodeOperationError {
	return new NodeOperationError(node, `"${field}" ${problem}`, { description: fix });
}

/** A Redis or driver failure for one item, as a readable message without secrets. */
export function redisFailure(
	node: INode,
	error: unknown,
	itemIndex: number,
	secrets: Array<string | undefined>,
	action: string,
): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	const described = toPlatformError(error, secrets);
	return new NodeOperationError(node, `Item ${itemIndex}: ${action} failed: ${described.message}`, {
		itemIndex,
		description: described.hint ? redact(described.hint, secrets) : undefined,
	});
}
