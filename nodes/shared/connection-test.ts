import type { ICredentialTestFunctions, ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';

import { testConnection } from '../../platform/connection-test';
import { configFromCredentials } from './credentials';

/** The credential test both nodes declare with `testedBy`. */
export async function marketingRedisConnectionTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	let config;
	try {
		config = configFromCredentials(data);
	} catch (error) {
		return { status: 'Error', message: `Invalid credential: ${(error as Error).message}` };
	}
	const result = await testConnection(config);
	return { status: result.ok ? 'OK' : 'Error', message: result.message };
}
