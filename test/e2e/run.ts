// End-to-end suite (`npm run test:e2e`): this package inside real n8n, once per n8n line (scripts/n8n-install.ts):
// `oldest` (n8n 2.8.4 on the machine's Node 20) then `newest` (the newest release that installs here, on Node 24).
// E2E_N8N_LINES=oldest|newest|oldest,newest picks lines (default both). For each line:
//  1. installs or reuses that n8n and prints its n8n and Node versions;
//  2. starts its own redis-server (or uses REDIS_URL) and its own n8n user folder and ports in a temp dir;
//  3. installs the packed package like a community package, imports a credential and EVERY template;
//  4. runs each template with `n8n execute --id` and checks the output and the Redis state;
//  5. starts `n8n start` with the trigger templates published, fires publishes and jobs, checks the
//     executions (REST API) and their effects, proves interop with n8n's built-in Redis node both ways,
//     and checks the editor's node panel;
//  6. runs the README's manual install command verbatim in a fresh ~/.n8n/nodes and checks n8n loads it;
//  7. (oldest line only) runs `npm start`'s script and checks the editor answers with our node types registered.
// Prints a summary per line and a combined one, and exits non-zero on any failure. A template that cannot run is a failure.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { ensureN8nLine, installEnv, parseLines, type N8nInstall, type N8nLine } from '../../scripts/n8n-install';
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
import { checkReadmeInstall } from './readme-install';
import { checkDurableTrigger, DURABLE_FIXTURE, DURABLE_WORKFLOW_ID } from './durable-trigger';
import { checkQueueMode } from './queue-mode';
import { checkCrashRecovery } from './crash';

const FIXTURES_DIR = join(__dirname, 'fixtures');
const KEEP = process.env.E2E_KEEP === '1';

interface LineOutcome {
	line: N8nLine;
	n8nVersion: string;
	nodeVersion: string;
	report: Report;
	seconds: number;
}

async function main(): Promise<number> {
	const lines = parseLines(process.env.E2E_N8N_LINES);
	console.log(`n8n lines to run: ${lines.join(', ')}${process.env.E2E_N8N_LINES ? ' (E2E_N8N_LINES)' : ''}`);
	const outcomes: LineOutcome[] = [];
	for (const line of lines) outcomes.push(await runLine(line, lines));
	console.log(combinedSummary(outcomes));
	return outcomes.every((o) => o.report.failed.length === 0) ? 0 : 1;
}

async function runLine(line: N8nLine, lines: N8nLine[]): Promise<LineOutcome> {
	const report = new Report();
	const started = Date.now();
	const cleanups: Array<() => Promise<void> | void> = [];
	const outcome: LineOutcome = { line, n8nVersion: '(not installed)', nodeVersion: '?', report, seconds: 0 };
	let install: N8nInstall | undefined;
	console.log(`\n${'#'.repeat(78)}\n# n8n line "${line}"\n${'#'.repeat(78)}`);

	try {
		await report.check(`n8n (${line} line) installed in its own folder`, async () => {
			install = await ensureN8nLine(line, (text) => console.log(`    ${text}`));
			const result = await runCommand(install.node, [install.bin, '--version'], { env: installEnv(install) });
			const printed = result.stdout.trim();
			expect(printed === install.version, `n8n --version printed "${printed}", expected ${install.version}`);
			outcome.n8nVersion = printed;
			outcome.nodeVersion = install.nodeVersion;
			return `n8n ${printed} on Node ${install.nodeVersion} at ${install.dir}`;
		});
		if (!install) return outcome;
		const n8n = install;
		console.log(`\n>>> [${line}] running against n8n ${n8n.version} on Node ${n8n.nodeVersion} (${n8n.node})\n`);

		// Redis: a server of this line's own (our redis.conf, a password), so streams, consumer groups and counters
		// left by the other line cannot leak into this one; or REDIS_URL.
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

		const work = mkdtempSync(join(tmpdir(), `marketing-redis-e2e-${line}-`));
		cleanups.push(() => (KEEP ? console.log(`(kept ${work})`) : rmSync(work, { recursive: true, force: true })));
		const userFolder = join(work, 'n8n');
		const env = n8nEnv(userFolder, await freePort(), await freePort());
		const cli = new N8nCli(n8n, env);
		const ctx = makeContext(cli, redis);

		let tarball = '';
		const loaded = await report.check('built package packed and installed as a community package', async () => {
			tarball = await packPackage(join(work, 'pack'));
			await installPackage(userFolder, tarball);
			return `${basename(tarball)} -> ${userFolder}/.n8n/nodes/node_modules`;
		});
		if (!loaded) return outcome;

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

		await report.check("credentials imported (ours and the built-in Redis node's)", async () => {
			await cli.importCredentials([credentialExport(target), builtinCredential(target)], join(work, 'tmp'));
		});
		// One import of a folder holding every template and fixture (each CLI call boots n8n), then a listing
		// proves each one arrived.
		const importDir = join(work, 'import');
		mkdirSync(importDir);
		const toImport = [...files, ...[...INTEROP_FIXTURES, DURABLE_FIXTURE].map((f) => join(FIXTURES_DIR, f))];
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
		// Run on both lines: how n8n loads N8N_CUSTOM_EXTENSIONS is n8n's code, not the machine's Node.
		await report.check('also loads as a custom extension (N8N_CUSTOM_EXTENSIONS)', () => checkCustomExtension(n8n, target, redis, work));

		// Triggers: publish the workflows, then start n8n so it activates them. `publish:workflow --id` works on every
		// line (`update:workflow --active` is deprecated from about 2.30 on, and importing `"active": true` does not activate).
		const triggerSpecs = SPECS.filter((s): s is TriggerSpec => s.kind === 'trigger');
		const triggerIds = [...triggerSpecs.map((s) => readWorkflow(join(__dirname, '..', '..', 'workflows', s.file)).id), 'e2eInteropTrig1', DURABLE_WORKFLOW_ID];
		for (const id of triggerIds) {
			await report.check(`publish (activate) ${id}`, async () => {
				await cli.must(['publish:workflow', `--id=${id}`]);
			});
		}
		let server: N8nServer | undefined;
		await report.check('n8n start: editor and REST API up', async () => {
			server = await startN8nServer(n8n, env);
			return server.url;
		});
		if (server) {
			const running = server;
			cleanups.push(() => running.stop());
			await triggerPhase(report, ctx, running, triggerSpecs, triggerIds, target, work, n8n);
			await report.check('n8n stops cleanly', async () => {
				await running.stop();
				expect(running.child.exitCode !== null || running.child.signalCode !== null, 'n8n is still running');
			});
		}

		// Scenarios that run n8n processes of their own (queue mode, crash recovery) go here; they get `n8n`
		// (this line's install), `target` and `redis` (this line's Redis) and `work` (this line's temp folder).
		await checkQueueMode(report, n8n, target, work);
		await checkCrashRecovery(report, n8n, target, work);

		await report.check("README's manual install command, verbatim, in a fresh ~/.n8n/nodes; n8n loads the nodes", () =>
			checkReadmeInstall(n8n, tarball, work),
		);

		// `npm start` runs the oldest line on the machine's Node whichever line this is, so a second run would repeat the first.
		if (line === 'oldest') {
			await report.check('npm start: editor answers with the nodes registered; SIGINT, SIGTERM, SIGHUP to npm or tsx (and SIGKILL to its node) stop everything', () => checkNpmStart(work));
		} else if (!lines.includes('oldest')) {
			console.log('- npm start check: not run (it belongs to the oldest line, which E2E_N8N_LINES left out)');
		}
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
		outcome.seconds = (Date.now() - started) / 1000;
		console.log(report.summary(`Marketing Redis e2e, ${line} line: n8n ${outcome.n8nVersion} on Node ${outcome.nodeVersion}`));
	}
	return outcome;
}

async function triggerPhase(
	report: Report,
	base: SpecContext,
	server: N8nServer,
	specs: TriggerSpec[],
	triggerIds: string[],
	target: RedisTarget,
	work: string,
	install: N8nInstall,
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
	await report.check('Durable Stream trigger: one execution per XADD, acknowledged after it finished', () => checkDurableTrigger(ctx, server.logs));
	await report.check('interop: the built-in Redis node publishes, our trigger starts a workflow', async () => {
		await publishFromBuiltin(install, target, join(work, 'publisher'));
		return interopTriggerCheck(ctx);
	});
	// Both lines: the node panel is n8n's editor code, and users of the newest line see the newest one.
	await report.check('editor: our actions and trigger events show as written in the node panel, the canvas subtitle reads as the action; screenshots', () => checkEditor(server.url, rest, install));
}

function combinedSummary(outcomes: LineOutcome[]): string {
	const passed = outcomes.reduce((n, o) => n + o.report.results.length - o.report.failed.length, 0);
	const failed = outcomes.reduce((n, o) => n + o.report.failed.length, 0);
	const ok = failed === 0 && outcomes.length > 0;
	const rows = outcomes.map((o) => {
		const total = o.report.results.length;
		const good = total - o.report.failed.length;
		return `${o.report.failed.length === 0 ? 'PASS' : 'FAIL'}  ${o.line.padEnd(7)} n8n ${o.n8nVersion.padEnd(8)} Node ${o.nodeVersion.padEnd(9)} ${good}/${total} checks  ${o.seconds.toFixed(0)} s`;
	});
	return [
		'',
		'='.repeat(78),
		`Marketing Redis e2e on ${outcomes.length} n8n line(s): ${outcomes.map((o) => `n8n ${o.n8nVersion} (Node ${o.nodeVersion})`).join(', ')}`,
		'-'.repeat(78),
		...rows,
		'='.repeat(78),
		ok
			? `PASSED on ${outcomes.map((o) => `n8n ${o.n8nVersion} (Node ${o.nodeVersion})`).join(' and ')}`
			: `FAILED on ${outcomes
					.filter((o) => o.report.failed.length > 0)
					.map((o) => `${o.line} (n8n ${o.n8nVersion}: ${o.report.failed.length} failed)`)
					.join(' and ')}${outcomes.length === 0 ? ' (no line ran)' : ''}`,
		`e2e: ${passed} passed, ${failed} failed`,
	].join('\n');
}

main().then(
	(code) => process.exit(code),
	(error: Error) => {
		console.error(error);
		process.exit(1);
	},
);
