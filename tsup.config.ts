import { defineConfig } from 'tsup';

// Entry points of the published package: the library (ESM + CJS + types),
// the `lazygrad` CLI (dist/cli.js, referenced by package.json "bin") and the
// wasm backend's pool worker (dist/pool-worker.js: the library starts it from
// `new URL('./pool-worker.js', import.meta.url)`, which `shims` also gives the CJS build).
// One build for both keeps `clean` free of races; the CLI gets its shebang
// (and the executable bit) from the small plugin below.
const SHEBANG = '#!/usr/bin/env node\n';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    cli: 'src/cli.ts',
    'pool-worker': 'backends/wasm/pool-worker.js',
  },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  clean: true,
  shims: true,
  sourcemap: false,
  plugins: [
    {
      name: 'cli-shebang',
      renderChunk(code, info) {
        if (!/(^|[\\/])src[\\/]cli\.ts$/.test(info.entryPoint ?? '')) return;
        info.mode = 0o755;
        if (code.startsWith('#!')) return;
        return { code: SHEBANG + code };
      },
    },
  ],
});
