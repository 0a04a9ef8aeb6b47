// The README's manual install, exactly as written: the fenced block after the marker below is read from README.md,
// run by bash in a fresh HOME (so `~/.n8n/nodes` is new and empty), and then n8n is started with that HOME's
// ~/.n8n and must offer our node types. The one change: the package name becomes the packed tarball's path,
// because the package under test is not on the registry.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { installEnv, type N8nInstall } from '../../scripts/n8n-install';
import { n8nEnv, PACKAGE_NAME, REPO_ROOT, startN8nServer, tail } from '../../scripts/lib/n8n';
import { freePort, runCommand } from '../../scripts/lib/process';
import { expect } from './lib/report';
import { N8nRest } from './lib/rest';
import { OUR_TYPES } from './lib/validate';

export const README_INSTALL_MARKER = '<!-- e2e: manual install command -->';

/** The single command line of the fenced block that follows the marker in README.md. */
export function readmeInstallCommand(readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')): string {
	const at = readme.indexOf(README_INSTALL_MARKER);
	expect(at >= 0, `README.md has no ${README_INSTALL_MARKER} marker before the manual install command`);
	const block = readme.slice(at + README_INSTALL_MARKER.length).match(/^\s*```(?:bash|sh)\n([\s\S]*?)\n```/);
	expect(block, `the marker ${README_INSTALL_MARKER} must be followed directly by a \`\`\`bash block`);
	const commands = block[1]
		.split('\n')
		.map((l) => l.trim())
		.filter((l) => l && !l.startsWith('#'));
	expect(commands.length === 1, `the manual install block must hold one command, found ${commands.length}`);
	return commands[0];
}

/** Single quotes for bash, so a temp path with odd characters stays one word. */
function shellWord(text: string): string {
	return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A user's shell has none of the npm_* variables that `npm run test:e2e` exports to its children. */
function userShellEnv(home: string): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
	return { ...env, HOME: home };
}

export async function checkReadmeInstall(install: N8nInstall, tarball: string, work: string): Promise<string> {
	const command = readmeInstallCommand();
	const words = command.split(/\s+/);
	const named = words.filter((w) => w === PACKAGE_NAME).length;
	expect(named === 1, `the command must name ${PACKAGE_NAME} exactly once as a word: ${command}`);
	const substituted = words.map((w) => (w === PACKAGE_NAME ? shellWord(tarball) : w)).join(' ');

	const home = join(work, 'readme-home');
	mkdirSync(home, { recursive: true });
	// A user of this line has its Node first on PATH (Node 24 for the newest line).
	const env = installEnv(install, userShellEnv(home));
	const started = Date.now();
	const result = await runCommand('bash', ['-c', substituted], { cwd: home, env, timeoutMs: 180_000 });
	expect(result.code === 0, `\`${command}\` failed (exit ${result.code}):\n${tail(result.stdout + result.stderr, 3000)}`);
	const installSeconds = ((Date.now() - started) / 1000).toFixed(1);
	const nodesDir = join(home, '.n8n', 'nodes');
	expect(existsSync(join(nodesDir, 'node_modules', PACKAGE_NAME, 'package.json')), `${PACKAGE_NAME} is not in ${nodesDir}/node_modules`);
	// The peer n8n-workflow must come from n8n itself; a copy here is what failed to compile (isolated-vm).
	expect(!existsSync(join(nodesDir, 'node_modules', 'n8n-workflow')), 'the command installed the peer n8n-workflow into ~/.n8n/nodes');

	// n8n with that HOME: its user folder is ~/.n8n, as for the user who ran the command.
	const server = await startN8nServer(install, n8nEnv(home, await freePort(), await freePort(), { HOME: home }));
	try {
		const rest = new N8nRest(server.url);
		await rest.signIn();
		const names = await rest.nodeTypeNames();
		for (const type of [OUR_TYPES.action, OUR_TYPES.trigger]) {
			expect(names.includes(type), `${type} is not in /types/nodes.json after the README install\n${tail(server.logs(), 2000)}`);
		}
	} finally {
		await server.stop();
	}
	return `\`${command}\` (${installSeconds} s); n8n ${install.version} lists ${OUR_TYPES.action} and ${OUR_TYPES.trigger}`;
}
