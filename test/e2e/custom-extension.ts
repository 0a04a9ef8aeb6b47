// The other way to load the package: as a custom extension (N8N_CUSTOM_EXTENSIONS), a folder holding
// dist/ and package.json. Node types are then CUSTOM.<node>. Runs in its own
// user folder so the community-package install of the main suite does not load a second copy.
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { N8nInstall } from '../../scripts/n8n-install';
import { credentialExport, N8nCli, n8nEnv, REPO_ROOT, type RedisTarget } from '../../scripts/lib/n8n';
import { freePort } from '../../scripts/lib/process';
import type { RedisClients } from './lib/context';
import { executeWorkflow, nodeItems } from './lib/execution';
import { expectEqual } from './lib/report';

export async function checkCustomExtension(install: N8nInstall, target: RedisTarget, redis: RedisClients, work: string): Promise<string> {
	const extensions = join(work, 'custom');
	const packageDir = join(extensions, 'n8n-nodes-marketing-redis');
	mkdirSync(packageDir, { recursive: true });
	cpSync(join(REPO_ROOT, 'dist'), join(packageDir, 'dist'), { recursive: true });
	cpSync(join(REPO_ROOT, 'package.json'), join(packageDir, 'package.json'));
	const userFolder = join(work, 'custom-user');
	const cli = new N8nCli(install, n8nEnv(userFolder, await freePort(), await freePort(), { N8N_CUSTOM_EXTENSIONS: extensions }));
	await cli.importCredentials([credentialExport(target)], join(userFolder, 'tmp'));
	await cli.importWorkflow(join(__dirname, 'fixtures', 'custom-extension.json'));
	await redis.db(0).del('session:custom_extension_user');
	const execution = await executeWorkflow(cli, 'e2eCustomExt001');
	const [got] = nodeItems(execution, 'Get Session');
	expectEqual(got?.data, { loadedAs: 'custom extension' }, 'session read back through CUSTOM.marketingRedis');
	expectEqual(await redis.db(0).exists('session:custom_extension_user'), 1, 'session:custom_extension_user in Redis');
	return 'CUSTOM.marketingRedis executed (set + get session) with N8N_CUSTOM_EXTENSIONS';
}
