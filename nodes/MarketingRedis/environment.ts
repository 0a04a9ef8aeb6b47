import type { IExecuteFunctions } from 'n8n-workflow';

import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { configFromCredentials, CREDENTIAL_TYPE, secretsOf } from '../shared/credentials';
import type { OperationEnv } from '../shared/operation';

/** Builds the per-execution environment: credential -> config, key schema, pooled clients. */
export async function operationEnv(ctx: IExecuteFunctions): Promise<OperationEnv> {
	const credentials = await ctx.getCredentials(CREDENTIAL_TYPE);
	const config = configFromCredentials(credentials);
	const owner = ctx.getNode().credentials?.[CREDENTIAL_TYPE]?.id ?? undefined;
	return {
		config,
		keys: new KeySchema(config.keyPrefix),
		client: (role) => sharedPool.client(config, role, owner ?? undefined),
		dedicated: (role) => sharedPool.dedicated(config, role, 'blocking'),
		release: async (client) => sharedPool.release(client),
		secrets: secretsOf(config),
		signal: ctx.getExecutionCancelSignal?.(),
	};
}
