/**
 * The platform's only timers for waiting: a plain sleep, a sleep that ends early on abort, and
 * a deadline around a promise. One copy, so every wait clears its timer and none keeps the
 * process (or a test run) alive after its work is done.
 */

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
	if (signal.aborted) return Promise.resolve(false);
	return new Promise((resolve) => {
		const onAbort = () => {
			clearTimeout(timer);
			resolve(false);
		};
		const timer = setTimeout(() => {
			signal.removeEventListener('abort', onAbort);
			resolve(true);
		}, ms);
		signal.addEventListener('abort', onAbort, { once: true });
	});
}

const wakers = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * sleepUnlessAborted for many sleeps on one signal at once (the waiting items of one n8n
 * execution): the signal gets one listener in all, not one per sleep, so a hundred sleepers
 * neither trip Node's listener-leak warning nor pile listeners onto the execution's signal.
 */
export function sleepUnlessAbortedShared(ms: number, signal: AbortSignal): Promise<boolean> {
	if (signal.aborted) return Promise.resolve(false);
	let sleepers = wakers.get(signal);
	if (!sleepers) {
		const created = new Set<() => void>();
		signal.addEventListener('abort', () => created.forEach((wake) => wake()), { once: true });
		wakers.set(signal, created);
		sleepers = created;
	}
	const all = sleepers;
	return new Promise((resolve) => {
		const wake = () => {
			clearTimeout(timer);
			all.delete(wake);
			resolve(false);
		};
		const timer = setTimeout(() => {
			all.delete(wake);
			resolve(true);
		}, ms);
		all.add(wake);
	});
}

/**
 * Settles like `work`, unless `ms` passes first: then rejects with `onTimeout()`'s error. The
 * late outcome of `work` is swallowed, so it never becomes an unhandled rejection. `unref` lets
 * the process exit meanwhile, for long limits on work that may never settle (an execution n8n
 * never started): the deadline alone must not keep n8n or a test worker alive.
 */
export async function withTimeout<T>(
	work: Promise<T>,
	ms: number,
	onTimeout: () => Error,
	options: { unref?: boolean } = {},
): Promise<T> {
	work.catch(() => undefined);
	let timer: ReturnType<typeof setTimeout> | undefined;
	try {
		return await Promise.race([
			work,
			new Promise<never>((_resolve, reject) => {
				timer = setTimeout(() => reject(onTimeout()), ms);
				if (options.unref) timer.unref();
			}),
		]);
	} finally {
		if (timer) clearTimeout(timer);
	}
}

/**
 * Waits for `work` to settle (either way) but no longer than `ms`: true when it settled in time.
 * For waits whose outcome does not matter, only that they end: closing a socket, a PING that
 * proves a connection alive. `unref` lets the process exit meanwhile, for waits run at exit.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number, options: { unref?: boolean } = {}): Promise<boolean> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	try {
		return await Promise.race([
			work.then(
				() => true,
				() => true,
			),
			new Promise<boolean>((resolve) => {
				timer = setTimeout(() => resolve(false), ms);
				if (options.unref) timer.unref();
			}),
		]);
	} finally {
		if (timer) clearTimeout(timer);
	}
}
