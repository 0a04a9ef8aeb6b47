/**
 * n8n's queue-worker trigger (Job Available on Queue) in a process of its own, so the crash
 * test in queue-workers.test.ts can SIGKILL it like a crashed n8n. It runs the real trigger
 * through n8n-core's TriggerContext (test/helpers/trigger.ts); each "execution" records the
 * job it worked on in Redis before it finishes, so a kill between the work and the ack shows
 * up as a duplicate and a job nobody worked on as lost.
 *
 * argv: queue name, key prefix, record list key (queue DB), max parallel jobs, visibility s,
 * longest work per job in ms
 */
import { rawClient, testCredentials } from '../../helpers/redis';
import { startTrigger } from '../../helpers/trigger';

async function main(): Promise<void> {
	const [queue, prefix, record, parallel, visibility, workMs] = process.argv.slice(2);
	const recorder = rawClient(3);
	await startTrigger({
		credentials: testCredentials({ keyPrefix: prefix }),
		parameters: { event: 'jobAvailable', queue, maxParallelJobs: Number(parallel), visibilityTimeout: Number(visibility) },
		workflowId: `py-crash-${process.pid}`,
		execution: async (json) => {
			await recorder.rpush(record, `${String(json.id)} ${String(json.attempt)} n8n:${process.pid}`);
			await new Promise((resolve) => setTimeout(resolve, Math.random() * Number(workMs)));
		},
	});
	process.stdout.write(`ready ${process.pid}\n`);
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exit(1);
});
