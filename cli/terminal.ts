/**
 * Text from model folders (config strings, tensor names, tokenizer pieces) reaches the terminal; a crafted
 * `model_type` such as "\u001b]0;pwned\u0007" would set the window title or worse. Every line the CLI prints
 * goes through `terminalSafe`: C0/C1 control characters (except newline and tab where allowed), DEL and the
 * bidi overrides become visible \u escapes.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_AND_NEWLINES = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Escapes control characters; keeps newlines and tabs when `multiline` (tables, generated text). */
export function terminalSafe(s: string, multiline = false): string {
  return s.replace(multiline ? CONTROL : CONTROL_AND_NEWLINES, escape);
}
