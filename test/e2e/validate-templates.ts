// Quick static check of every template against the built nodes (no n8n needed):
// `npm run build && npx tsx test/e2e/validate-templates.ts`. The e2e suite runs the same checks.
import { basename } from 'node:path';

import { readWorkflow, templateFiles } from '../../scripts/lib/n8n';
import { loadDescriptions, validateTemplate } from './lib/validate';

const descriptions = loadDescriptions();
let failed = 0;
for (const file of templateFiles()) {
	const problems = validateTemplate(readWorkflow(file), descriptions);
	console.log(`${problems.length === 0 ? 'ok  ' : 'FAIL'} ${basename(file)}${problems.map((p) => `\n     ${p}`).join('')}`);
	if (problems.length > 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
