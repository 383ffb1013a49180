/**
 * C0 controls except tab (U+0009) and newline (U+000A), DEL, C1 controls, and the bidirectional
 * embedding/override/isolate marks, which can make a text display differently from what it says.
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

/**
 * `raw` as plain text that displays as what it says: lone surrogates replaced, control characters
 * other than newline and tab removed, bidirectional embeddings, overrides and isolates removed
 * (all in the BMP, so checking UTF-16 units is exact). Not trimmed.
 */
export function stripUnsafeText(raw: string): string {
  const text = raw.toWellFormed();
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
 * A person's display name as it is stored and shown: cleaned like chat text, with every run of
 * whitespace (newlines and tabs included) made one space, and trimmed. May be empty.
 */
export function cleanDisplayName(raw: string): string {
  return stripUnsafeText(raw).replace(/\s+/gu, ' ').trim();
}
