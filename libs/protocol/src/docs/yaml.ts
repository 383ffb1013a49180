import { stringify } from 'yaml';
import { asyncApiDocument } from './asyncapi.ts';
import { openApiDocument } from './openapi.ts';

const HEADER = '# Generated from the zod schemas in libs/protocol by `npm run docs`; do not edit by hand.\n';

/** The AsyncAPI and OpenAPI documents as YAML text, as `npm run docs` writes them and the gateway serves them. */
export function apiDocumentsYaml(): { asyncapi: string; openapi: string } {
  const render = (doc: unknown) => HEADER + stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
  return { asyncapi: render(asyncApiDocument()), openapi: render(openApiDocument()) };
}
