import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { DbRole, RedisConnectionConfig } from '../../platform/config';
import type { KeySchema } from '../../platform/keys';
import type { ChainableCommander } from '../../platform/redis-driver';
import type { ResultWaiter } from '../../platform/result-wait';
import type { RedisLike } from '../../platform/scripts';
import type { ItemParams } from './params';

/** What every operation gets besides its item's parameters. */
export interface OperationEnv {
	config: RedisConnectionConfig;
	keys: KeySchema;
	/** The shared, cached client for a role. */
	client(role: DbRole): RedisLike;
	/** A dedicated client (blocking commands); the caller must release it. */
	dedicated(role: DbRole): RedisLike;
	release(client: RedisLike): Promise<void>;
	/**
	 * The execution's one waiter for published results (reads on the role's shared client, one
	 * dedicated SUBSCRIBE connection for all items); closed when the node's run ends.
	 */
	resultWaiter(role: DbRole): ResultWaiter;
	secrets: Array<string | undefined>;
	/** Aborts when the execution is cancelled (n8n versions that offer it), for operations that wait. */
	signal?: AbortSignal;
}

/** Output of one item: json objects (several allowed), routed to an output index. */
export interface ItemResult {
	json: IDataObject | IDataObject[];
	/** Output index when the operation routes items to several outputs. */
	output?: number;
}

/**
 * The plan for one item of a pipelined operation: the commands it queues, and how to
 * read their replies. Planning validates all input, before anything is sent.
 */
export interface PipelinedItem {
	send(pipeline: ChainableCommander): void;
	/**
	 * Optional, Cluster mode only: the key whose slot decides which node runs this item.
	 * Defaults to the first key of the first command that send() queues.
	 */
	slotKey?: string;
	/**
	 * `replies` are this item's replies in order; errors are thrown before read() is called. A
	 * promise (an item that waits: Rate Limit > Check's Wait Until Allowed, a Wait for Result) settles while the
	 * other items' promises do, so items wait side by side, not one behind another.
	 */
	read(replies: unknown[]): ItemResult | null | Promise<ItemResult | null>;
}

export interface PipelinedOperation {
	kind: 'pipelined';
	role: DbRole;
	/** What the user chose, in Title Case: the node's canvas subtitle and the start of its errors ("Set Session failed: ..."). */
	action: string;
	/** With continueOnFail, the output that failed items go to when the node shows it (default 0). */
	errorOutput?: number;
	plan(params: ItemParams, env: OperationEnv): PipelinedItem;
}

/** An operation that must run item by item (blocking pops, lock waits with retry). */
export interface SequentialOperation {
	kind: 'sequential';
	role: DbRole;
	action: string;
	errorOutput?: number;
	run(params: ItemParams, env: OperationEnv, ctx: IExecuteFunctions): Promise<ItemResult | null>;
}

export type Operation = PipelinedOperation | SequentialOperation;

/** A resource: its UI (operation selector and fields) and its operations, side by side. */
export interface ResourceDefinition {
	/** Value of the `resource` parameter. */
	value: string;
	/** Name shown in the resource dropdown. */
	name: string;
	description: string;
	/** The `operation` selector for this resource plus its fields. */
	properties: INodeProperties[];
	operations: Record<string, Operation>;
	/** Number of outputs the node shows for an operation (defaults to 1). */
	outputs?: number;
}
