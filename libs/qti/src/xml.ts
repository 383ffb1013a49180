import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** One element of a parsed document: local name, namespace URI, attributes and children in order. */
export interface XmlElement {
  readonly name: string;
  readonly ns: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlNode[];
}
export type XmlNode = XmlElement | string;

/** A document that cannot be read safely or is not well-formed XML. */
export class XmlError extends Error {
  override name = 'XmlError';
}

/** The largest XML file read, in bytes: QTI items and manifests are far smaller. */
export const MAX_XML_BYTES = 1024 * 1024;
const MAX_DEPTH = 64;

// The five predefined entities and character references are all XML has without a DTD;
// a DTD is refused before parsing, so no entity is ever declared, expanded or fetched.
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // No entity is replaced by the parser: references are decoded below, predefined ones only.
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  cdataPropName: '#cdata',
  maxNestedTags: MAX_DEPTH,
});

/**
 * Parses an XML document from bytes (UTF-8 only). A DOCTYPE or ENTITY declaration anywhere in the
 * text is refused outright, before the parser sees it: QTI needs no DTD, and refusing it is what
 * rules out external entities (XXE) and entity expansion (billion laughs).
 */
export function parseXml(bytes: Uint8Array): XmlElement {
  if (bytes.length > MAX_XML_BYTES) throw new XmlError(`the file is larger than ${MAX_XML_BYTES} bytes`);
  if ((bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe)) {
    throw new XmlError('the file is UTF-16; only UTF-8 is read');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new XmlError('the file is not valid UTF-8');
  }
  if (/<!DOCTYPE/i.test(text)) throw new XmlError('a DOCTYPE (DTD) is not allowed: QTI needs none, and entities are never expanded');
  if (/<!ENTITY/i.test(text)) throw new XmlError('an ENTITY declaration is not allowed: entities are never expanded');
  const declared = /^\s*<\?xml[^>]*\bencoding\s*=\s*["']([^"']+)["']/.exec(text)?.[1];
  if (declared !== undefined && !/^utf-?8$/i.test(declared))
    throw new XmlError(`the file declares encoding ${declared}; only UTF-8 is read`);
  // The validator is deprecated in favour of a separate package, but it is the parser's own well-formedness check.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  let raw: unknown;
  try {
    raw = parser.parse(text);
  } catch (err) {
    throw new XmlError(`not well-formed XML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const roots = toNodes(raw, new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]), 0).filter(
    (n): n is XmlElement => typeof n !== 'string',
  );
  const root = roots[0];
  if (root === undefined || roots.length > 1) throw new XmlError('the document must have one root element');
  return root;
}

/** fast-xml-parser's ordered output to elements with resolved namespaces and decoded text. */
function toNodes(raw: unknown, scope: ReadonlyMap<string, string>, depth: number): XmlNode[] {
  if (depth > MAX_DEPTH) throw new XmlError(`elements are nested deeper than ${MAX_DEPTH}`);
  if (!Array.isArray(raw)) return [];
  const out: XmlNode[] = [];
  for (const entry of raw as Record<string, unknown>[]) {
    for (const [key, value] of Object.entries(entry)) {
      if (key === ':@') continue;
      if (key === '#text') out.push(decodeReferences(String(value)));
      else if (key === '#cdata') {
        // CDATA is literal text: no reference in it is decoded.
        for (const part of Array.isArray(value) ? (value as Record<string, unknown>[]) : []) {
          const text = part['#text'];
          if (typeof text === 'string') out.push(text);
        }
      } else out.push(toElement(key, value, (entry[':@'] ?? {}) as Record<string, string>, scope, depth));
    }
  }
  return out;
}

function toElement(
  tag: string,
  children: unknown,
  rawAttrs: Record<string, string>,
  parentScope: ReadonlyMap<string, string>,
  depth: number,
): XmlElement {
  const scope = new Map(parentScope);
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns') scope.set('', decodeReferences(v));
    else if (k.startsWith('xmlns:')) scope.set(k.slice(6), decodeReferences(v));
  }
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    attrs[k] = decodeReferences(v);
  }
  const colon = tag.indexOf(':');
  const prefix = colon < 0 ? '' : tag.slice(0, colon);
  const ns = scope.get(prefix);
  if (ns === undefined && prefix !== '') throw new XmlError(`undeclared namespace prefix "${prefix}" on <${tag}>`);
  return { name: colon < 0 ? tag : tag.slice(colon + 1), ns: ns ?? '', attrs, children: toNodes(children, scope, depth + 1) };
}

function decodeReferences(text: string): string {
  return text.replace(/&([^;&\s]{0,32});/g, (whole, ref: string) => {
    const predefined = PREDEFINED[ref];
    if (predefined !== undefined) return predefined;
    const code = /^#x([0-9a-f]{1,6})$/i.test(ref)
      ? parseInt(ref.slice(2), 16)
      : /^#([0-9]{1,7})$/.test(ref)
        ? parseInt(ref.slice(1), 10)
        : NaN;
    if (Number.isNaN(code))
      throw new XmlError(`unknown entity ${whole}: only the five predefined entities and character references are read`);
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new XmlError(`invalid character reference ${whole}`);
    return String.fromCodePoint(code);
  });
}

/** The element children of an element, optionally only those with a local name. */
export function elements(el: XmlElement, name?: string): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string' && (name === undefined || c.name === name));
}

/** Every descendant element (depth first) that matches. */
export function descendants(el: XmlElement, match: (e: XmlElement) => boolean): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of elements(el)) {
    if (match(c)) out.push(c);
    out.push(...descendants(c, match));
  }
  return out;
}

/** The text content of an element, all descendants' text in order. */
export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}
