/**
 * The platform guide's Python example block, run as written: python/tests/guide/
 * example_block.py is the block verbatim (checked against the guide when the guide is
 * reachable), run_guide.py defines the two names the block leaves to the reader
 * (results_list, conversation_history) and runs it against the test Redis with a key
 * prefix; then the node, in n8n's in-process engine with the same prefix, reads back every
 * value the block wrote.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, testCredentials, uniquePrefix } from '../helpers/redis';
import { REPO_ROOT } from '../helpers/redis-server';
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { describePython, PYTHON_DIR, pythonEnv, runPython } from './python';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const BLOCK = join(PYTHON_DIR, 'tests', 'guide', 'example_block.py');
const GUIDE = process.env.PLATFORM_REDIS_GUIDE ?? join(REPO_ROOT, '..', 'shared', 'seeds', '000_f76ebc5156ce33c9.txt');

interface GuideRun {
	inputs: { results_list: unknown[]; conversation_history: unknown[] };
	produced: { session: unknown; content: unknown; cached: unknown; job: unknown; allowed: unknown; history: unknown };
}

describePython("the guide's example block", () => {
	it('the committed block is the guide\'s block, character for character', () => {
		if (!existsSync(GUIDE)) {
			// eslint-disable-next-line no-console
			console.log(`guide example: ${GUIDE} is not here (set PLATFORM_REDIS_GUIDE); comparing with the committed copy skipped`);
			return;
		}
		const match = /### Python \(using redis_manager\.py\)\n\n```python\n([\s\S]*?)```/.exec(readFileSync(GUIDE, 'utf8'));
		expect(match).not.toBeNull();
		expect(readFileSync(BLOCK, 'utf8')).toBe(match![1]);
	});

	it('runs unchanged, and the node reads back every value it wrote', async () => {
		const prefix = uniquePrefix('guide');
		const run = runPython([join(PYTHON_DIR, 'tests', 'guide', 'run_guide.py')], pythonEnv(prefix));
		if (run.status !== 0) throw new Error(`the guide's block failed:\n${run.stderr}`);
		const { inputs, produced } = JSON.parse(run.stdout) as GuideRun;

		// What the block itself got back.
		expect(produced).toEqual({
			session: { name: 'John', role: 'admin' },
			content: 'Blog post content here',
			cached: inputs.results_list,
			job: { campaign_id: 1, type: 'blog' },
			allowed: true,
			history: inputs.conversation_history,
		});

		const credentials = testCredentials({ keyPrefix: prefix });
		const read = async (parameters: Record<string, unknown>): Promise<IDataObject> => {
			const result = await runNode({ credentials, parameters });
			if (result.error) throw result.error;
			return result.outputs[0][0];
		};
		const session = await read({ resource: 'session', operation: 'get', sessionId: 'user_123' });
		expect(session).toMatchObject({ found: true, data: { name: 'John', role: 'admin' } });
		expect(session.ttl).toBeGreaterThan(3500);

		const content = await read({ resource: 'content', operation: 'get', contentId: 'draft_456' });
		expect(content).toMatchObject({ hit: true, value: 'Blog post content here', valueType: 'text' });
		expect(content.ttl).toBeGreaterThan(86_300);

		const cached = await read({ resource: 'search', operation: 'getResults', query: 'AI marketing trends' });
		expect(cached).toMatchObject({ hit: true, results: inputs.results_list });
		expect(cached.ttl).toBeGreaterThan(3500);

		// The block enqueued one job and dequeued it (acknowledged): the node sees an empty queue.
		const stats = await read({ resource: 'job', operation: 'stats', queue: 'content_generation' });
		expect(stats).toMatchObject({ waiting: 0, prioritized: 0, delayed: 0, inFlight: 0, dead: 0 });
		const q = new KeySchema(prefix).queue('content_generation');
		expect(await rawClient(3).exists(q.waiting, q.claim, q.inflight, q.jobs, q.meta)).toBe(0);

		// One request counted against the limit the block checked.
		const limit = await read({ resource: 'rateLimit', operation: 'status', limitKey: 'api_linkedin', maxRequests: 100, windowSeconds: 3600 });
		expect(limit).toMatchObject({ allowed: true, used: 1, remaining: 99, limit: 100 });

		const history = await read({ resource: 'conversation', operation: 'getHistory', campaign: 'campaign_1', agent: 'research_agent', returnAll: true });
		expect(history).toMatchObject({ found: true, total: 2, messages: inputs.conversation_history });
		expect(history.ttl).toBeGreaterThan(604_000);
	});
});
