import type { IDataObject, IRun, ITriggerFunctions } from 'n8n-workflow';

import { toPlatformError } from '../../../platform/errors';
import { sleepUnlessAborted } from '../../../platform/timing';
import { deferredPromise, NodeOperationError } from '../../shared/n8n';

/**
 * Handing one item to n8n, separated from what happens after n8n has it.
 *
 * `emit` can throw before n8n has taken the item: a helper this n8n does not have, an
 * execution that could not be queued. Then no execution exists, so whatever the item came
 * from (a stream entry, a job) must not be acknowledged. Such attempts are retried with
 * backoff; after the last one the caller learns it was not taken, keeps the entry or the job
 * for a later activation and reports the failure through `emitError`.
 */

/** Waits between attempts: five attempts over about 7.5 s, then the caller reports. */
export const HANDOVER_RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000];

/** n8n has the item. */
export interface Taken {
	taken: true;
	/** Settles when the execution is over; only with `waitForRun`. */
	done?: Promise<IRun>;
}

/** n8n never took the item: nothing ran it. */
export interface NotTaken {
	taken: false;
	attempts: number;
	/** The last failure, without secrets. */
	why: string;
	/** The trigger was closing: nothing to report, the item simply waits for the next activation. */
	stopped: boolean;
}

export interface HandOverOptions {
	/** Ask n8n for a promise that settles when the execution is over (the third `emit` argument). */
	waitForRun: boolean;
	/** Aborted when the trigger closes: retries end at once. */
	signal: AbortSignal;
	/** Log and error wording: the trigger's label, the item ("update 1700000000000-0"), where it waits. */
	label: string;
	what: string;
	whereItWaits: string;
	secrets: Array<string | undefined>;
	delaysMs?: readonly number[];
}

/**
 * Emits one item, retrying while n8n does not take it; never rejects. An item n8n never took
 * is reported through `emitError` (unless the trigger was closing): n8n then deactivates the
 * trigger and activates it again, and that activation finds the item still waiting.
 */
export async function handOver(
	ctx: ITriggerFunctions,
	json: IDataObject,
	options: HandOverOptions,
): Promise<Taken | NotTaken> {
	const delays = options.delaysMs ?? HANDOVER_RETRY_DELAYS_MS;
	for (let attempt = 1; ; attempt++) {
		let reason: unknown;
		try {
			const done = options.waitForRun ? deferredPromise<IRun>(ctx) : undefined;
			// Always through ctx: in manual mode n8n swaps ctx.emit after trigger() returns.
			ctx.emit([ctx.helpers.returnJsonArray([json])], undefined, done);
			return { taken: true, done: done?.promise };
		} catch (error) {
			reason = error;
		}
		const why = toPlatformError(reason, options.secrets).message;
		const delayMs = delays[attempt - 1];
		if (delayMs === undefined) {
			ctx.emitError(
				new NodeOperationError(ctx.getNode(), `n8n did not take ${options.what} after ${attempt} attempts: ${why}`, {
					description: options.whereItWaits,
				}),
			);
			return { taken: false, attempts: attempt, why, stopped: false };
		}
		ctx.logger.warn(`${options.label}: n8n did not take ${options.what} (attempt ${attempt}: ${why}); retrying in ${delayMs} ms`);
		if (!(await sleepUnlessAborted(delayMs, options.signal))) return { taken: false, attempts: attempt, why, stopped: true };
	}
}

/**
 * True when the run n8n reported shows that the workflow itself ran: a node executed, or the
 * run ended without an error. A run that ended in an error before any node ran is n8n failing
 * to run it, not the workflow failing: in queue mode a worker killed mid-execution comes back
 * as such a run ("failed to be processed too many times"), as does an execution that could
 * not start. `crashed` means the process running it died.
 */
export function workflowRan(run: IRun | undefined): boolean {
	if (!run) return false;
	if (run.status === 'crashed') return false;
	const result = run.data?.resultData;
	if (!result?.error) return true;
	return Object.keys(result.runData ?? {}).length > 0 || result.lastNodeExecuted !== undefined;
}
