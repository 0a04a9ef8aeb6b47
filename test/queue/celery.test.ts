/**
 * Send Celery Task: the message is checked field by field against Celery's protocol 2 as
 * kombu's Redis transport stores it, and, when Celery is installed (Debian: python3-celery),
 * a stock Celery worker using the test Redis as its broker executes the tasks.
 */
import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, testCredentials, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';
import { buildCeleryMessage, kombuListFor } from '../../platform/celery';
import { findPython } from './python';
import { celeryWorkerTests } from './celery-worker';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const celery = findPython(['celery', 'redis']);
// CI (.ci/run) installs python3-celery and sets REQUIRE_PYTHON=1: there a missing Celery fails the run.
const requireCelery = process.env.REQUIRE_PYTHON === '1';
if (!celery.python && !requireCelery) {
	// eslint-disable-next-line no-console
	console.log(`celery: the real-worker tests are skipped: Celery is not importable (${celery.reason}); apt-get install python3-celery python3-redis enables it`);
}

describe('Send Celery Task', () => {
	it('LPUSHes a protocol 2 message: base64 [args, kwargs, embed], task and id headers, delivery properties', async () => {
		const queue = uniquePrefix('celery');
		const result = await runNode({
			parameters: {
				resource: 'job',
				operation: 'sendCeleryTask',
				celeryQueue: queue,
				taskName: 'tasks.generate_content',
				args: '={{ JSON.stringify([$json.campaign, "blog"]) }}',
				kwargs: '{"tone": "formal", "words": 800}',
				options: { countdown: 60 },
			},
			items: [{ campaign: 42 }],
		});
		expect(result.error).toBeUndefined();
		const out = result.outputs[0][0];
		expect(out.taskId).toMatch(/^[0-9a-f-]{36}$/);
		const [raw] = await rawClient(3).lrange(queue, 0, -1);
		const message = JSON.parse(raw);
		expect(message['content-type']).toBe('application/json');
		expect(message['content-encoding']).toBe('utf-8');
		expect(JSON.parse(Buffer.from(message.body, 'base64').toString('utf8'))).toEqual([
			[42, 'blog'],
			{ tone: 'formal', words: 800 },
			{ callbacks: null, errbacks: null, chain: null, chord: null },
		]);
		expect(message.headers).toMatchObject({ lang: 'py', task: 'tasks.generate_content', id: out.taskId, root_id: out.taskId, parent_id: null, group: null, retries: 0 });
		const eta = Date.parse(message.headers.eta);
		expect(eta).toBeGreaterThan(Date.now() + 50_000);
		expect(out.eta).toBe(message.headers.eta);
		expect(message.properties).toMatchObject({
			correlation_id: out.taskId,
			body_encoding: 'base64',
			delivery_mode: 2,
			priority: 0,
			delivery_info: { exchange: '', routing_key: queue },
		});
		expect(typeof message.properties.delivery_tag).toBe('string');
	});

	it('routes priorities to kombu\'s per-priority lists and validates the input per item', async () => {
		expect(kombuListFor('celery', 0)).toBe('celery');
		expect(kombuListFor('celery', 2)).toBe('celery');
		expect(kombuListFor('celery', 5)).toBe('celery\x06\x163');
		expect(kombuListFor('celery', 9)).toBe('celery\x06\x169');
		const m = buildCeleryMessage({ task: 't', priority: 7, queue: 'q', id: 'fixed-id' });
		expect(m).toMatchObject({ taskId: 'fixed-id', list: 'q\x06\x166' });
		const bad = await runNode({
			parameters: { resource: 'job', operation: 'sendCeleryTask', celeryQueue: 'celery', taskName: 't', args: '{"not": "a list"}', kwargs: '{}' },
		});
		expect(bad.error?.message).toMatch(/^"Args" must be a JSON array.* \[item 0\]$/);
	});

	it('Get Celery Task Result reads the result DB of the credential (default: the queue DB) under its key prefix', async () => {
		const id = uniquePrefix('task').replace(/:$/, '');
		const meta = (status: string, result: unknown) => JSON.stringify({ status, result, traceback: null, children: [], date_done: '2026-01-31T09:00:00.000000', task_id: id });
		await rawClient(3).set(`tenant7:celery-task-meta-${id}`, meta('SUCCESS', { draft: 'queue DB' }), 'EX', 60);
		await rawClient(5).set(`celery-task-meta-${id}`, meta('REVOKED', { exc_type: 'TaskRevokedError', exc_message: ['revoked'], exc_module: 'celery.exceptions' }), 'EX', 60);
		const parameters = { resource: 'job', operation: 'getCeleryResult', taskId: id };
		const prefixed = await runNode({ parameters, credentials: testCredentials({ keyPrefix: 'tenant7:' }), credentialId: 'cred-celery-prefix' });
		expect(prefixed.outputs[0][0]).toEqual({ taskId: id, status: 'SUCCESS', result: { draft: 'queue DB' }, dateDone: '2026-01-31T09:00:00.000000' });
		const ownDb = await runNode({ parameters, credentials: testCredentials({ celeryResultDb: 5 }), credentialId: 'cred-celery-db5' });
		expect(ownDb.outputs[0][0]).toMatchObject({ status: 'REVOKED', errorType: 'TaskRevokedError', errorMessage: 'revoked', result: null });
		const unknown = await runNode({ parameters: { ...parameters, taskId: 'never-sent' } });
		expect(unknown.outputs[0][0]).toEqual({ taskId: 'never-sent', status: 'PENDING', result: null, dateDone: null });
	});
});

if (celery.python || requireCelery) {
	describe('a stock Celery worker', () => {
		if (!celery.python) {
			it('is installed (REQUIRE_PYTHON=1)', () => {
				throw new Error(`Celery is not importable: ${celery.reason}`);
			});
			return;
		}
		celeryWorkerTests(celery.python);
	});
}
