/**
 * Builds the candidate page with esbuild: one browser bundle of `src/main.ts` (with `@ap/client`),
 * one stylesheet, the icon, and `index.html` pointing at their content-hashed names.
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
      entryPoints: { main: 'src/main.ts', styles: 'src/styles.css' },
      outdir: 'dist/assets',
      entryNames: '[name]-[hash]',
      bundle: true,
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
  const outputOf = (entry: string): string => {
    for (const [out, meta] of Object.entries(result.metafile.outputs)) {
      if (meta.entryPoint === entry) return ASSET_PREFIX + relative('dist/assets', out).split(sep).join('/');
    }
    throw new Error(`esbuild produced no output for ${entry}`);
  };
  const icon = await readFile(join(webDir, 'src', 'icon.svg'));
  const iconPath = `${ASSET_PREFIX}icon-${shortHash(icon)}.svg`;
  files.push({ path: iconPath, contents: icon });

  const template = await readFile(join(webDir, 'src', 'index.html'), 'utf8');
  const html = fill(template, { script: outputOf('src/main.ts'), styles: outputOf('src/styles.css'), icon: iconPath });
  files.push({ path: '/index.html', contents: new TextEncoder().encode(html) });
  return files;
}

/** Replaces each `{{name}}` of the template; a placeholder without a value is an error. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`index.html: no value for {{${name}}}`);
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
