/**
 * Turns driver and server errors into messages an n8n user can act on, and makes sure
 * no secret (password, sentinel password) ever leaves in a message.
 */

export class PlatformError extends Error {
	constructor(
		message: string,
		/** A short machine-readable reason, for example `WRONGPASS` or `ECONNREFUSED`. */
		readonly code: string,
		/** What the user can do about it. */
		readonly hint?: string,
	) {
		super(message);
		this.name = 'PlatformError';
	}
}

/** Replaces every occurrence of each secret (and its URL-encoded form) with `***`. */
export function redact(text: string, secrets: Array<string | undefined>): string {
	let out = text;
	for (const secret of secrets) {
		if (!secret) continue;
		for (const form of new Set([secret, encodeURIComponent(secret)])) {
			out = out.split(form).join('***');
		}
	}
	// Connection strings of the form redis://user:pass@host never carry a password out.
	return out.replace(/(rediss?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}

interface Described {
	code: string;
	message: string;
	hint?: string;
}

/**
 * What each Redis or socket failure means to a user, first match wins: `text` are substrings of
 * the upper-cased message, `errno` the socket codes that mean the same.
 */
interface Rule {
	text: string[];
	errno?: string[];
	code: string;
	message: string | ((text: string) => string);
	hint?: string;
}

const RULES: Rule[] = [
	{
		text: ['WRONGPASS', 'INVALID USERNAME-PASSWORD', 'INVALID PASSWORD'],
		code: 'WRONGPASS',
		message: 'Redis rejected the username or password',
		hint: 'Check the password (REDIS_PASSWORD) and the ACL username in the credential',
	},
	{
		text: ['NOAUTH'],
		code: 'NOAUTH',
		message: 'Redis requires a password, but none was sent',
		hint: 'Set the password (REDIS_PASSWORD) in the credential',
	},
	// ACL denials inside a Lua script come back as ERR "The user executing the script can't ...".
	{
		text: ['NOPERM', "USER EXECUTING THE SCRIPT CAN'T"],
		code: 'NOPERM',
		message: (text) => `The Redis ACL user is not allowed to do this: ${text.replace(/^NOPERM\s*/i, '')}`,
		hint: 'Grant the ACL user the command and key pattern, or use a user that has them',
	},
	{
		text: ['DB INDEX IS OUT OF RANGE', 'INVALID DB INDEX'],
		code: 'DB_OUT_OF_RANGE',
		message: 'A DB number in the credential does not exist on this server',
		hint: 'Use DB numbers below the server\'s "databases" setting (16 by default); Cluster has only DB 0',
	},
	{
		text: ['WRONGTYPE'],
		code: 'WRONGTYPE',
		message: 'The key already holds a different kind of value than this operation expects',
		hint: 'Use another key, or delete the existing one first',
	},
	{
		text: ['OOM'],
		code: 'OOM',
		message: 'Redis is out of memory (maxmemory reached and nothing left to evict)',
		hint: 'Raise maxmemory, or make sure cache entries carry a TTL so they can be evicted',
	},
	// Before the TLS rule: "CROSSSLOT" contains "SSL".
	{
		text: ['CROSSSLOT'],
		code: 'CROSSSLOT',
		message: 'Keys of one command live in different cluster slots',
		hint: 'Use keys that share a {hash tag}',
	},
	{
		text: ['ECONNREFUSED'],
		errno: ['ECONNREFUSED'],
		code: 'ECONNREFUSED',
		message: 'Connection refused: nothing is listening at the address in the credential',
		hint: 'Check that Redis is running and that the host and port (or the Sentinel or Cluster node list) are right',
	},
	{
		text: ['ENOTFOUND', 'EAI_AGAIN'],
		errno: ['ENOTFOUND'],
		code: 'ENOTFOUND',
		message: 'The Redis host name could not be resolved',
		hint: 'Check the host',
	},
	{
		text: ['ETIMEDOUT', 'TIMED OUT', 'TIMEOUT'],
		errno: ['ETIMEDOUT'],
		code: 'ETIMEDOUT',
		message: 'Timed out connecting to Redis: the host did not answer',
		hint: 'Check host, port, firewalls, and whether TLS is required',
	},
	{
		text: ['SSL', 'TLS', 'CERT', 'SELF_SIGNED', 'SELF-SIGNED', 'WRONG_VERSION_NUMBER', 'EPROTO'],
		errno: ['ECONNRESET'],
		code: 'TLS',
		message: (text) => `TLS handshake with Redis failed (${text})`,
		hint: 'Check the TLS switch against the server, and the CA certificate; turn off verification only for self-signed test servers',
	},
	{
		text: ['CONNECTION IS CLOSED', "STREAM ISN'T WRITEABLE", 'MAX RETRIES PER REQUEST', 'ABORTED DUE TO CONNECTION CLOSE'],
		code: 'CONNECTION_LOST',
		message: 'The connection to Redis was lost',
		hint: 'Check that Redis is up; the command may not have been applied',
	},
	{
		text: ['NONE OF STARTUP NODES IS AVAILABLE', 'ALL SENTINELS ARE UNREACHABLE'],
		code: 'NO_NODES',
		message: 'None of the Cluster nodes or Sentinels in the credential could be reached',
		hint: 'Check the node list in the credential, and that the nodes are up and reachable from n8n',
	},
	{ text: ['BUSY'], code: 'BUSY', message: 'Redis is busy running a script', hint: 'Retry later' },
];

function classify(raw: string, errno: string | undefined): Described {
	const text = raw || errno || 'unknown error';
	const upper = text.toUpperCase();
	const rule = RULES.find(
		(r) => (errno !== undefined && r.errno?.includes(errno)) || r.text.some((part) => upper.includes(part)),
	);
	if (!rule) return { code: 'REDIS_ERROR', message: text };
	return {
		code: rule.code,
		message: typeof rule.message === 'function' ? rule.message(text) : rule.message,
		hint: rule.hint,
	};
}

/** Maps any thrown value to a PlatformError with a readable, secret-free message. */
export function toPlatformError(error: unknown, secrets: Array<string | undefined> = []): PlatformError {
	if (error instanceof PlatformError) {
		return new PlatformError(redact(error.message, secrets), error.code, error.hint);
	}
	const err = error as { message?: string; code?: string; errno?: string } | undefined;
	const raw = typeof err?.message === 'string' ? err.message : String(error);
	const errno = typeof err?.code === 'string' ? err.code : undefined;
	const described = classify(raw, errno);
	return new PlatformError(redact(described.message, secrets), described.code, described.hint);
}
