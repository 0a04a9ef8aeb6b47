// End-to-end suite (`npm run test:e2e`): this package inside a real, pinned n8n.
//  1. installs or reuses n8n (scripts/n8n-install.ts) and prints its version;
//  2. starts its own redis-server (or uses REDIS_URL) and its own n8n user folder in a temp dir;
//  3. installs the packed package like a community package, imports a credential and EVERY template;
//  4. runs each template with `n8n execute --id` and checks the output and the Redis state;
//  5. starts `n8n start` with the trigger templates published, fires publishes and jobs, checks the
//     executions (REST API) and their effects, proves interop with n8n's built-in Redis node both ways,
//     and takes the editor screenshot;
//  6. runs `npm start`'s script and checks the editor answers with our node types registered.
// Prints a summary and exits non-zero on any failure. A template that cannot run is a failure.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { ensureN8n, N8N_VERSION, type N8nInstall } from '../../scripts/n8n-install';
import {
	credentialExport,
	installPackage,
	N8nCli,
	n8nEnv,
	packPackage,
	readWorkflow,
	startN8nServer,
	tail,
	templateFiles,
	type N8nServer,
	type RedisTarget,
} from '../../scripts/lib/n8n';
import { freePort, runCommand } from '../../scripts/lib/process';
import { startRedisServer, parseRedisUrl } from '../helpers/redis-server';
import { makeContext, RedisClients, type SpecContext } from './lib/context';
import { Report, expect } from './lib/report';
import { N8nRest } from './lib/rest';
import { loadDescriptions, OUR_TYPES, validateTemplate } from './lib/validate';
import { SPECS, type TriggerSpec } from './specs';
import { INTEROP_FIXTURES, builtinCredential, interopTriggerCheck, interopWriteCheck, publishFromBuiltin } from './interop';
import { checkEditor } from './editor';
import { checkNpmStart } from './npm-start';
import { checkCustomExtension } from './custom-extension';
import { checkCredentialTest } from './credential-test';

const FIXTURES_DIR = join(__dirname, 'fixtures');
const KEEP = process.env.E2E_KEEP === '1';

async function main(): Promise<number> {
	const report = new Report();
	const cleanups: Array<() => Promise<void> | void> = [];
	let version = `(not installed; wanted ${N8N_VERSION})`;
	let install: N8nInstall | undefined;

	try {
		await report.check(`n8n ${N8N_VERSION} installed in its own folder`, async () => {
			install = await ensureN8n((line) => console.log(`    ${line}`));
			const result = await runCommand(install.node, [install.bin, '--version']);
			version = result.stdout.trim();
			expect(version === N8N_VERSION, `n8n --version printed "${version}"`);
			return `n8n ${version} at ${install.dir}`;
		});
		console.log(`\n>>> Running against n8n ${version}\n`);
		if (!install) return finish(report, version);

		// Redis: its own server with our redis.conf and a password, or REDIS_URL.
		let target: RedisTarget;
		if (process.env.REDIS_URL) {
			target = parseRedisUrl(process.env.REDIS_URL);
		} else {
			const server = await startRedisServer();
			cleanups.push(async () => {
				await server.stop();
				server.cleanup();
			});
			target = { host: '127.0.0.1', port: server.port, password: server.password };
		}
		const redis = new RedisClients(target);
		cleanups.push(() => redis.close());

		const work = mkdtempSync(join(tmpdir(), 'marketing-redis-e2e-'));
		cleanups.push(() => (KEEP ? console.log(`(kept ${work})`) : rmSync(work, { recursive: true, force: true })));
		const userFolder = join(work, 'n8n');
		const env = n8nEnv(userFolder, await freePort(), await freePort());
		const cli = new N8nCli(install, env);
		const ctx = makeContext(cli, redis);

		const loaded = await report.check('built package packed and installed as a community package', async () => {
			const tarball = await packPackage(join(work, 'pack'));
			await installPackage(userFolder, tarball);
			return `${basename(tarball)} -> ${userFolder}/.n8n/nodes/node_modules`;
		});
		if (!loaded) return finish(report, version);

		// Every template: present, with a spec, statically valid against the built nodes.
		const files = templateFiles();
		const descriptions = loadDescriptions();
		for (const file of files) {
			const name = basename(file);
			await report.check(`template ${name}: valid against the built nodes`, async () => {
				expect(
					SPECS.some((s) => s.file === name),
					'no spec in test/e2e/specs.ts runs this template (a template that cannot run is a failure)',
				);
				const problems = validateTemplate(readWorkflow(file), descriptions);
				expect(problems.length === 0, problems.join('\n'));
			});
		}
		for (const spec of SPECS) {
			if (!files.some((f) => basename(f) === spec.file)) report.fail(`spec for ${spec.file}`, 'the template file is missing');
		}

		await report.check('credentials imported (ours and the built-in Redis node\'s)', async () => {
			await cli.importCredentials([credentialExport(target), builtinCredential(target)], join(work, 'tmp'));
		});
		// One import of a folder holding every template and fixture (each CLI call boots n8n), then a listing
		// proves each one arrived.
		const importDir = join(work, 'import');
		mkdirSync(importDir);
		const toImport = [...files, ...INTEROP_FIXTURES.map((f) => join(FIXTURES_DIR, f))];
		for (const file of toImport) copyFileSync(file, join(importDir, basename(file)));
		let listed: string[] = [];
		await report.check(`${toImport.length} workflows imported (n8n import:workflow --separate)`, async () => {
			await cli.must(['import:workflow', '--separate', `--input=${importDir}`]);
			const list = await cli.must(['list:workflow', '--onlyId']);
			listed = list.stdout.split('\n').map((l) => l.trim());
		});
		for (const file of toImport) {
			const { id } = readWorkflow(file);
			await report.check(`imported ${basename(file)} as ${id}`, async () => {
				expect(listed.includes(id), `n8n list:workflow does not show ${id}`);
			});
		}

		// Templates that start with a Manual Trigger run through `n8n execute`.
		for (const spec of SPECS) {
			if (spec.kind !== 'execute') continue;
			await report.check(`run ${spec.file} (n8n execute)`, () => spec.run(ctx));
		}
		await report.check('interop: our node writes, the built-in Redis node reads (and the reverse)', () => interopWriteCheck(ctx));
		await report.check('also loads as a custom extension (N8N_CUSTOM_EXTENSIONS)', () =>
			checkCustomExtension(install as N8nInstall, target, redis, work),
		);

		// Triggers: publish the workflows, then start n8n so it activates them.
		const triggerSpecs = SPECS.filter((s): s is TriggerSpec => s.kind === 'trigger');
		const triggerIds = [...triggerSpecs.map((s) => readWorkflow(join(__dirname, '..', '..', 'workflows', s.file)).id), 'e2eInteropTrig1'];
		for (const id of triggerIds) {
			await report.check(`publish (activate) ${id}`, async () => {
				await cli.must(['publish:workflow', `--id=${id}`]);
			});
		}
		let server: N8nServer | undefined;
		await report.check('n8n start: editor and REST API up', async () => {
			server = await startN8nServer(install as N8nInstall, env);
			return server.url;
		});
		if (server) {
			const running = server;
			cleanups.push(() => running.stop());
			await triggerPhase(report, ctx, running, triggerSpecs, triggerIds, target, work, install);
			await report.check('n8n stops cleanly', async () => {
				await running.stop();
				expect(running.child.exitCode !== null || running.child.signalCode !== null, 'n8n is still running');
			});
		}

		await report.check('npm start: editor answers with the nodes registered; Ctrl-C stops everything', () =>
			checkNpmStart(work),
		);
	} catch (error) {
		report.fail('suite', (error as Error).stack ?? String(error));
	} finally {
		for (const cleanup of cleanups.reverse()) {
			try {
				await cleanup();
			} catch (error) {
				console.error(`cleanup: ${(error as Error).message}`);
			}
		}
	}
	return finish(report, version);
}

async function triggerPhase(
	report: Report,
	base: SpecContext,
	server: N8nServer,
	specs: TriggerSpec[],
	triggerIds: string[],
	target: RedisTarget,
	work: string,
	install: N8nInstall | undefined,
): Promise<void> {
	const rest = new N8nRest(server.url);
	const ctx: SpecContext = { ...base, rest };
	const signedIn = await report.check('owner account set up, logged in over REST', async () => {
		await rest.signIn();
	});
	if (!signedIn) return;
	await report.check('node types registered in the running n8n', async () => {
		const names = await rest.nodeTypeNames();
		for (const type of [OUR_TYPES.action, OUR_TYPES.trigger]) expect(names.includes(type), `${type} is not in /types/nodes.json`);
		return `${OUR_TYPES.action}, ${OUR_TYPES.trigger} among ${names.length} types`;
	});
	await report.check("credential test in n8n (our node's testedBy)", () => checkCredentialTest(rest, target));
	await report.check('trigger workflows are active', async () => {
		const active = await rest.activeWorkflowIds();
		const missing = triggerIds.filter((id) => !active.includes(id));
		expect(missing.length === 0, `not active: ${missing.join(', ')}\n${tail(server.logs(), 3000)}`);
		return active.join(', ');
	});
	for (const spec of specs) {
		await report.check(`trigger ${spec.file}: fired and executed`, async () => {
			await spec.fire(ctx);
			return spec.verify(ctx);
		});
	}
	await report.check("interop: the built-in Redis node publishes, our trigger starts a workflow", async () => {
		await publishFromBuiltin(install as N8nInstall, target, join(work, 'publisher'));
		return interopTriggerCheck(ctx);
	});
	await report.check('editor screenshot; our node operations show in the node panel', () => checkEditor(server.url, rest));
}

function finish(report: Report, version: string): number {
	console.log(report.summary(`Marketing Redis e2e against n8n ${version}`));
	return report.failed.length === 0 ? 0 : 1;
}

main().then(
	(code) => process.exit(code),
	(error: Error) => {
		console.error(error);
		process.exit(1);
	},
);
