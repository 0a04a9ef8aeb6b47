import { createHash } from 'node:crypto';

/**
 * The one key schema shared with the Python side (redis_manager.py). Every key the
 * package reads or writes is built here; the README's key table documents the same names.
 *
 * | role       | key                                   | value                       |
 * |------------|---------------------------------------|-----------------------------|
 * | session    | session:{id}                          | JSON object string, TTL     |
 * | session    | conversation:{campaign}:{agent}       | list of JSON messages       |
 * | session    | message_store:{session}               | LangChain list (LPUSH)      |
 * | content    | content:{id}                          | text or JSON string, TTL    |
 * | cache      | search:{sha256(normalised query)}     | JSON string, TTL            |
 * | cache      | api:{namespace}:{key}                 | JSON string, TTL            |
 * | queue      | queue:{name} + {queue:{name}}:*       | job envelopes, groups       |
 * | queue      | {queue:{name}}:result:{job id}        | JSON result record, TTL     |
 * | queue      | celery-task-meta-{task id}            | Celery's result (its DB)    |
 * | rateLimit  | ratelimit:{key}                       | sorted set (sliding window) |
 * | default    | lock:{name}                           | <deadline>:<token>, no TTL  |
 * | default    | {leaderboard}                         | sorted set                  |
 */
export class KeySchema {
	constructor(private readonly prefix = '') {}

	private key(...parts: string[]): string {
		return this.prefix + parts.join(':');
	}

	/** A leaderboard or other free-form key, namespaced only by the credential prefix. */
	raw(name: string): string {
		return this.prefix + name;
	}

	session(id: string): string {
		return this.key('session', id);
	}

	content(id: string): string {
		return this.key('content', id);
	}

	search(query: string): string {
		return this.key('search', searchHash(query));
	}

	apiCache(namespace: string, key: string): string {
		return this.key('api', namespace, key);
	}

	conversation(campaign: string, agent: string): string {
		return this.key('conversation', campaign, agent);
	}

	/** LangChain's RedisChatMessageHistory key (and n8n Redis Chat Memory uses the bare session id). */
	langchain(sessionId: string, keyPrefix = 'message_store:'): string {
		return this.prefix + keyPrefix + sessionId;
	}

	rateLimit(key: string): string {
		return this.key('ratelimit', key);
	}

	lock(name: string): string {
		return this.key('lock', name);
	}

	/**
	 * The keys of one queue. The waiting list is exactly `queue:{name}` so a plain
	 * `LPUSH`/`BRPOP queue:<name>` from Python keeps working; every other key of the queue
	 * uses that whole name as its Cluster hash tag, so all of them hash to the waiting
	 * list's slot and one Lua script may touch them together.
	 */
	queue(name: string): QueueKeys {
		const waiting = this.key('queue', name);
		// Checked on the whole key: a brace in the credential's key prefix breaks the tag as well.
		const problem = queueNameProblem(waiting);
		if (problem) throw new Error(`The queue key "${waiting}" ${problem.problem}. ${problem.fix}`);
		const tag = `{${waiting}}`;
		return {
			waiting,
			claim: `${tag}:claim`,
			priority: `${tag}:priority`,
			delayed: `${tag}:delayed`,
			inflight: `${tag}:inflight`,
			jobs: `${tag}:jobs`,
			meta: `${tag}:meta`,
			dead: `${tag}:dead`,
			ids: `${tag}:ids`,
			seq: `${tag}:seq`,
			groups: `${tag}:groups`,
			group: `${tag}:group:`,
			groupflight: `${tag}:group-flight:`,
			grouprate: `${tag}:group-rate:`,
		};
	}

	/** Celery's Redis result backend key for a task (also the channel it publishes the result on). */
	celeryResult(taskId: string): string {
		return this.prefix + 'celery-task-meta-' + taskId;
	}

	/** Stream that mirrors a pub/sub channel in durable ("at least once") mode. */
	updatesStream(channel: string): string {
		return this.key('stream', channel);
	}
}

export interface QueueKeys {
	/** List of job envelopes (or bare JSON from Python); producers LPUSH, consumers take from the right. */
	waiting: string;
	/** List a blocked consumer moves a job into (BLMOVE) right before its take script claims it. */
	claim: string;
	/** Sorted set of prioritised job ids, highest priority then oldest first. */
	priority: string;
	/** Sorted set of job ids by run-at time (ms). */
	delayed: string;
	/** Sorted set of taken job ids by visibility deadline (ms). */
	inflight: string;
	/** Hash id -> envelope of every job that is not in a list (in flight, delayed, prioritised). */
	jobs: string;
	/** Hash id -> small JSON of live counters (attempt, lease, last error). */
	meta: string;
	/** List of dead-lettered jobs, newest first, each with its last error. */
	dead: string;
	/** Set of caller-given job ids still live or dead, for de-duplication. */
	ids: string;
	/** Counter that orders prioritised jobs of equal priority first-in, first-out, and hands out the groups' turns. */
	seq: string;
	/** Sorted set of the groups with ready jobs, by turn ('' = the ungrouped jobs), for round robin. */
	groups: string;
	/**
	 * Prefix: `group + <group>` is the sorted set of that group's ready job ids (by priority, then
	 * first in, first out). This and the next two are not passed to the scripts, which name them
	 * from `groups` (platform/scripts/includes/group-keys.lua), so a take carries no extra keys.
	 */
	group: string;
	/** Prefix: `groupflight + <group>` is the sorted set of ids taken from that group (counted while still in flight). */
	groupflight: string;
	/** Prefix: `grouprate + <group>` is the sliding window of that group's takes (TTL: the window). */
	grouprate: string;
}

/**
 * A job's result record (and the channel it is published on). It shares the queue's hash tag;
 * platform/scripts/includes/result.lua builds the same name.
 */
export function jobResultKey(keys: QueueKeys, id: string): string {
	return `{${keys.waiting}}:result:${id}`;
}

/**
 * The queue-name rule, in one place for the node, the trigger and KeySchema.queue: every key of a
 * queue uses `queue:<name>` as its Cluster hash tag, and a brace would end or start that tag
 * early and split the queue across slots. Undefined when the name is fine.
 */
export function queueNameProblem(name: string): { problem: string; fix: string } | undefined {
	if (!/[{}]/.test(name)) return undefined;
	return {
		problem: 'must not contain { or }',
		fix: 'Braces are Redis Cluster hash-tag delimiters; all keys of a queue are tagged with its name, so use a name without braces',
	};
}

/**
 * Whitespace as Python sees it (`str.isspace()`, what `str.strip()` and `re`'s `\s` remove), so
 * that an ID trimmed here and one stripped by the platform's Python services name the same key.
 * JavaScript's own trim() and `\s` differ in three places: they also remove U+FEFF, and keep
 * U+001C..U+001F and U+0085.
 */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const EDGE_SPACE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');
const SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'g');

/** An identifier without surrounding whitespace; Python: `value.strip()`. */
export function trimIdentifier(value: string): string {
	return value.replace(EDGE_SPACE, '');
}

/** Trim, lower-case and collapse internal whitespace, so equivalent queries share a key. */
export function normaliseQuery(query: string): string {
	return trimIdentifier(query).toLowerCase().replace(SPACE_RUN, ' ');
}

/** Hex SHA-256 of the UTF-8 normalised query; Python: hashlib.sha256(q.encode()).hexdigest(). */
export function searchHash(query: string): string {
	return createHash('sha256').update(normaliseQuery(query), 'utf8').digest('hex');
}
