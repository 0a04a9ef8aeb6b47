// A user folder of its own for one scenario: the packed package installed as a community package,
// our credential, the scenario's workflows imported and published (active when n8n starts).
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { N8nInstall } from '../../../scripts/n8n-install';
import { credentialExport, installPackage, N8nCli, n8nEnv, packPackage, type RedisTarget, type WorkflowFile } from '../../../scripts/lib/n8n';
import { freePort } from '../../../scripts/lib/process';

export interface N8nSite {
	userFolder: string;
	/** Environment every process of this site shares (user folder, encryption key, queue settings ...). */
	env: NodeJS.ProcessEnv;
	cli: N8nCli;
}

/**
 * The env of one process of the site: its own HTTP, task-broker and health ports (two n8n processes on
 * one machine collide on the defaults), the site's shared settings otherwise.
 */
export async function processEnv(site: Pick<N8nSite, 'env'>, extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
	return {
		...site.env,
		N8N_PORT: String(await freePort()),
		N8N_RUNNERS_BROKER_PORT: String(await freePort()),
		QUEUE_HEALTH_CHECK_PORT: String(await freePort()),
		N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
		...extra,
	};
}

export async function prepareSite(
	install: N8nInstall,
	target: RedisTarget,
	dir: string,
	workflows: WorkflowFile[],
	shared: Record<string, string> = {},
): Promise<N8nSite> {
	const userFolder = join(dir, 'n8n');
	mkdirSync(userFolder, { recursive: true });
	// Every process of a scale-out setup must decrypt the same credentials; set it before the first import.
	const env = { ...n8nEnv(userFolder, 0, 0), N8N_ENCRYPTION_KEY: randomBytes(24).toString('hex'), ...shared };
	const cli = new N8nCli(install, await processEnv({ env }));
	const site: N8nSite = { userFolder, env, cli };
	const tarball = await packPackage(join(dir, 'pack'));
	await installPackage(userFolder, tarball);
	await cli.importCredentials([credentialExport(target)], join(dir, 'tmp'));
	const importDir = join(dir, 'workflows');
	mkdirSync(importDir, { recursive: true });
	for (const workflow of workflows) writeFileSync(join(importDir, `${workflow.id}.json`), JSON.stringify(workflow, null, 2));
	await cli.must(['import:workflow', '--separate', `--input=${importDir}`]);
	for (const workflow of workflows) await cli.must(['publish:workflow', `--id=${workflow.id}`]);
	return site;
}
