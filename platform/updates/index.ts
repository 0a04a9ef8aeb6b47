// The durable update streams: publish.ts appends, reader.ts reads through a consumer group and
// acknowledges, follow.ts shows the next entry for the editor's Test step. The other files
// (acks, coalesce, gate, group, entries, interrupt) are the reader's parts.
export { appendUpdate, DEFAULT_UPDATE_STREAM_MAXLEN, UPDATE_STREAM_ROLE, updateEntryFields } from './publish';
export { UpdateStreamReader, type UpdateStreamReaderOptions } from './reader';
export { KeepPending } from './entries';
export type { CoalesceOptions } from './coalesce';
export { followStreams } from './follow';
export type { UpdateEntry, UpdateStream } from './entries';
