/**
 * Run by runtime.test.ts in a child process without a display: reports the
 * mode the gpujs backend picks (or the error it raises) and checks a few
 * results of the fallback against js. Prints one JSON line.
 */
import * as lg from '../../../src/index';

const compute = (): number[][] => {
  const x = lg.arange(-6, 6).reshape([3, 4]).cast('float32').mul(0.5);
  return [
    Array.from(x.softmax(1).dataSync()),
    Array.from(x.matmul(x.transpose()).dataSync()),
    Array.from(
      x
        .pad(
          [
            [1, 0],
            [0, 2],
          ],
          9,
        )
        .dataSync(),
    ),
    Array.from(lg.ones([100_000]).sum().dataSync()),
    Array.from(x.pow(3).tanh().dataSync()),
  ];
};

const warnings: string[] = [];
console.warn = (...a: unknown[]) => warnings.push(a.join(' '));
try {
  lg.setBackend('gpujs');
  const mode = lg.backendInfo().mode;
  const got = compute();
  lg.setBackend('js');
  const want = compute();
  let maxErr = 0;
  got.forEach((g, i) =>
    g.forEach((v, j) => (maxErr = Math.max(maxErr, Math.abs(v - want[i][j]) / Math.max(1, Math.abs(want[i][j]))))),
  );
  console.log(JSON.stringify({ mode, maxErr, warnings }));
} catch (e) {
  console.log(JSON.stringify({ error: (e as Error).name, message: (e as Error).message }));
}
