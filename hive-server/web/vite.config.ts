// Vite config of the dashboard. The bundle is served by `hive serve` under /ui/
// and committed, so the build must be reproducible byte for byte: no timestamps,
// no random ids. The small plugin below writes the service worker (`sw.js`)
// after everything else is written: the list of files it precaches (the app
// shell: index.html, the hashed assets, the manifest and the icons) and a
// version derived from their contents, so a new build means a new sw.js, which
// the page announces as "a new version is available".
import { defineConfig, type Plugin, type ResolvedConfig } from 'vite';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listFiles(full));
    else out.push(full);
  }
  return out;
}

function serviceWorker(): Plugin {
  let config: ResolvedConfig;
  return {
    name: 'hive-service-worker',
    apply: 'build',
    configResolved(c) {
      config = c;
    },
    closeBundle() {
      const outDir = resolve(config.root, config.build.outDir);
      const template = readFileSync(join(config.root, 'src', 'sw-template.js'), 'utf8');
      const files = listFiles(outDir)
        .map((f) => relative(outDir, f).split(sep).join('/'))
        .filter((f) => f !== 'sw.js' && !f.endsWith('.map'))
        .sort();
      const hash = createHash('sha256');
      for (const f of files) {
        hash.update(f);
        hash.update('\0');
        hash.update(readFileSync(join(outDir, f)));
        hash.update('\0');
      }
      hash.update(template);
      const version = hash.digest('hex').slice(0, 16);
      const base = config.base;
      const shell = [base, ...files.map((f) => base + f)];
      const source = template
        .replace('__HIVE_VERSION__', JSON.stringify(version))
        .replace('__HIVE_SHELL__', JSON.stringify(shell))
        .replace('__HIVE_BASE__', JSON.stringify(base));
      writeFileSync(join(outDir, 'sw.js'), source);
    },
  };
}

export default defineConfig({
  base: '/ui/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      '^/(tasks|queue|agents|sessions|dead-letters|events|metrics|health|experiments|prompts|prompt-versions|proposals|meta|outcomes|changes|repositories)': 'http://127.0.0.1:18080',
      '/ws': { target: 'ws://127.0.0.1:18080', ws: true },
    },
  },
  plugins: [serviceWorker()],
});
