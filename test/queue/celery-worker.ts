/**
 * The real-Celery half of celery.test.ts: a stock `celery worker` (Debian python3-celery) with
 * the test Redis as broker and as Redis result backend (`redis://.../3` for both, the setup the
 * credential's default Celery Result DB matches), driven through the node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runNode } from '../helpers/n8n';
import { rawClient, testServer, uniquePrefix } from '../helpers/redis';

const TASKS = [
	'import json, os, time, redis',
	'from celery import Celery',
	"app = Celery('n8n_test_tasks', broker=os.environ['BROKER'], backend=os.environ['BROKER'])",
	"r = redis.Redis.from_url(os.environ['BROKER'])",
	"@app.task(name='n8n_test.record')",
	'def record(label, n, extra=None):',
	"    r.rpush(os.environ['RESULT_KEY'], json.dumps({'label': label, 'n': n, 'extra': extra, 'at': time.time()}))",
	"@app.task(name='n8n_test.draft')",
	'def draft(topic, words=3):',
	"    return {'topic': topic, 'draft': ' '.join([topic] * words)}",
	"@app.task(name='n8n_test.boom')",
	'def boom(campaign):',
	"    raise ValueError('no brief for campaign %s' % campaign)",
].join('\n');

export function celeryWorkerTests(python: string): void {
	const queue = uniquePrefix('celeryq').replace(/:$/, '');
	const resultKey = `${queue}:results`;
	let dir = '';
	let worker: ChildProcess | undefined;
	let log = '';

	beforeAll(() => {
		dir = mkdtempSync(join(tmpdir(), 'mredis-celery-'));
		const s = testServer();
		const broker = `redis://:${encodeURIComponent(s.password ?? '')}@${s.host}:${s.port}/3`;
		writeFileSync(join(dir, 'n8n_test_tasks.py'), TASKS);
		worker = spawn(
			python,
			['-m', 'celery', '-A', 'n8n_test_tasks', 'worker', '-Q', queue, '--pool=solo', '--without-gossip', '--without-mingle', '--without-heartbeat', '-l', 'info'],
			{ cwd: dir, env: { ...process.env, BROKER: broker, RESULT_KEY: resultKey, PYTHONPATH: dir }, stdio: ['ignore', 'pipe', 'pipe'] },
		);
		worker.stdout?.on('data', (d: Buffer) => (log += d.toString()));
		worker.stderr?.on('data', (d: Buffer) => (log += d.toString()));
	});

	afterAll(async () => {
		worker?.kill('SIGTERM');
		await new Promise((r) => setTimeout(r, 300));
		if (worker && worker.exitCode === null) worker.kill('SIGKILL');
		rmSync(dir, { recursive: true, force: true });
	});

	const send = (taskName: string, args: unknown[], options: Record<string, unknown> = {}, kwargs = '{}') =>
		runNode({ parameters: { resource: 'job', operation: 'sendCeleryTask', celeryQueue: queue, taskName, args: JSON.stringify(args), kwargs, options } });

	/** The worker's log, for a failure message. */
	const tail = () => `\nworker log:\n${log.slice(-3000)}`;

	it('executes the tasks (plain, with countdown, with priority)', async () => {
		const sentAt = Date.now();
		const results = await Promise.all([
			send('n8n_test.record', ['plain', 7], {}, '{"extra": {"from": "n8n"}}'),
			send('n8n_test.record', ['countdown', 7], { countdown: 2 }, '{"extra": {"from": "n8n"}}'),
			send('n8n_test.record', ['priority', 7], { priority: 6 }, '{"extra": {"from": "n8n"}}'),
		]);
		for (const r of results) expect(r.error).toBeUndefined();
		// Each task's own result (None) comes back through the backend: wait on all three at once.
		const ids = results.map((r) => r.outputs[0][0].taskId as string);
		const waited = await runNode({
			parameters: { resource: 'job', operation: 'getCeleryResult', taskId: '={{ $json.id }}', options: { waitForResult: 60 } },
			items: ids.map((id) => ({ id })),
		});
		expect(waited.outputs[0].map((o) => o.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
		const done = (await rawClient(3).lrange(resultKey, 0, -1)).map((e) => JSON.parse(e) as { label: string; n: number; extra: unknown; at: number });
		if (done.length < 3) throw new Error(`Celery did not run the tasks${tail()}`);
		expect(done.map((d) => d.label).sort()).toEqual(['countdown', 'plain', 'priority']);
		expect(done.every((d) => d.n === 7 && JSON.stringify(d.extra) === '{"from":"n8n"}')).toBe(true);
		const countdown = done.find((d) => d.label === 'countdown')!;
		// The ETA was honoured: not run before 2 s after sending (1 s slack for clock rounding).
		expect(countdown.at * 1000).toBeGreaterThanOrEqual(sentAt + 1000);
	}, 90_000);

	it('Send Celery Task with Wait for Result outputs SUCCESS and the return value, each paired to its item', async () => {
		const result = await runNode({
			parameters: {
				resource: 'job',
				operation: 'sendCeleryTask',
				celeryQueue: queue,
				taskName: 'n8n_test.draft',
				args: '={{ JSON.stringify([$json.topic]) }}',
				kwargs: '={{ JSON.stringify({ words: $json.words }) }}',
				options: { waitForResult: 60 },
			},
			items: [
				{ topic: 'seo', words: 2 },
				{ topic: 'email', words: 1 },
			],
		});
		if (result.error) throw new Error(`${result.error.message}${tail()}`);
		expect(result.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(result.outputs[0][0]).toMatchObject({ task: 'n8n_test.draft', status: 'SUCCESS', result: { topic: 'seo', draft: 'seo seo' } });
		expect(result.outputs[0][1]).toMatchObject({ status: 'SUCCESS', result: { topic: 'email', draft: 'email' } });
		expect(Date.parse(result.outputs[0][0].dateDone as string)).toBeGreaterThan(Date.now() - 120_000);
	}, 90_000);

	it('a task that raises gives FAILURE with its exception type and message (and the traceback on request)', async () => {
		const result = await send('n8n_test.boom', [7], { waitForResult: 60, includeTraceback: true });
		if (result.error) throw new Error(`${result.error.message}${tail()}`);
		const out = result.outputs[0][0];
		expect(out).toMatchObject({ status: 'FAILURE', result: null, errorType: 'ValueError', errorMessage: 'no brief for campaign 7' });
		expect(out.traceback).toMatch(/ValueError: no brief for campaign 7/);
		const plain = await runNode({ parameters: { resource: 'job', operation: 'getCeleryResult', taskId: out.taskId } });
		expect(plain.outputs[0][0]).toMatchObject({ status: 'FAILURE', errorType: 'ValueError' });
		expect(plain.outputs[0][0]).not.toHaveProperty('traceback');
	}, 90_000);

	it('a countdown task is PENDING before its time and SUCCESS after; a timeout can be a flag', async () => {
		const sent = await send('n8n_test.draft', ['later'], { countdown: 8 });
		const taskId = sent.outputs[0][0].taskId as string;
		const before = await runNode({ parameters: { resource: 'job', operation: 'getCeleryResult', taskId } });
		expect(before.outputs[0][0]).toMatchObject({ taskId, status: 'PENDING', result: null, dateDone: null });
		const flagged = await runNode({
			parameters: { resource: 'job', operation: 'getCeleryResult', taskId, options: { waitForResult: 0.3, errorOnTimeout: false } },
		});
		expect(flagged.outputs[0][0]).toMatchObject({ taskId, status: 'PENDING', timedOut: true });
		const late = await runNode({ parameters: { resource: 'job', operation: 'getCeleryResult', taskId, options: { waitForResult: 0.3 } } });
		expect(late.error?.message).toMatch(/^"Wait for Result \(Seconds\)" ran out after 0\.3 s: Celery task .* is still PENDING.*\[item 0\]$/);
		const after = await runNode({ parameters: { resource: 'job', operation: 'getCeleryResult', taskId, options: { waitForResult: 60 } } });
		if (after.error) throw new Error(`${after.error.message}${tail()}`);
		expect(after.outputs[0][0]).toMatchObject({ taskId, status: 'SUCCESS', result: { topic: 'later' } });
	}, 90_000);

	it('a task name no worker knows is reported clearly', async () => {
		const result = await send('n8n_test.no_such_task', [], { waitForResult: 60 });
		if (result.error) throw new Error(`${result.error.message}${tail()}`);
		expect(result.outputs[0][0]).toMatchObject({ status: 'FAILURE', errorType: 'NotRegistered' });
		expect(result.outputs[0][0].errorMessage).toContain('n8n_test.no_such_task');
	}, 90_000);
}
