// The request-and-reply templates inside real n8n: a worker on our queue (standing for the Python
// research agent, completing each job with a result through the same script) and a stock Celery
// worker with the Redis result backend. Both answer a waiting execution of the template.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { KeySchema } from '../../platform/keys';
import { JobQueue, QueueWorker } from '../../platform/queue';
import { createRedis } from '../../platform/redis-client';
import { findPython } from '../queue/python';
import { nodeItems } from './lib/execution';
import { expect, expectEqual } from './lib/report';
import type { ExecuteSpec } from './specs';

const KEYWORDS = ['b2b intent data', 'account based marketing', 'zero party data', 'lead scoring ai'];

export const researchFanOut: ExecuteSpec = {
	kind: 'execute',
	file: 'research-fan-out.json',
	async run(ctx) {
		const keys = new KeySchema('').queue('seo_research');
		const t = ctx.redis.target;
		const blocking = createRedis({ host: t.host, port: t.port, username: t.username, password: t.password, db: 3 });
		const worker = new QueueWorker(
			new JobQueue(ctx.redis.db(3), keys),
			blocking,
			async (job) => {
				const { keyword } = job.payload as { keyword: string };
				return { result: { keyword, volume: keyword.length * 100, ideas: [`${keyword}: a guide`] } };
			},
			{ concurrency: 2 },
		);
		worker.start();
		try {
			const execution = await ctx.execute('tplResearchFan01');
			const enqueued = nodeItems(execution, 'Enqueue Research');
			expectEqual(enqueued.map((j) => j.status), ['completed', 'completed', 'completed', 'completed'], 'status of each job');
			expectEqual(enqueued.map((j) => (j.result as { keyword: string }).keyword), KEYWORDS, 'each result paired to its keyword');
			const [report] = nodeItems(execution, 'Merge Results');
			expectEqual(report?.keywords, KEYWORDS, 'merged keywords');
			expectEqual(report?.totalVolume, KEYWORDS.reduce((n, k) => n + k.length * 100, 0), 'merged volume');
			const db3 = ctx.redis.db(3);
			const records = await db3.keys('{queue:seo_research}:result:*');
			const ttls = await Promise.all(records.map((k) => db3.ttl(k)));
			expect(records.length === 4 && ttls.every((s) => s > 0 && s <= 86_400), `result records with a TTL: ${JSON.stringify(ttls)}`);
			return `4 jobs enqueued and waited on; 4 results paired to their keywords, merged; records expire in ${Math.min(...ttls)} s`;
		} finally {
			await worker.stop();
			blocking.disconnect();
		}
	},
};

const AGENT = [
	'import os',
	'from celery import Celery',
	"app = Celery('n8n_agents', broker=os.environ['BROKER'], backend=os.environ['BROKER'])",
	"@app.task(name='agents.write_draft')",
	'def write_draft(topic, campaign_id, words):',
	"    return {'campaign_id': campaign_id, 'topic': topic, 'draft': ' '.join([topic] * words)}",
].join('\n');

export const celeryDraftAgent: ExecuteSpec = {
	kind: 'execute',
	file: 'celery-draft-agent.json',
	async run(ctx) {
		const celery = findPython(['celery', 'redis']);
		if (!celery.python) {
			if (process.env.REQUIRE_PYTHON === '1') throw new Error(`Celery is required (REQUIRE_PYTHON=1): ${celery.reason}`);
			return `not run: Celery is not importable (${celery.reason})`;
		}
		const t = ctx.redis.target;
		const auth = t.password ? `${encodeURIComponent(t.username ?? '')}:${encodeURIComponent(t.password)}@` : '';
		const dir = mkdtempSync(join(tmpdir(), 'mredis-agent-'));
		writeFileSync(join(dir, 'n8n_agents.py'), AGENT);
		let log = '';
		const worker: ChildProcess = spawn(
			celery.python,
			['-m', 'celery', '-A', 'n8n_agents', 'worker', '-Q', 'agents', '--pool=solo', '--without-gossip', '--without-mingle', '--without-heartbeat', '-l', 'warning'],
			{ cwd: dir, env: { ...process.env, BROKER: `redis://${auth}${t.host}:${t.port}/3`, PYTHONPATH: dir }, stdio: ['ignore', 'pipe', 'pipe'] },
		);
		worker.stdout?.on('data', (d: Buffer) => (log += d.toString()));
		worker.stderr?.on('data', (d: Buffer) => (log += d.toString()));
		try {
			await ctx.redis.db(1).del('content:draft-301', 'content:draft-302');
			const execution = await ctx.execute('tplCeleryDraft01');
			const asked = nodeItems(execution, 'Ask Celery Agent');
			expect(asked.length === 2 && asked.every((j) => j.status === 'SUCCESS'), `agent results: ${JSON.stringify(asked)}\n${log.slice(-2000)}`);
			expectEqual((asked[0].result as { draft: string }).draft, 'Zero-party data for B2B Zero-party data for B2B Zero-party data for B2B', 'the first draft');
			const published = nodeItems(execution, 'Publish Draft');
			expectEqual(published.length, 2, 'drafts published on content_updates');
			const cached = JSON.parse((await ctx.redis.db(1).get('content:draft-302')) ?? '{}') as Record<string, unknown>;
			expectEqual(cached.topic, 'Intent signals in ABM', 'cached draft of campaign 302');
			return `2 Celery tasks SUCCESS in one waiting execution; 2 drafts cached in DB 1 and published`;
		} finally {
			worker.kill('SIGTERM');
			await new Promise((r) => setTimeout(r, 300));
			if (worker.exitCode === null) worker.kill('SIGKILL');
			rmSync(dir, { recursive: true, force: true });
		}
	},
};
