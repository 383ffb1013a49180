import { AppError, MAX_CHAT_CHARS } from '@ap/protocol';

/**
 * C0 controls except tab (U+0009) and newline (U+000A), DEL, C1 controls, and the bidirectional
 * embedding/override/isolate marks, which can make a message display differently from what it says.
 * An explicit code check rather than a control-character regex (no-control-regex).
 */
function isUnwanted(code: number): boolean {
  return (
    (code <= 0x1f && code !== 0x09 && code !== 0x0a) ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/** `text` without the unwanted characters (all in the BMP, so checking UTF-16 units is exact). */
function removeUnwanted(text: string): string {
  let kept = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (!isUnwanted(text.charCodeAt(i))) continue;
    kept += text.slice(start, i);
    start = i + 1;
  }
  return start === 0 ? text : kept + text.slice(start);
}

/**
 * Normalizes a chat message to the plain text that is stored: lone surrogates replaced,
 * control characters other than newline and tab removed, surrounding whitespace trimmed.
 * Throws VALIDATION_FAILED when nothing is left or more than `maxChars` code points remain.
 */
export function normalizeChatText(raw: string, maxChars: number = MAX_CHAT_CHARS): string {
  const text = removeUnwanted(raw.toWellFormed()).trim();
  if (text.length === 0) {
    throw new AppError('VALIDATION_FAILED', 'message is empty', { details: { field: 'message' } });
  }
  // Count code points, not UTF-16 units, so an emoji counts as one character.
  let chars = 0;
  for (const _ of text) {
    chars += 1;
    if (chars > maxChars) {
      throw new AppError('VALIDATION_FAILED', `message is longer than ${maxChars} characters`, {
        details: { field: 'message', max_chars: maxChars },
      });
    }
  }
  return text;
}
