// The credential's "Test" button, through the running n8n's REST API: n8n finds our node's
// `testedBy` method and runs it. Right settings pass; a wrong password fails with a readable
// message that does not echo the password.
import { credentialExport, TEMPLATE_CREDENTIAL, type RedisTarget } from '../../scripts/lib/n8n';
import { expect } from './lib/report';
import type { N8nRest } from './lib/rest';

interface TestResult {
	data: { status: string; message: string };
}

export async function checkCredentialTest(rest: N8nRest, target: RedisTarget): Promise<string> {
	const good = credentialExport(target);
	const ok = await rest.json<TestResult>('POST', '/rest/credentials/test', { credentials: good });
	expect(ok.data.status === 'OK', `the credential test failed with the right settings: ${JSON.stringify(ok.data)}`);
	const wrongPassword = 'e2e-wrong-password-5f1c';
	const bad = { ...good, data: { ...good.data, password: wrongPassword } };
	const failed = await rest.json<TestResult>('POST', '/rest/credentials/test', { credentials: bad });
	expect(failed.data.status === 'Error', `a wrong password passed the credential test: ${JSON.stringify(failed.data)}`);
	expect(!failed.data.message.includes(wrongPassword), 'the credential test message echoes the password');
	expect(failed.data.message.length > 10, `unhelpful message: "${failed.data.message}"`);
	return `"${TEMPLATE_CREDENTIAL.name}": OK; wrong password: "${failed.data.message.slice(0, 100)}"`;
}
