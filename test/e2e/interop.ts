// Interop with n8n's built-in Redis node (n8n-nodes-base.redis, credential type "redis"), inside n8n:
// - one workflow: our node writes a session, the built-in node reads the key; the built-in node writes,
//   our node reads it as a session;
// - a second n8n (its own user folder, only built-in nodes) publishes with the built-in node, and our
//   trigger in the n8n under test starts a workflow on that message.
import { join } from 'node:path';

import type { N8nInstall } from '../../scripts/n8n-install';
import { N8nCli, n8nEnv, type RedisTarget } from '../../scripts/lib/n8n';
import { freePort } from '../../scripts/lib/process';
import { waitFor, type SpecContext } from './lib/context';
import { executeWorkflow, nodeItems } from './lib/execution';
import { expect, expectEqual } from './lib/report';

export const INTEROP_FIXTURES = ['interop-node-and-builtin.json', 'interop-our-trigger.json'];
const FIXTURES = join(__dirname, 'fixtures');

export function builtinCredential(target: RedisTarget) {
	return {
		id: 'builtinRedis0001',
		name: 'Redis (built-in node)',
		type: 'redis',
		data: { host: target.host, port: target.port, database: 0, user: target.username ?? '', password: target.password ?? '', ssl: false },
	};
}

export async function interopWriteCheck(ctx: SpecContext): Promise<string> {
	await ctx.redis.db(0).del('session:interop_user', 'session:from_builtin');
	const execution = await ctx.execute('e2eInteropWrite1');
	const [read] = nodeItems(execution, 'Built-in Get');
	expect(typeof read?.fromBuiltin === 'string', `the built-in node read nothing: ${JSON.stringify(read)}`);
	expectEqual(JSON.parse(read.fromBuiltin as string), { name: 'Ada', plan: 'pro' }, 'session written by our node, read by the built-in node');
	const [ours] = nodeItems(execution, 'Our Get Session');
	expectEqual(ours?.found, true, 'our node found the key the built-in node wrote');
	expectEqual(ours?.data, { name: 'Grace', written_by: 'n8n-nodes-base.redis' }, 'session written by the built-in node, read by ours');
	const ttl = await ctx.redis.db(0).ttl('session:interop_user');
	expect(ttl > 0 && ttl <= 600, `session:interop_user must carry its TTL, got ${ttl}`);
	return 'our Set Session -> built-in Get: equal JSON; built-in Set -> our Get Session: found, equal';
}

/** Runs the publisher workflow in a separate n8n (own user folder and ports), so the one under test keeps its database to itself. */
export async function publishFromBuiltin(install: N8nInstall, target: RedisTarget, userFolder: string): Promise<void> {
	const cli = new N8nCli(install, n8nEnv(userFolder, await freePort(), await freePort()));
	await cli.importCredentials([builtinCredential(target)], join(userFolder, 'tmp'));
	await cli.importWorkflow(join(FIXTURES, 'interop-builtin-publisher.json'));
	const execution = await executeWorkflow(cli, 'e2eInteropPub01');
	expectEqual(nodeItems(execution, 'Built-in Publish').length, 1, 'items the built-in node published');
}

export async function interopTriggerCheck(ctx: SpecContext): Promise<string> {
	const raw = await waitFor(
		'session:interop_received_builtin-42 written by the triggered workflow',
		() => ctx.redis.db(0).get('session:interop_received_builtin-42').then((v) => v ?? undefined),
		30_000,
	);
	const received = JSON.parse(raw) as { channel: string; message: Record<string, unknown> };
	expectEqual(received.channel, 'interop_updates', 'channel seen by our trigger');
	expectEqual(received.message, { draft_id: 'builtin-42', status: 'approved', source: 'n8n-nodes-base.redis' }, 'message seen by our trigger');
	const executions = await waitFor(
		'a successful execution of e2eInteropTrig1',
		async () => {
			const list = await ctx.rest!.executions('e2eInteropTrig1');
			return list.some((e) => e.status === 'success') ? list : undefined;
		},
		20_000,
	);
	return `built-in publish -> our trigger -> ${executions.length} execution(s), status ${executions.map((e) => e.status).join(',')}`;
}
