/** Value encoding shared with the Python side: UTF-8 JSON unless documented as raw text. */

export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;

export class ValueError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ValueError';
	}
}

/** Serialises a value to JSON and enforces the size limit before anything is sent. */
export function encodeJson(value: unknown, maxBytes = DEFAULT_MAX_VALUE_BYTES): string {
	let text: string | undefined;
	try {
		text = JSON.stringify(value);
	} catch (error) {
		throw new ValueError(`the value cannot be turned into JSON (${(error as Error).message})`);
	}
	if (text === undefined) throw new ValueError('the value is empty and cannot be stored as JSON');
	assertSize(text, maxBytes);
	return text;
}

export function assertSize(text: string, maxBytes = DEFAULT_MAX_VALUE_BYTES): void {
	const bytes = Buffer.byteLength(text, 'utf8');
	if (bytes > maxBytes) {
		throw new ValueError(
			`the value is ${bytes} bytes, over the limit of ${maxBytes} bytes; raise "Max Value Size" or store less`,
		);
	}
}

/** A stored value read as JSON when it is JSON, else as the text it is (and why it is not JSON). */
export type Decoded = { json: true; value: unknown } | { json: false; text: string; error: string };

/**
 * The one "JSON or text" reader: the Python side may store raw strings where the platform
 * stores JSON, so a value that does not parse is text, not an error.
 */
export function decodeJsonOrText(text: string): Decoded {
	try {
		return { json: true, value: JSON.parse(text) as unknown };
	} catch (error) {
		return { json: false, text, error: (error as Error).message };
	}
}

/** The value of decodeJsonOrText itself (null stays null, for a missing key). */
export function decodeMaybeJson(text: string | null): unknown {
	if (text === null) return null;
	const decoded = decodeJsonOrText(text);
	return decoded.json ? decoded.value : decoded.text;
}
