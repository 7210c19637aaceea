/** The largest buffer one tensor read may allocate: Node's own Buffer limit. */
import { constants } from 'node:buffer';

export const MAX_BUFFER_BYTES: number = constants.MAX_LENGTH;
