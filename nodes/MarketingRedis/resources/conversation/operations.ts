import { assertSize } from '../../../../platform/codec';
import {
	encodeMessages,
	historyRange,
	orderHistory,
	parseConversationAppend,
	sendConversationAppend,
	type ConversationFormat,
} from '../../../../platform/conversation';
import type { Operation, OperationEnv } from '../../../shared/operation';
import type { ItemParams } from '../../../shared/params';

const MAX_TTL = 10 * 365 * 24 * 3600;

function format(p: ItemParams): ConversationFormat {
	return p.oneOf('format', 'Format', ['platform', 'langchain'] as const, 'platform');
}

/** The list key of the conversation, from the fields of its format. */
function target(p: ItemParams, env: OperationEnv): { format: ConversationFormat; key: string; ids: Record<string, string> } {
	const f = format(p);
	if (f === 'platform') {
		const campaign = p.key('campaign', 'Campaign');
		const agent = p.key('agent', 'Agent');
		return { format: f, key: env.keys.conversation(campaign, agent), ids: { campaign, agent } };
	}
	const sessionId = p.key('sessionId', 'Session ID');
	const prefix = p.string('langchainKeyPrefix', 'Key Prefix', { allowEmpty: true });
	return { format: f, key: env.keys.langchain(sessionId, prefix), ids: { sessionId } };
}

function encodeOrFail(p: ItemParams, f: ConversationFormat): string[] {
	const input = p.json('messages', 'Messages');
	try {
		const encoded = encodeMessages(f, input);
		assertSize(encoded.join(''), p.maxValueBytes());
		return encoded;
	} catch (error) {
		// encodeMessages and assertSize only throw ValueError, whose text names the problem.
		return p.fail('Messages', (error as Error).message);
	}
}

export const conversationOperations: Record<string, Operation> = {
	append: {
		kind: 'pipelined',
		role: 'session',
		action: 'Append Messages',
		plan(p, env) {
			const t = target(p, env);
			const messages = encodeOrFail(p, t.format);
			const maxLength = p.integer('maxLength', 'Max Messages', { min: 0, max: 1_000_000, unit: 'messages' });
			const ttl = p.integer('ttl', 'TTL (Seconds)', { min: 0, max: MAX_TTL, unit: 'seconds' });
			return {
				// Push, trim and expire run as one script: atomic per item, pipelined across items.
				send: (pipe) => void sendConversationAppend(pipe, t.key, t.format, messages, maxLength, ttl),
				read: ([reply]) => {
					const { length, trimmed } = parseConversationAppend(reply);
					return {
						json: { format: t.format, ...t.ids, key: t.key, appended: messages.length, length, trimmed, ttl: ttl > 0 ? ttl : null },
					};
				},
			};
		},
	},
	getHistory: {
		kind: 'pipelined',
		role: 'session',
		action: 'Get Conversation History',
		plan(p, env) {
			const t = target(p, env);
			const limit = p.boolean('returnAll', false) ? undefined : p.integer('limit', 'Limit', { min: 1, max: 1_000_000 });
			const [start, stop] = historyRange(t.format, limit);
			return {
				send: (pipe) => void pipe.lrange(t.key, start, stop).llen(t.key).ttl(t.key),
				read: ([raw, total, ttl]) => {
					const messages = orderHistory(t.format, raw as string[]);
					return {
						json: {
							format: t.format,
							...t.ids,
							key: t.key,
							found: (total as number) > 0,
							count: messages.length,
							total: total as number,
							messages: messages as string[],
							ttl: (ttl as number) >= 0 ? (ttl as number) : null,
						},
					};
				},
			};
		},
	},
	clear: {
		kind: 'pipelined',
		role: 'session',
		action: 'Clear Conversation',
		plan(p, env) {
			const t = target(p, env);
			return {
				send: (pipe) => void pipe.del(t.key),
				read: ([deleted]) => ({ json: { format: t.format, ...t.ids, key: t.key, cleared: deleted === 1 } }),
			};
		},
	},
};
