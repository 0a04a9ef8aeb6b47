// Only the scale-out and crash scenarios (queue-mode.ts, crash.ts), for working on them without the rest of
// the suite: `npm run build && npx tsx test/e2e/scale.ts`. E2E_N8N_LINES picks lines as in run.ts, and
// E2E_SCENARIOS=queue|crash|queue,crash picks scenarios (default both). The full suite (run.ts) runs them too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ensureN8nLine, parseLines } from '../../scripts/n8n-install';
import { startRedisServer } from '../helpers/redis-server';
import { checkCrashRecovery } from './crash';
import { Report } from './lib/report';
import { checkQueueMode } from './queue-mode';

async function main(): Promise<number> {
	const scenarios = (process.env.E2E_SCENARIOS || 'queue,crash').split(',').map((s) => s.trim());
	let failed = 0;
	for (const line of parseLines(process.env.E2E_N8N_LINES)) {
		const install = await ensureN8nLine(line);
		const report = new Report();
		const redis = await startRedisServer();
		const work = mkdtempSync(join(tmpdir(), `marketing-redis-scale-${line}-`));
		try {
			const target = { host: '127.0.0.1', port: redis.port, password: redis.password };
			console.log(`\n>>> [${line}] n8n ${install.version} on Node ${install.nodeVersion}\n`);
			if (scenarios.includes('queue')) await checkQueueMode(report, install, target, work);
			if (scenarios.includes('crash')) await checkCrashRecovery(report, install, target, work);
		} finally {
			await redis.stop();
			redis.cleanup();
			rmSync(work, { recursive: true, force: true });
		}
		console.log(report.summary(`scale-out and crash scenarios, ${line} line: n8n ${install.version}`));
		failed += report.failed.length;
	}
	return failed === 0 ? 0 : 1;
}

main().then(
	(code) => process.exit(code),
	(error: Error) => {
		console.error(error);
		process.exit(1);
	},
);
