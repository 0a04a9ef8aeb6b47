/**
 * Runs a trigger node the way n8n does, in-process and without jest, so the tests, the
 * reliability suite and the bench can share it:
 * - startTrigger(): n8n-core's real TriggerContext (credentials resolved through a credentials
 *   helper, real getNodeParameter with expressions) with emit/emitError/saveFailedExecution
 *   captured, like ActiveWorkflows does for an active workflow.
 * - runManualStep(): the "Test step" path, n8n-core's WorkflowExecute in manual mode, which
 *   waits for the first emit and then calls closeFunction.
 * Redis is never mocked: the trigger talks to a real server.
 */
import { Container } from '@n8n/di';
import { Logger } from '@n8n/backend-common';
import { TriggerContext, WorkflowExecute, type ExecutionLifecycleHooks } from 'n8n-core';
import {
	Workflow,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type IDeferredPromise,
	type INode,
	type INodeExecutionData,
	type INodeType,
	type IRun,
	type ITriggerResponse,
	type IWorkflowExecuteAdditionalData,
	type WorkflowExecuteMode,
} from 'n8n-workflow';

import { CREDENTIAL_TYPE } from '../../nodes/shared/credentials';
import { additionalData, manualRunHooks, releaseEngineTimers, startingAt, StaticCredentialsHelper, StaticNodeTypes } from '../../harness/n8n-engine';
import type { MarketingRedisTrigger as MarketingRedisTriggerType } from '../../nodes/MarketingRedisTrigger/MarketingRedisTrigger.node';

// Loaded by its full file name: under tsx (the bench), `MarketingRedisTrigger.node` would resolve
// to the codex file MarketingRedisTrigger.node.json instead of the .ts module.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { MarketingRedisTrigger } = require('../../nodes/MarketingRedisTrigger/MarketingRedisTrigger.node.ts') as {
	MarketingRedisTrigger: typeof MarketingRedisTriggerType;
};

export const TRIGGER_TYPE = 'n8n-nodes-marketing-redis.marketingRedisTrigger';

export interface LogLine {
	level: 'debug' | 'info' | 'warn' | 'error';
	message: string;
}

/** A logger that keeps every line, so tests can assert on outage logs and on secrets. */
export function captureLogger(lines: LogLine[] = []) {
	const at = (level: LogLine['level']) => (message: string) => void lines.push({ level, message });
	return {
		lines,
		debug: at('debug'),
		info: at('info'),
		warn: at('warn'),
		error: at('error'),
		scoped() {
			return this;
		},
	};
}

export interface TriggerSetup {
	/** The trigger node's parameters (event, channels, filters, options...). */
	parameters: Record<string, unknown>;
	/** Credential data as the credential form stores it. */
	credentials: ICredentialDataDecryptedObject;
	/** Same workflow and node ids = the same workflow activated again. */
	workflowId?: string;
	nodeId?: string;
	nodeType?: INodeType;
	/** The node's version as a saved workflow records it; defaults to the newest. */
	typeVersion?: number;
}

/** The trigger's newest version: what n8n gives a node added in the editor today. */
export const TRIGGER_VERSION = Math.max(...[new MarketingRedisTrigger().description.version].flat());

function buildWorkflow(setup: TriggerSetup): { workflow: Workflow; node: INode } {
	const node: INode = {
		id: setup.nodeId ?? 'trigger-node',
		name: 'Marketing Redis Trigger',
		type: TRIGGER_TYPE,
		typeVersion: setup.typeVersion ?? TRIGGER_VERSION,
		position: [0, 0],
		parameters: setup.parameters as INode['parameters'],
		credentials: { marketingRedisApi: { id: 'cred-trigger', name: 'Test Redis' } },
	};
	const workflow = new Workflow({
		id: setup.workflowId ?? 'trigger-workflow',
		nodes: [node],
		connections: {},
		nodeTypes: new StaticNodeTypes({ [TRIGGER_TYPE]: setup.nodeType ?? new MarketingRedisTrigger() }),
		active: true,
		settings: {},
	});
	return { workflow, node };
}

function buildAdditionalData(setup: TriggerSetup, hooks?: ExecutionLifecycleHooks): IWorkflowExecuteAdditionalData {
	return additionalData(new StaticCredentialsHelper({ [CREDENTIAL_TYPE]: setup.credentials }), hooks, 'trigger-execution');
}

export interface ActiveTrigger {
	/** The json of every emitted item, in emit order (each emit carries one item). */
	emitted: IDataObject[];
	/** performance.now() at each emit, aligned with `emitted` (for latency measurements). */
	emittedAt: number[];
	/** Errors passed to emitError (the trigger gave up). */
	errors: Error[];
	/** Errors passed to saveFailedExecution (one bad message; the trigger keeps running). */
	failedExecutions: Error[];
	logs: LogLine[];
	response: ITriggerResponse;
	/** Called with each emit; set it to observe emits as they happen. */
	onEmit?: (json: IDataObject, at: number) => void;
	/** Resolves once at least `count` items were emitted; rejects after `timeoutMs`. */
	waitFor(count: number, timeoutMs?: number): Promise<IDataObject[]>;
	/** Resolves with the first emitError error; rejects after `timeoutMs`. */
	waitForError(timeoutMs?: number): Promise<Error>;
	close(): Promise<void>;
}

export interface StartTriggerOptions extends TriggerSetup {
	mode?: WorkflowExecuteMode;
	/**
	 * Stands in for the workflow execution that n8n starts on each emit: the donePromise is
	 * resolved with the run it returns (an empty one by default) or rejected with its error
	 * (default: a successful run, on the next tick).
	 */
	execution?: (json: IDataObject) => Promise<void | IRun>;
	/**
	 * Plays an n8n that does not take the item: emit throws this error (for the first
	 * `emitFailures` emits, or for every emit when it is not set).
	 */
	emitThrows?: Error;
	emitFailures?: number;
	/** Plays an n8n whose trigger context has no helpers.createDeferredPromise. */
	withoutContextDeferred?: boolean;
}

async function waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what()}`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}

/** Activates the trigger as an active workflow would be, with n8n-core's TriggerContext. */
export async function startTrigger(options: StartTriggerOptions): Promise<ActiveTrigger> {
	const { workflow, node } = buildWorkflow(options);
	const additionalData = buildAdditionalData(options);
	const logger = captureLogger();
	const active: Partial<ActiveTrigger> & Pick<ActiveTrigger, 'emitted' | 'emittedAt' | 'errors' | 'failedExecutions' | 'logs'> = {
		emitted: [],
		emittedAt: [],
		errors: [],
		failedExecutions: [],
		logs: logger.lines,
	};
	let emitCalls = 0;
	const emit = (data: INodeExecutionData[][], _response?: unknown, done?: IDeferredPromise<IRun>) => {
		emitCalls += 1;
		if (options.emitThrows && (options.emitFailures === undefined || emitCalls <= options.emitFailures)) {
			throw options.emitThrows;
		}
		const at = performance.now();
		for (const item of data[0] ?? []) {
			active.emitted.push(item.json);
			active.emittedAt.push(at);
			active.onEmit?.(item.json, at);
		}
		if (!done) return;
		const json = data[0]?.[0]?.json ?? {};
		const execution = options.execution ? options.execution(json) : new Promise<void>((r) => setImmediate(r));
		void execution.then((run) => done.resolve(run ?? ({} as IRun)), (error: Error) => done.reject(error));
	};
	const ctx = new TriggerContext(
		workflow,
		node,
		additionalData,
		options.mode ?? 'trigger',
		'activate',
		emit,
		(error: Error) => void active.errors.push(error),
		(error) => void active.failedExecutions.push(error as Error),
	);
	Object.defineProperty(ctx, 'logger', { value: logger });
	if (options.withoutContextDeferred) {
		const helpers = { ...ctx.helpers, createDeferredPromise: undefined };
		Object.defineProperty(ctx, 'helpers', { value: helpers });
	}
	releaseEngineTimers();
	const nodeType = workflow.nodeTypes.getByNameAndVersion(node.type, node.typeVersion) as INodeType;
	const response = (await nodeType.trigger!.call(ctx)) ?? {};
	let closed = false;
	return Object.assign(active, {
		response,
		waitFor: (count: number, timeoutMs = 10_000) =>
			waitUntil(
				() => (active.emitted.length >= count ? active.emitted : undefined),
				timeoutMs,
				() => `${count} emits (got ${active.emitted.length})`,
			),
		waitForError: (timeoutMs = 10_000) =>
			waitUntil(() => active.errors[0], timeoutMs, () => 'emitError'),
		close: async () => {
			if (closed) return;
			closed = true;
			await response.closeFunction?.();
		},
	}) as ActiveTrigger;
}

export interface ManualStepResult {
	/** Items the "Test step" produced. */
	items: IDataObject[];
	error?: Error;
	logs: LogLine[];
}

/**
 * Runs the trigger as the editor's "Test step" does: WorkflowExecute in manual mode waits for
 * the first emit, shows it, and closes the trigger. Resolves when that run has finished.
 */
export async function runManualStep(setup: TriggerSetup): Promise<ManualStepResult> {
	const logger = captureLogger();
	const previousLogger = Container.has(Logger) ? Container.get(Logger) : undefined;
	Container.set(Logger, logger as unknown as Logger);
	try {
		const { workflow, node } = buildWorkflow(setup);
		const { hooks, finished } = manualRunHooks('trigger-execution', { id: workflow.id, name: 'trigger test', nodes: [node], connections: {} });
		const runData = startingAt(node);
		const execute = new WorkflowExecute(buildAdditionalData(setup, hooks), 'manual', runData);
		await execute.processRunExecutionData(workflow);
		const run = await finished;
		releaseEngineTimers();
		const task = run.data.resultData.runData[node.name]?.[0];
		return {
			items: (task?.data?.main?.[0] ?? []).map((item) => item.json),
			error: (task?.error ?? run.data.resultData.error) as Error | undefined,
			logs: logger.lines,
		};
	} finally {
		if (previousLogger) Container.set(Logger, previousLogger);
	}
}

/** Waits until `count` clients are subscribed to `channel` (PUBSUB NUMSUB), so a publish is not lost. */
export async function waitForSubscribers(
	client: { pubsub(...args: string[]): Promise<unknown> },
	channel: string,
	count = 1,
	timeoutMs = 10_000,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const reply = (await client.pubsub('NUMSUB', channel)) as [string, number];
		if (Number(reply[1]) >= count) return;
		if (Date.now() > deadline) throw new Error(`No subscriber on ${channel} after ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/** Waits until `count` pattern subscriptions exist server-wide (PUBSUB NUMPAT). */
export async function waitForPatterns(
	client: { pubsub(...args: string[]): Promise<unknown> },
	count = 1,
	timeoutMs = 10_000,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const reply = Number(await client.pubsub('NUMPAT'));
		if (reply >= count) return;
		if (Date.now() > deadline) throw new Error(`Fewer than ${count} pattern subscriptions after ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}
