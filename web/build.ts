/**
 * Builds the pages with esbuild: the candidate page (`src/main.ts`, `/index.html`), the
 * proctor dashboard (`src/proctor.ts`, `/proctor.html`) and the recruiter's workspace
 * (`src/recruiter.ts`, `/recruiter.html`, with `src/recruiter.css` after the shared stylesheet), whose shared code (`@ap/client`, zod,
 * the connection and formatting modules) goes into common chunks; one stylesheet, the icon, and
 * each page's HTML pointing at their content-hashed names.
 *
 * `buildSite()` returns the files in memory (the gateway calls it at start-up);
 * `node web/build.ts [outdir]` (`npm run build:web`) writes them to `web/dist` for a gateway
 * that runs without esbuild, e.g. a production image.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

/** One file of the built site, addressed by its URL path (`/index.html`, `/assets/main-4XK2.js`). */
export type SiteFile = { path: string; contents: Uint8Array };

/** The pages: HTML template in `src/`, script entry point, and the URL path of the filled page. */
const PAGES = [
  { template: 'index.html', entry: 'main', source: 'src/main.ts', path: '/index.html' },
  { template: 'proctor.html', entry: 'proctor', source: 'src/proctor.ts', path: '/proctor.html' },
  { template: 'recruiter.html', entry: 'recruiter', source: 'src/recruiter.ts', path: '/recruiter.html' },
] as const;

const webDir = dirname(fileURLToPath(import.meta.url));

/** URL path prefix of the hashed, immutable assets. */
export const ASSET_PREFIX = '/assets/';

/**
 * zod's namespace object re-exports every locale (about 250 KB minified) and the bundle keeps the
 * whole namespace because `@ap/protocol` imports `{ z }`. The page only needs zod's default
 * English messages, so `zod/v4/locales/index.js` is replaced by a module exporting `en` alone.
 */
const zodEnglishOnly: esbuild.Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), '..', 'locales', 'index.js'), namespace: 'zod-locales' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';\n",
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

/** Builds the page in memory; throws with esbuild's messages when the sources do not compile. */
export async function buildSite(): Promise<SiteFile[]> {
  let result: esbuild.BuildResult<{ metafile: true; write: false }>;
  try {
    result = await esbuild.build({
      absWorkingDir: webDir,
      entryPoints: { ...Object.fromEntries(PAGES.map((p) => [p.entry, p.source])), styles: 'src/styles.css', 'recruiter-styles': 'src/recruiter.css' },
      outdir: 'dist/assets',
      entryNames: '[name]-[hash]',
      chunkNames: 'chunk-[hash]',
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2022', 'chrome111', 'firefox115', 'safari16'],
      minify: true,
      sourcemap: 'linked',
      legalComments: 'none',
      metafile: true,
      write: false,
      logLevel: 'silent',
      plugins: [zodEnglishOnly],
    });
  } finally {
    // The build runs once per gateway start: do not keep esbuild's service process around.
    await esbuild.stop();
  }
  const assetsDir = join(webDir, 'dist', 'assets');
  const files: SiteFile[] = result.outputFiles.map((f) => ({
    path: ASSET_PREFIX + relative(assetsDir, f.path).split(sep).join('/'),
    contents: f.contents,
  }));
  const urlOf = (out: string): string => ASSET_PREFIX + relative('dist/assets', out).split(sep).join('/');
  const outputOf = (entry: string): { url: string; imports: string[] } => {
    for (const [out, meta] of Object.entries(result.metafile.outputs)) {
      if (meta.entryPoint !== entry) continue;
      const imports = meta.imports.filter((i) => i.kind === 'import-statement' && !i.external).map((i) => urlOf(i.path));
      return { url: urlOf(out), imports };
    }
    throw new Error(`esbuild produced no output for ${entry}`);
  };
  const icon = await readFile(join(webDir, 'src', 'icon.svg'));
  const iconPath = `${ASSET_PREFIX}icon-${shortHash(icon)}.svg`;
  files.push({ path: iconPath, contents: icon });

  const styles = outputOf('src/styles.css').url;
  // The recruiter's workspace adds its own stylesheet after the shared one.
  const recruiterStyles = outputOf('src/recruiter.css').url;
  for (const page of PAGES) {
    const template = await readFile(join(webDir, 'src', page.template), 'utf8');
    const script = outputOf(page.source);
    // The shared chunks load in parallel with the page's own script instead of after it.
    const preload = script.imports.map((url) => `<link rel="modulepreload" href="${url}" />`).join('\n    ');
    const html = fill(template, { script: script.url, preload, styles, recruiterStyles, icon: iconPath });
    files.push({ path: page.path, contents: new TextEncoder().encode(html) });
  }
  return files;
}

/** Replaces each `{{name}}` of the template; a placeholder without a value is an error. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`page template: no value for {{${name}}}`);
    return value;
  });
}

function shortHash(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('base64url').slice(0, 10);
}

/** Writes the built site to `outdir` (replacing what was there). */
export async function writeSite(outdir: string): Promise<SiteFile[]> {
  const files = await buildSite();
  await rm(outdir, { recursive: true, force: true });
  for (const file of files) {
    const target = join(outdir, ...file.path.split('/').filter((s) => s !== ''));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.contents);
  }
  return files;
}

if (import.meta.main) {
  const outdir = resolve(process.argv[2] ?? join(webDir, 'dist'));
  const files = await writeSite(outdir);
  for (const f of files) process.stdout.write(`${join(outdir, f.path)}  ${f.contents.byteLength} bytes\n`);
}
