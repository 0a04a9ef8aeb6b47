import type { IExecuteFunctions } from 'n8n-workflow';

import { sharedPool } from '../../platform/connection-pool';
import type { DbRole } from '../../platform/config';
import { KeySchema } from '../../platform/keys';
import { ResultWaiter } from '../../platform/result-wait';
import { configFromCredentials, CREDENTIAL_TYPE, secretsOf } from '../shared/credentials';
import type { OperationEnv } from '../shared/operation';

/** Builds the per-execution environment: credential -> config, key schema, pooled clients. `finish` closes what the run opened. */
export async function operationEnv(ctx: IExecuteFunctions): Promise<OperationEnv & { finish(): Promise<void> }> {
	const credentials = await ctx.getCredentials(CREDENTIAL_TYPE);
	const config = configFromCredentials(credentials);
	const owner = ctx.getNode().credentials?.[CREDENTIAL_TYPE]?.id ?? undefined;
	const waiters = new Map<DbRole, ResultWaiter>();
	const client = (role: DbRole) => sharedPool.client(config, role, owner ?? undefined);
	const signal = ctx.getExecutionCancelSignal?.();
	// A cancelled execution ends its result waits at once (as timed out) and gives back their
	// SUBSCRIBE connection, instead of holding both until Wait for Result runs out.
	const cancel = () => {
		for (const waiter of waiters.values()) void waiter.close();
	};
	signal?.addEventListener('abort', cancel, { once: true });
	return {
		config,
		keys: new KeySchema(config.keyPrefix),
		client,
		dedicated: (role) => sharedPool.dedicated(config, role, 'blocking'),
		release: async (client) => sharedPool.release(client),
		resultWaiter: (role) => {
			let waiter = waiters.get(role);
			if (!waiter) {
				waiter = new ResultWaiter({
					reader: client(role),
					openSubscriber: () => sharedPool.dedicated(config, role, 'subscriber'),
					release: (c) => sharedPool.release(c),
				});
				waiters.set(role, waiter);
				if (signal?.aborted) void waiter.close();
			}
			return waiter;
		},
		finish: async () => {
			signal?.removeEventListener('abort', cancel);
			await Promise.all([...waiters.values()].map((w) => w.close()));
			waiters.clear();
		},
		secrets: secretsOf(config),
		signal,
	};
}
