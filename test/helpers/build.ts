import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT } from './redis-server';

/** `npm test` builds first; a bare `npx jest` run of a test that reads dist/ builds here. */
export function ensureBuilt(): void {
	if (existsSync(join(REPO_ROOT, 'dist/nodes/MarketingRedis/MarketingRedis.node.js'))) return;
	const build = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
	if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
}
