import type { INode } from 'n8n-workflow';

import { redact, toPlatformError } from '../../platform/errors';
import { NodeOperationError } from './n8n';

/**
 * How an error names its item: n8n's own wording. n8n-core and n8n-workflow end item errors with
 * "[item N]", N being the item's index from 0 (what `$itemIndex` gives), and the editor's error
 * view appends the same " [item N]" to any message with an itemIndex that does not already
 * contain it. Saying it that way keeps one number, the same one n8n shows, instead of two.
 */
export function itemSuffix(itemIndex: number): string {
	return ` [item ${itemIndex}]`;
}

/** Bad input for one item: names the field, the problem and the item; the fix is the description. */
export function invalidInput(
	node: INode,
	itemIndex: number,
	field: string,
	problem: string,
	fix?: string,
): NodeOperationError {
	return new NodeOperationError(node, `"${field}" ${problem}${itemSuffix(itemIndex)}`, {
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
	return new NodeOperationError(node, `${action} failed: ${described.message}${itemSuffix(itemIndex)}`, {
		itemIndex,
		description: described.hint ? redact(described.hint, secrets) : undefined,
	});
}
