import { stripUnsafeText } from '@ap/protocol';
import type { XmlElement, XmlNode } from './xml.ts';

/** Content the platform cannot show: the item is refused with this reason. */
export class ContentError extends Error {
  override name = 'ContentError';
}

// The platform shows questions as text. These elements keep their text; their attributes
// (event handlers, href, style, class) are all dropped.
const INLINE = new Set([
  'span',
  'b',
  'strong',
  'i',
  'em',
  'u',
  'small',
  'big',
  'code',
  'kbd',
  'var',
  'samp',
  'cite',
  'abbr',
  'dfn',
  'a',
  'q',
]);
const BLOCK = new Set(['p', 'div', 'pre', 'blockquote', 'ul', 'ol', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'br']);
const RESOURCE = new Set([
  'img',
  'object',
  'embed',
  'iframe',
  'frame',
  'audio',
  'video',
  'source',
  'track',
  'picture',
  'svg',
  'math',
  'canvas',
  'link',
]);

/**
 * The text of QTI flow content (an item body, a prompt, a choice) under the allowed subset:
 * inline formatting keeps its text, blocks and `<br>` become line breaks, list items get a dash,
 * `<sup>`/`<sub>` become `^`/`_`, links keep their text only. `<script>`, `<style>`, images and
 * any other resource, and every element outside the subset, refuse the item.
 */
export function flowText(nodes: readonly XmlNode[]): string {
  const text = render(nodes, false)
    .replace(/[ \t]*\n[ \t]*/g, '\n')
    .replace(/\n{2,}/g, '\n')
    .trim();
  return stripUnsafeText(text);
}

function render(nodes: readonly XmlNode[], pre: boolean): string {
  let out = '';
  for (const node of nodes) {
    if (typeof node === 'string') out += pre ? node : node.replace(/\s+/g, ' ');
    else out += renderElement(node, pre);
  }
  return out;
}

function renderElement(el: XmlElement, pre: boolean): string {
  const name = el.name;
  if (name === 'script' || name === 'style') throw new ContentError(`<${name}> is not allowed`);
  if (RESOURCE.has(name))
    throw new ContentError(`<${name}> is not supported: the platform shows text only, and no external resource is loaded`);
  if (name === 'sup' || name === 'sub') {
    const inner = render(el.children, pre).trim();
    const mark = name === 'sup' ? '^' : '_';
    return inner.length <= 1 ? `${mark}${inner}` : `${mark}(${inner})`;
  }
  if (name === 'q') return `“${render(el.children, pre)}”`;
  if (INLINE.has(name)) return render(el.children, pre);
  if (!BLOCK.has(name)) throw new ContentError(`<${name}> is not supported in question text`);
  if (name === 'br') return '\n';
  if (name === 'li') return `\n- ${render(el.children, pre).trim()}\n`;
  return `\n${render(el.children, pre || name === 'pre')}\n`;
}
