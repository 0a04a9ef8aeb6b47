/** A promise to race reads against, rejected when the connection closes or the reader stops. */
export interface Interrupt {
	promise: Promise<never>;
	reject(error: Error): void;
}

export function newInterrupt(): Interrupt {
	let reject: (error: Error) => void = () => undefined;
	const promise = new Promise<never>((_resolve, rej) => {
		reject = rej;
	});
	// Only ever awaited through Promise.race; never an unhandled rejection on its own.
	promise.catch(() => undefined);
	return { promise, reject };
}
