import { defineConfig } from 'tsup';

// Entry points of the published package: the library (ESM + CJS + types) and
// the `lazygrad` CLI (dist/cli.js, referenced by package.json "bin").
// One build for both keeps `clean` free of races; the CLI gets its shebang
// (and the executable bit) from the small plugin below.
const SHEBANG = '#!/usr/bin/env node\n';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    cli: 'src/cli.ts',
  },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  clean: true,
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
