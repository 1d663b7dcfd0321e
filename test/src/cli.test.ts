/** The `lazygrad` command line, run as a user would (through tsx): version, demo help, SVG without Graphviz. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const cli = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    // No Graphviz on PATH: svg must not need it.
    env: { ...process.env, PATH: '/nonexistent' },
  });

describe('lazygrad CLI', () => {
  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
    expect(cli('--version').trim()).toBe(version);
  });

  it("the demo's --help shows its defaults", () => {
    const help = cli('demo', '--help');
    expect(help).toMatch(/--model <model>.*\(default: "mlp"\)/);
    expect(help).toMatch(/--epochs <n>.*\(default: 8 for mlp, 4 for cnn\)/);
    expect(help).toMatch(/--batch-size <n>.*\(default: 64\)/);
    expect(help).toMatch(/--lr <x>.*\(default: 0\.002\)/);
    expect(help).toMatch(/--seed <n>.*\(default: 0\)/);
  });

  it('ir --format svg renders in-process, without a Graphviz binary on PATH', () => {
    const svg = cli('ir', 'w2', '--format', 'svg', '--stage', 'traced');
    expect(svg).toMatch(/<svg[\s>]/);
    const dot = cli('ir', 'w2', '--format', 'dot', '--stage', 'traced');
    const dotNodes = dot.split('\n').filter((l) => /^\s*n\d+ \[/.test(l)).length;
    expect((svg.match(/class="node"/g) ?? []).length).toBe(dotNodes);
  });
});
