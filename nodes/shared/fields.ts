import type { IDisplayOptions, INodeProperties } from 'n8n-workflow';

import { DEFAULT_MAX_VALUE_BYTES } from '../../platform/codec';

/** The fields that several resources share, so their wording and limits stay the same. */

/** "TTL (Seconds)": the entry's time to live. */
export function ttlField(displayOptions: IDisplayOptions, defaultSeconds: number, description: string): INodeProperties {
	return {
		displayName: 'TTL (Seconds)',
		name: 'ttl',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: defaultSeconds,
		description,
		displayOptions,
	};
}

/** The "Max Value Size (Bytes)" option read by ItemParams.maxValueBytes(). */
export function maxValueSizeOption(what: string): INodeProperties {
	return {
		displayName: 'Max Value Size (Bytes)',
		name: 'maxValueBytes',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: DEFAULT_MAX_VALUE_BYTES,
		description: `Reject ${what} larger than this, before anything is written`,
	};
}

/** The "Options" collection of a write operation: the size limit, plus any extra options. */
export function writeOptions(
	displayOptions: IDisplayOptions,
	what: string,
	extra: INodeProperties[] = [],
): INodeProperties {
	return {
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions,
		// n8n lists collection options alphabetically.
		options: [...extra, maxValueSizeOption(what)].sort((a, b) => a.displayName!.localeCompare(b.displayName!)),
	};
}
