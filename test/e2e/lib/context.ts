// What a template spec gets to work with: the n8n CLI, raw Redis clients and, once n8n serves, its REST API.
import type Redis from 'ioredis';

import { createRedis } from '../../../platform/redis-client';

import type { N8nCli, RedisTarget } from '../../../scripts/lib/n8n';
import { sleep } from '../../../scripts/lib/process';
import { executeWorkflow, type Execution } from './execution';
import type { N8nRest } from './rest';

export class RedisClients {
	private readonly clients = new Map<number, Redis>();

	constructor(readonly target: RedisTarget) {}

	/**
	 * A raw client on one DB, as a Python service (redis-py) would use it; it carries our scripts,
	 * as every platform client does, so the producers can enqueue through platform/queue.
	 */
	db(db: number): Redis {
		let client = this.clients.get(db);
		if (!client) {
			client = createRedis({
				host: this.target.host,
				port: this.target.port,
				username: this.target.username,
				password: this.target.password,
				db,
				lazyConnect: false,
				maxRetriesPerRequest: 2,
			});
			this.clients.set(db, client);
		}
		return client;
	}

	async close(): Promise<void> {
		await Promise.all([...this.clients.values()].map((c) => c.quit().catch(() => c.disconnect())));
		this.clients.clear();
	}
}

export interface SpecContext {
	cli: N8nCli;
	redis: RedisClients;
	execute(id: string): Promise<Execution>;
	/** Set during the `n8n start` phase. */
	rest?: N8nRest;
}

export function makeContext(cli: N8nCli, redis: RedisClients): SpecContext {
	return { cli, redis, execute: (id) => executeWorkflow(cli, id) };
}

/** Thrown from a probe to stop waiting at once (for example, an execution already failed). */
export class FatalError extends Error {}

/** Polls until `probe` returns a truthy value or the time is up; the last probe error is the failure. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let last = '';
	while (Date.now() < deadline) {
		try {
			const value = await probe();
			if (value) return value;
		} catch (error) {
			if (error instanceof FatalError) throw error;
			last = (error as Error).message;
		}
		await sleep(500);
	}
	throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
}

/** Fails fast when n8n already recorded a failed execution of the workflow. */
export async function noFailedExecutions(ctx: SpecContext, workflowId: string): Promise<void> {
	const list = (await ctx.rest?.executions(workflowId)) ?? [];
	const failed = list.filter((e) => e.status === 'error' || e.status === 'crashed');
	if (failed.length > 0) {
		throw new FatalError(`${failed.length} execution(s) of ${workflowId} failed (ids ${failed.map((e) => e.id).join(', ')}); see n8n's Executions list`);
	}
}
