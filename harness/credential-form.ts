/**
 * Credential data as the Marketing Redis API credential form stores it: the form's defaults
 * plus the given fields. The tests, the bench and `n8n import:credentials` (npm start, e2e)
 * all hand n8n this shape; one copy keeps them in step with the form.
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

export function credentialForm(fields: ICredentialDataDecryptedObject = {}): ICredentialDataDecryptedObject {
	return {
		mode: 'standalone',
		host: '127.0.0.1',
		port: 6379,
		user: '',
		password: '',
		tls: false,
		sessionDb: 0,
		contentDb: 1,
		cacheDb: 2,
		queueDb: 3,
		rateLimitDb: 4,
		defaultDb: 0,
		keyPrefix: '',
		connectTimeout: 5,
		...fields,
	};
}
