import { redact, toPlatformError } from '../../platform/errors';

describe('error mapping', () => {
	it.each([
		['WRONGPASS invalid username-password pair or user is disabled.', 'WRONGPASS', /rejected the username or password/],
		['NOAUTH Authentication required.', 'NOAUTH', /requires a password/],
		["NOPERM this user has no permissions to run the 'set' command", 'NOPERM', /ACL user is not allowed/],
		['ERR DB index is out of range', 'DB_OUT_OF_RANGE', /does not exist on this server/],
		['WRONGTYPE Operation against a key holding the wrong kind of value', 'WRONGTYPE', /different kind of value/],
		["OOM command not allowed when used memory > 'maxmemory'.", 'OOM', /out of memory/],
		['connect ECONNREFUSED 127.0.0.1:6390', 'ECONNREFUSED', /Connection refused/],
		['Connection is closed.', 'CONNECTION_LOST', /connection to Redis was lost/],
		['None of startup nodes is available', 'NO_NODES', /Cluster nodes or Sentinels/],
		['All sentinels are unreachable. Retrying from scratch after 10ms.', 'NO_NODES', /Cluster nodes or Sentinels/],
		["CROSSSLOT Keys in request don't hash to the same slot", 'CROSSSLOT', /different cluster slots/],
	])('maps "%s" to %s', (raw, code, message) => {
		const mapped = toPlatformError(new Error(raw));
		expect(mapped.code).toBe(code);
		expect(mapped.message).toMatch(message);
	});

	it('redacts secrets, their URL-encoded form and passwords in connection strings', () => {
		const secret = 'p@ss word/1';
		const text = `failed for ${secret} (${encodeURIComponent(secret)}) at redis://user:other-secret@host:6379`;
		const clean = redact(text, [secret]);
		expect(clean).not.toContain(secret);
		expect(clean).not.toContain(encodeURIComponent(secret));
		expect(clean).not.toContain('other-secret');
		expect(clean).toContain('redis://user:***@host');
	});

	it('never carries a secret from an unknown error message', () => {
		const mapped = toPlatformError(new Error('ERR something odd with hunter2'), ['hunter2']);
		expect(mapped.code).toBe('REDIS_ERROR');
		expect(mapped.message).toBe('ERR something odd with ***');
	});
});
