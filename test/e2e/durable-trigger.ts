// The Durable Stream trigger in a running n8n: entries appended to stream:<channel> the way the platform's Python
// publisher does (XADD with message, channel, publishedAt) each start one execution, and each entry is acknowledged
// only once that execution finished. This is the mode that lost every update on n8n >= 2.30 while no template used
// it, so it runs on every n8n line.
import { waitFor, noFailedExecutions, type SpecContext } from './lib/context';
import { expectEqual } from './lib/report';

export const DURABLE_FIXTURE = 'durable-trigger.json';
export const DURABLE_WORKFLOW_ID = 'e2eDurableTrig01';
const CHANNEL = 'e2e_durable_updates';
const STREAM = `stream:${CHANNEL}`;
const GROUP = 'n8n';
const DRAFTS = ['durable-1', 'durable-2', 'durable-3'];

/** On a failure, the n8n log lines of the trigger's own complaints (e.g. "handling update ... failed") say why. */
export async function checkDurableTrigger(ctx: SpecContext, n8nLog: () => string): Promise<string> {
	try {
		return await deliverAndCheck(ctx);
	} catch (error) {
		const hints = n8nLog()
			.split('\n')
			.filter((l) => /handling update|stream|marketing ?redis/i.test(l))
			.slice(-8);
		throw new Error(`${(error as Error).message}${hints.length ? `\nn8n log:\n${hints.join('\n')}` : ''}`);
	}
}

async function deliverAndCheck(ctx: SpecContext): Promise<string> {
	const db = ctx.redis.db(0);
	await db.del(...DRAFTS.map((d) => `session:durable_received_${d}`));
	for (const draft of DRAFTS) {
		const message = JSON.stringify({ draft_id: draft, status: 'approved' });
		await db.xadd(STREAM, 'MAXLEN', '~', '10000', '*', 'message', message, 'channel', CHANNEL, 'publishedAt', new Date().toISOString());
	}
	for (const draft of DRAFTS) {
		const raw = await waitFor(
			`session:durable_received_${draft} written by the triggered workflow`,
			async () => {
				await noFailedExecutions(ctx, DURABLE_WORKFLOW_ID);
				return (await db.get(`session:durable_received_${draft}`)) ?? undefined;
			},
			30_000,
		);
		expectEqual(JSON.parse(raw), { channel: CHANNEL, message: { draft_id: draft, status: 'approved' } }, `what the trigger saw for ${draft}`);
	}
	const executions = await waitFor(
		`${DRAFTS.length} successful executions of ${DURABLE_WORKFLOW_ID}`,
		async () => {
			const list = (await ctx.rest?.executions(DURABLE_WORKFLOW_ID)) ?? [];
			return list.filter((e) => e.status === 'success').length >= DRAFTS.length ? list : undefined;
		},
		20_000,
	);
	expectEqual(executions.length, DRAFTS.length, `executions of ${DURABLE_WORKFLOW_ID} (one per entry, no duplicates)`);
	// Acknowledged after the executions finished: nothing left pending in the group.
	const pending = await waitFor(
		`XPENDING ${STREAM} ${GROUP} to reach 0`,
		async () => {
			const [count] = (await db.xpending(STREAM, GROUP)) as [number, ...unknown[]];
			return Number(count) === 0 ? 'drained' : undefined;
		},
		20_000,
	);
	return `${DRAFTS.length} XADDs -> ${executions.length} executions (${executions.map((e) => e.status).join(',')}); XPENDING ${pending}`;
}
