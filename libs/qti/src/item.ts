import { ContentError, flowText } from './html.ts';
import { descendants, elements, textOf } from './xml.ts';
import type { XmlElement } from './xml.ts';

/** The QTI versions read: 3.0 (`qti-assessment-item`) and 2.1 (`assessmentItem`). */
export type QtiVersion = '3.0' | '2.1';

export const QTI_NAMESPACES: Readonly<Record<QtiVersion, string>> = {
  '3.0': 'http://www.imsglobal.org/xsd/imsqtiasi_v3p0',
  '2.1': 'http://www.imsglobal.org/xsd/imsqti_v2p1',
};

/** A QTI item's question as the platform holds it, before skill and IRT parameters are added. */
export interface QtiQuestion {
  id: string;
  stem: string;
  options: { id: string; text: string }[];
  key: string;
}

/** An item that is not in the supported subset, or is invalid: the reason names what. */
export class UnsupportedItem extends Error {
  override name = 'UnsupportedItem';
  readonly item: string;
  constructor(item: string, reason: string) {
    super(reason);
    this.item = item;
  }
}

/** Element and attribute names of a version: QTI 3.0 prefixes elements with `qti-` and writes both in kebab case. */
function naming(version: QtiVersion): { el: (name: string) => string; attr: (el: XmlElement, name: string) => string | undefined } {
  const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return version === '3.0'
    ? { el: (n) => `qti-${kebab(n)}`, attr: (el, n) => el.attrs[kebab(n)] }
    : { el: (n) => n, attr: (el, n) => el.attrs[n] };
}

/** The version of an item document from its root element, or undefined when it is no QTI item. */
export function itemVersion(root: XmlElement): QtiVersion | undefined {
  if (root.name === 'qti-assessment-item') return '3.0';
  if (root.name === 'assessmentItem') return '2.1';
  return undefined;
}

const TEMPLATE = /\/rptemplates\/(match_correct|map_response)(\.xml)?$/;

/**
 * Converts a QTI item to a question: one single-response `choiceInteraction`, a response
 * declaration with its correct response, and `match_correct` or `map_response` processing.
 * Anything else throws {@link UnsupportedItem} with the reason.
 */
export function convertItem(root: XmlElement, version: QtiVersion): QtiQuestion {
  const { el, attr } = naming(version);
  const id = root.attrs['identifier'] ?? '(no identifier)';
  const refuse = (reason: string): never => {
    throw new UnsupportedItem(id, reason);
  };
  if (root.name !== el('assessmentItem')) refuse(`the root element is <${root.name}>, not <${el('assessmentItem')}>`);
  if (root.ns !== QTI_NAMESPACES[version]) refuse(`the item is not in the QTI ${version} namespace ${QTI_NAMESPACES[version]}`);
  if (root.attrs['identifier'] === undefined) refuse('the item has no identifier');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) refuse(`identifier "${id}" must be 1 to 64 letters, digits, "-" or "_" to become an item id`);
  if (root.attrs['adaptive'] === 'true') refuse('adaptive items (several attempts with feedback) are not supported');
  if (elements(root, el('templateDeclaration')).length > 0 || elements(root, el('templateProcessing')).length > 0) {
    refuse('template variables are not supported');
  }
  const body = elements(root, el('itemBody'))[0] ?? refuse(`no <${el('itemBody')}>`);
  const isInteraction = (e: XmlElement): boolean => (version === '3.0' ? /^qti-.+-interaction$/.test(e.name) : /Interaction$/.test(e.name));
  const interactions = descendants(body, isInteraction);
  const interaction = interactions[0] ?? refuse('the item has no interaction');
  if (interaction.name !== el('choiceInteraction'))
    refuse(`unsupported interaction <${interaction.name}>: only ${el('choiceInteraction')} is supported`);
  if (interactions.length > 1) refuse(`${interactions.length} interactions; one ${el('choiceInteraction')} per item is supported`);
  const maxChoices = attr(interaction, 'maxChoices') ?? '1';
  if (maxChoices !== '1')
    refuse(
      `multiple response (${version === '3.0' ? 'max-choices' : 'maxChoices'}="${maxChoices}") is not supported: the platform scores one choice per item`,
    );

  const responseId = attr(interaction, 'responseIdentifier') ?? refuse('the interaction has no response identifier');
  const declaration =
    elements(root, el('responseDeclaration')).find((d) => d.attrs['identifier'] === responseId) ??
    refuse(`no response declaration "${responseId}"`);
  const cardinality = declaration.attrs['cardinality'];
  if (cardinality !== 'single') refuse(`response cardinality "${cardinality ?? ''}" is not supported: only single`);
  if (attr(declaration, 'baseType') !== 'identifier') refuse('the response base type must be identifier');

  const choices = elements(interaction, el('simpleChoice'));
  const options = choices.map((c) => ({
    id: c.attrs['identifier'] ?? refuse('a choice has no identifier'),
    text: content(c.children, 'a choice'),
  }));
  if (options.length < 2 || options.length > 10) refuse(`${options.length} choices; 2 to 10 are supported`);
  const ids = options.map((o) => o.id);
  if (new Set(ids).size !== ids.length) refuse('choice identifiers are not unique');

  const correct = elements(
    elements(declaration, el('correctResponse'))[0] ?? refuse('the response declaration has no correct response'),
    el('value'),
  );
  if (correct.length !== 1) refuse(`the correct response has ${correct.length} values; one is needed`);
  const key = textOf(correct[0] as XmlElement).trim();
  if (!ids.includes(key)) refuse(`the correct response "${key}" is not one of the choices (${ids.join(', ')})`);

  checkProcessing(root, declaration, version, key, ids, refuse);

  const prompt = elements(interaction, el('prompt'))[0];
  const stem = [content(body.children, 'the item body'), prompt === undefined ? '' : content(prompt.children, 'the prompt')]
    .filter((s) => s !== '')
    .join('\n\n');
  if (stem === '') refuse('the item has no question text (item body and prompt are empty)');
  // Choice identifiers become option ids; longer ones than the platform keeps are renamed A, B, C, …
  if (ids.some((i) => i.length > 16)) {
    const letter = (i: number): string => String.fromCharCode(65 + i);
    return { id, stem, options: options.map((o, i) => ({ id: letter(i), text: o.text })), key: letter(ids.indexOf(key)) };
  }
  return { id, stem, options, key };

  /** The nodes with every interaction taken out (the prompt and choices are read from it apart). */
  function withoutInteractions(nodes: XmlElement['children']): XmlElement['children'] {
    return nodes
      .filter((n) => typeof n === 'string' || !isInteraction(n))
      .map((n) => (typeof n === 'string' ? n : { ...n, children: withoutInteractions(n.children) }));
  }

  function content(nodes: XmlElement['children'], where: string): string {
    try {
      return flowText(withoutInteractions(nodes));
    } catch (err) {
      if (err instanceof ContentError) return refuse(`${where}: ${err.message}`);
      throw err;
    }
  }
}

/** `match_correct`, or `map_response` whose mapping gives the correct choice the credit and no other choice any. */
function checkProcessing(
  root: XmlElement,
  declaration: XmlElement,
  version: QtiVersion,
  key: string,
  ids: string[],
  refuse: (r: string) => never,
): void {
  const { el, attr } = naming(version);
  const processing =
    elements(root, el('responseProcessing'))[0] ??
    refuse(`no <${el('responseProcessing')}>: the match_correct or map_response template is needed`);
  const template = processing.attrs['template'] ?? processing.attrs['templateLocation'] ?? processing.attrs['template-location'];
  const kind = TEMPLATE.exec(template ?? '')?.[1];
  if (kind === undefined) {
    refuse(
      template === undefined
        ? 'custom response processing rules are not supported: use the match_correct or map_response template'
        : `response processing template ${template} is not supported`,
    );
  }
  if (elements(processing).length > 0) refuse('response processing with both a template and rules is not supported');
  if (kind !== 'map_response') return;
  const mapping = elements(declaration, el('mapping'))[0] ?? refuse('map_response needs a mapping in the response declaration');
  const fallback = Number(attr(mapping, 'defaultValue') ?? '0');
  const values = new Map(ids.map((i) => [i, fallback]));
  for (const entry of elements(mapping, el('mapEntry'))) {
    const mapKey = attr(entry, 'mapKey') ?? '';
    if (values.has(mapKey)) values.set(mapKey, Number(attr(entry, 'mappedValue')));
  }
  if ([...values.values()].some((v) => !Number.isFinite(v))) refuse('the mapping has a value that is not a number');
  if ((values.get(key) ?? 0) <= 0) refuse(`the mapping gives the correct response "${key}" no credit`);
  const partial = ids.filter((i) => i !== key && (values.get(i) ?? 0) > 0);
  if (partial.length > 0)
    refuse(`the mapping gives credit to ${partial.join(', ')} besides the correct response: partial credit is not supported`);
}
