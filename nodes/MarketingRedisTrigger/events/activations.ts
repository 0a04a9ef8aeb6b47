import type { ITriggerFunctions } from 'n8n-workflow';

/**
 * One running listener per workflow, node and kind of run, in this process.
 *
 * n8n calls closeFunction before it activates a workflow again, but a failed or slow close
 * (Redis down, a crash in between) must not leave the old subscription running next to the
 * new one: every message would then start the workflow twice. Starting a listener therefore
 * stops whichever listener still holds its key. Manual "Test step" runs use their own key so
 * testing never stops the active workflow.
 */
const running = new Map<string, { stop: () => Promise<void> }>();

export function activationKey(ctx: ITriggerFunctions, kind: string): string {
	const run = ctx.getMode() === 'manual' ? 'manual' : 'active';
	return `${ctx.getWorkflow().id ?? 'unsaved'}/${ctx.getNode().id ?? ctx.getNode().name}/${kind}/${run}`;
}

/** Stops the listener still registered under `key`, if any; returns true when there was one. */
export async function stopPrevious(key: string): Promise<boolean> {
	const previous = running.get(key);
	if (!previous) return false;
	running.delete(key);
	await previous.stop();
	return true;
}

/** Registers a started listener; the returned function unregisters it (only if it is still the holder). */
export function register(key: string, stop: () => Promise<void>): () => void {
	const entry = { stop };
	running.set(key, entry);
	return () => {
		if (running.get(key) === entry) running.delete(key);
	};
}

/** Number of registered listeners, for tests. */
export function runningCount(): number {
	return running.size;
}
