// Runs `npm start` as a user would (fresh dev folder, no REDIS_URL, so it starts its own redis-server
// with a generated password), checks the editor, the registered node types and the imported templates,
// then sends Ctrl-C (SIGINT to the process group) and checks that n8n and Redis are gone.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Redis from 'ioredis';

import { REPO_ROOT, TEMPLATE_CREDENTIAL, readWorkflow, tail, templateFiles } from '../../scripts/lib/n8n';
import { deadline, freePort, portIsFree } from '../../scripts/lib/process';
import { waitFor } from './lib/context';
import { expect } from './lib/report';
import { N8nRest } from './lib/rest';
import { OUR_TYPES } from './lib/validate';

export async function checkNpmStart(work: string): Promise<string> {
	const devDir = join(work, 'npm-start');
	const n8nPort = await freePort();
	const redisPort = await freePort();
	const env: NodeJS.ProcessEnv = {
		...process.env,
		MARKETING_REDIS_DEV_DIR: devDir,
		N8N_PORT: String(n8nPort),
		DEV_REDIS_PORT: String(redisPort),
	};
	delete env.REDIS_URL;
	const started = Date.now();
	// detached: its own process group, so a group SIGINT below is exactly what Ctrl-C in a terminal sends.
	const child = spawn('npm', ['start'], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	child.stdout.on('data', (d: Buffer) => (output += d.toString()));
	child.stderr.on('data', (d: Buffer) => (output += d.toString()));
	const exited = new Promise<string>((r) => child.once('exit', (code, signal) => r(code === null ? `signal ${signal}` : `code ${code}`)));
	const interrupt = () => {
		try {
			process.kill(-(child.pid as number), 'SIGINT');
		} catch {
			// already gone
		}
	};
	try {
		const url = await waitFor(
			'"n8n editor: <url>" from npm start',
			async () => {
				if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${tail(output)}`);
				return output.match(/n8n editor: (http:\/\/\S+)/)?.[1];
			},
			300_000,
		);
		const startup = ((Date.now() - started) / 1000).toFixed(0);
		const page = await fetch(url);
		expect(page.status === 200, `GET ${url} answered ${page.status}`);
		const rest = new N8nRest(url);
		await rest.signIn();
		const types = await rest.nodeTypeNames();
		for (const type of [OUR_TYPES.action, OUR_TYPES.trigger]) expect(types.includes(type), `${type} not registered`);
		const workflows = await rest.json<{ data: Array<{ id: string }> }>('GET', '/rest/workflows');
		const ids = workflows.data.map((w) => w.id);
		const missing = templateFiles().map((f) => readWorkflow(f).id).filter((id) => !ids.includes(id));
		expect(missing.length === 0, `templates not imported: ${missing.join(', ')}`);
		const credentials = await rest.json<{ data: Array<{ id: string; name: string }> }>('GET', '/rest/credentials');
		expect(credentials.data.some((c) => c.id === TEMPLATE_CREDENTIAL.id), 'the credential "Marketing Redis (local)" is missing');

		const password = readFileSync(join(devDir, 'redis-password'), 'utf8').trim();
		expect(password.length >= 32, 'the generated dev password is too short');
		expect(!output.includes(password), 'npm start printed the Redis password');
		const probe = new Redis({ host: '127.0.0.1', port: redisPort, password, lazyConnect: true, maxRetriesPerRequest: 1 });
		try {
			await probe.connect();
			expect((await probe.ping()) === 'PONG', 'the dev redis-server did not answer');
			expect(((await probe.config('GET', 'maxmemory-policy')) as string[])[1] === 'volatile-lru', 'the dev redis-server does not use our redis.conf');
		} finally {
			probe.disconnect();
		}

		interrupt();
		const code = await Promise.race([exited, deadline(60_000)]);
		expect(code !== 'timeout', `npm start did not stop within 60 s of Ctrl-C:\n${tail(output)}`);
		expect(await portIsFree(n8nPort), `n8n still listens on ${n8nPort} after Ctrl-C`);
		expect(await portIsFree(redisPort), `redis-server still listens on ${redisPort} after Ctrl-C`);
		return `editor ${url} up ${startup} s after npm start; ${types.length} node types incl. ours; ${ids.length} workflows; Ctrl-C stopped n8n and redis-server (npm exited with ${code})`;
	} finally {
		if (child.exitCode === null && child.signalCode === null) {
			interrupt();
			await Promise.race([exited, deadline(30_000)]);
			try {
				if (child.exitCode === null) process.kill(-(child.pid as number), 'SIGKILL');
			} catch {
				// the group is gone
			}
		}
	}
}
