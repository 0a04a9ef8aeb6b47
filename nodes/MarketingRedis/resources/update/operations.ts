import {
	appendUpdate,
	DEFAULT_UPDATE_STREAM_MAXLEN,
	UPDATE_STREAM_ROLE,
	updateEntryFields,
} from '../../../../platform/updates';
import type { Operation } from '../../../shared/operation';

export const updateOperations: Record<string, Operation> = {
	publish: {
		kind: 'pipelined',
		// Pub/sub ignores DB numbers, so any client reaches every subscriber; the stream lives
		// in the role the trigger reads it from, which is this same one.
		role: UPDATE_STREAM_ROLE,
		action: 'Publish Update',
		plan(p, env) {
			const channel = p.key('channel', 'Channel');
			const message = p.encode('Message', p.json('message', 'Message'));
			const durable = p.boolean('options.durable', false);
			const maxLength = durable
				? p.integerOr('options.streamMaxLength', 'Stream Max Length', DEFAULT_UPDATE_STREAM_MAXLEN, { max: 100_000_000 })
				: 0;
			const stream = durable ? env.keys.updatesStream(channel) : undefined;
			const publishedAt = new Date();
			return {
				send: (pipe) => {
					// The stream entry goes first: a subscriber that takes the PUBLISH as a hint and
					// reads the stream finds the entry already there.
					if (stream) appendUpdate(pipe, stream, updateEntryFields(channel, message, publishedAt), maxLength);
					pipe.publish(channel, message);
				},
				read: (replies) => {
					const subscribers = replies[replies.length - 1] as number;
					const json: Record<string, string | number | boolean> = {
						channel,
						published: true,
						subscribers,
						publishedAt: publishedAt.toISOString(),
					};
					if (stream) {
						json.stream = stream;
						json.streamId = replies[0] as string;
					}
					return { json };
				},
			};
		},
	},
};
