import { badInput } from './errors';

/** Longest media type accepted (the column's length). */
export const MAX_MEDIA_TYPE_LENGTH = 255;

// RFC 6838 restricted-name: a letter or digit, then up to 126 of these
const NAME = "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}";
// RFC 9110 parameter: token = token / quoted-string (no controls: no CR, LF or NUL)
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t\\x20\\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t\\x20-\\x7e\\x80-\\xff])*"';
const MEDIA_TYPE = new RegExp(`^${NAME}/${NAME}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*$`);

/** True when `value` is a media type a Content-Type header can carry as it is. */
export function isMediaType(value: string): boolean {
  return value.length <= MAX_MEDIA_TYPE_LENGTH && MEDIA_TYPE.test(value);
}

/**
 * A file's media type as stored: without surrounding spaces, null when absent or empty. Anything but
 * `type/subtype` (RFC 6838 names) with optional `; name=value` parameters (token or quoted
 * string), or longer than MAX_MEDIA_TYPE_LENGTH, is BAD_USER_INPUT (field `mimeType`): a CR or LF
 * would make every download of the file fail, as would other controls.
 */
export function checkMediaType(value: string | null | undefined): string | null {
  const type = value?.replace(/^[ \t]+|[ \t]+$/g, '') || null; // not trim(): a CR or LF anywhere is refused
  if (type === null) return null;
  if (!isMediaType(type)) throw badInput('mimeType is not a media type (type/subtype[; name=value])', { field: 'mimeType' });
  return type;
}

/** What a download may send as Content-Type: `value` when it is a media type, else application/octet-stream (rows stored before the check). */
export function safeMediaType(value: string | null | undefined): string {
  return value && isMediaType(value) ? value : 'application/octet-stream';
}
