import { AppError, MAX_CHAT_CHARS, stripUnsafeText } from '@ap/protocol';

/**
 * Normalizes a chat message to the plain text that is stored: lone surrogates replaced,
 * control characters other than newline and tab removed, surrounding whitespace trimmed.
 * Throws VALIDATION_FAILED when nothing is left or more than `maxChars` code points remain.
 */
export function normalizeChatText(raw: string, maxChars: number = MAX_CHAT_CHARS): string {
  const text = stripUnsafeText(raw).trim();
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
