/**
 * The one place the nodes take runtime values from n8n.
 *
 * At run time `n8n-workflow` is whatever copy the user's n8n ships, not the one we build
 * against, and its exports drift between release lines: `createDeferredPromise` left it in
 * 2.30, which silently broke every durable trigger on newer n8n. Every other module imports
 * only types from `n8n-workflow` (erased at build time); test/system/n8n-workflow-versions.test.ts checks that each name the
 * built package takes from here exists in every supported n8n-workflow version.
 */
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import type { IDeferredPromise } from 'n8n-workflow';

export { NodeConnectionTypes, NodeOperationError };

/** The part of an n8n context this module reads: n8n's own deferred, where the context has one. */
interface MaybeDeferredHelpers {
	helpers?: { createDeferredPromise?: <T>() => IDeferredPromise<T> };
}

/**
 * A promise n8n settles when the execution it starts is over (the donePromise of `emit`).
 * The context's own helper comes first; n8n only ever calls `resolve`/`reject` on it, so a
 * local one serves any n8n whose context lacks it.
 */
export function deferredPromise<T>(ctx?: MaybeDeferredHelpers): IDeferredPromise<T> {
	const fromContext = ctx?.helpers?.createDeferredPromise;
	if (typeof fromContext === 'function') return fromContext.call(ctx?.helpers) as IDeferredPromise<T>;
	return localDeferredPromise<T>();
}

export function localDeferredPromise<T>(): IDeferredPromise<T> {
	let resolve!: IDeferredPromise<T>['resolve'];
	let reject!: IDeferredPromise<T>['reject'];
	const promise = new Promise<T>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject };
}
