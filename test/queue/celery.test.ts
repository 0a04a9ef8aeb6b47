/**
 * Send Celery Task: the message is checked field by field against Celery's protocol 2 as
 * kombu's Redis transport stores it, and, when Celery is installed (Debian: python3-celery),
 * a stock Celery worker using the test Redis as its broker executes the tasks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, testServer, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';
import { buildCeleryMessage, kombuListFor } from '../../platform/celery';
import { findPython } from './python';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const celery = findPython(['celery', 'redis']);
if (!celery.python) {
	// eslint-disable-next-line no-console
	console.log(`celery: the real-worker test is skipped: Celery is not importable (${celery.reason}); apt-get install python3-celery python3-redis enables it`);
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

	(celery.python ? it : it.skip)(
		'a stock Celery worker executes the tasks (plain, with countdown, with priority)',
		async () => {
			const queue = uniquePrefix('celeryq').replace(/:$/, '');
			const resultKey = `${queue}:results`;
			const dir = mkdtempSync(join(tmpdir(), 'mredis-celery-'));
			const s = testServer();
			const broker = `redis://:${encodeURIComponent(s.password ?? '')}@${s.host}:${s.port}/3`;
			writeFileSync(
				join(dir, 'n8n_test_tasks.py'),
				[
					'import json, os, time, redis',
					'from celery import Celery',
					"app = Celery('n8n_test_tasks', broker=os.environ['BROKER'])",
					"r = redis.Redis.from_url(os.environ['BROKER'])",
					"@app.task(name='n8n_test.record')",
					'def record(label, n, extra=None):',
					"    r.rpush(os.environ['RESULT_KEY'], json.dumps({'label': label, 'n': n, 'extra': extra, 'at': time.time()}))",
				].join('\n'),
			);
			let worker: ChildProcess | undefined;
			let log = '';
			try {
				worker = spawn(
					celery.python!,
					['-m', 'celery', '-A', 'n8n_test_tasks', 'worker', '-Q', queue, '--pool=solo', '--without-gossip', '--without-mingle', '--without-heartbeat', '-l', 'info'],
					{ cwd: dir, env: { ...process.env, BROKER: broker, RESULT_KEY: resultKey, PYTHONPATH: dir }, stdio: ['ignore', 'pipe', 'pipe'] },
				);
				worker.stdout?.on('data', (d: Buffer) => (log += d.toString()));
				worker.stderr?.on('data', (d: Buffer) => (log += d.toString()));
				const sentAt = Date.now();
				const send = (label: string, options: Record<string, unknown>) =>
					runNode({
						parameters: {
							resource: 'job',
							operation: 'sendCeleryTask',
							celeryQueue: queue,
							taskName: 'n8n_test.record',
							args: JSON.stringify([label, 7]),
							kwargs: '{"extra": {"from": "n8n"}}',
							options,
						},
					});
				const results = await Promise.all([send('plain', {}), send('countdown', { countdown: 2 }), send('priority', { priority: 6 })]);
				for (const r of results) expect(r.error).toBeUndefined();
				const raw = rawClient(3);
				const deadline = Date.now() + 40_000;
				let done: Array<{ label: string; n: number; extra: unknown; at: number }> = [];
				while (done.length < 3 && Date.now() < deadline) {
					await new Promise((r) => setTimeout(r, 200));
					done = (await raw.lrange(resultKey, 0, -1)).map((e) => JSON.parse(e));
				}
				if (done.length < 3) throw new Error(`Celery did not run the tasks; worker log:\n${log.slice(-3000)}`);
				expect(done.map((d) => d.label).sort()).toEqual(['countdown', 'plain', 'priority']);
				expect(done.every((d) => d.n === 7 && JSON.stringify(d.extra) === '{"from":"n8n"}')).toBe(true);
				const countdown = done.find((d) => d.label === 'countdown')!;
				// The ETA was honoured: not run before 2 s after sending (1 s slack for clock rounding).
				expect(countdown.at * 1000).toBeGreaterThanOrEqual(sentAt + 1000);
				await raw.del(resultKey);
			} finally {
				worker?.kill('SIGTERM');
				await new Promise((r) => setTimeout(r, 300));
				if (worker && worker.exitCode === null) worker.kill('SIGKILL');
				rmSync(dir, { recursive: true, force: true });
			}
		},
		60_000,
	);
});
