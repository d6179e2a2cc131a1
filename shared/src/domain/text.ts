/**
 * What text from a client must look like before it reaches PostgreSQL, shared by the message
 * schema and the HTTP APIs so that both refuse the same strings.
 */

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /\p{Cs}/u;

/** True when the text holds a control character: PostgreSQL text cannot hold NUL (22021). */
export function hasControlCharacter(text: string): boolean {
  return CONTROL_CHARACTER.test(text);
}

/**
 * True when the string has no unpaired UTF-16 surrogate. PostgreSQL stores text as UTF-8, into
 * which the driver writes every lone surrogate as U+FFFD: two different ids would become one
 * stored id, and one event would silently count as a duplicate of the other.
 */
export function isWellFormedUnicode(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** Text that is stored and read back unchanged: no control character, no lone surrogate. */
export function isStorableText(text: string): boolean {
  return !hasControlCharacter(text) && isWellFormedUnicode(text);
}
