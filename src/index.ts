/** lazygrad: lazy tensors, autodiff as an IR pass, fused kernels on JS and gpu.js. */
export { Tensor, type TensorLike } from './tensor';
export {
  tensor,
  zeros,
  ones,
  full,
  arange,
  eye,
  rand,
  randn,
  manualSeed,
  zerosLike,
  onesLike,
  linspace,
  randint,
} from './creation';
export { where, concat, stack, stopGradient } from './ops';
export { take, gather } from './indexing';
export { realize } from './realize';
export { conv2d, maxPool2d, avgPool2d } from './conv';
export { grad, valueAndGrad, vjp, checkGrad } from './autograd';
export {
  setBackend,
  getBackend,
  backendInfo,
  type BackendInfo,
  setThreads,
  getThreads,
  backendNames,
  registerBackend,
  setFusion,
  getFusion,
  setDebug,
} from './settings';
export { LazygradError, ShapeError, DTypeError, GraphError } from '../ir';
export type { PublicDType as DType } from '../ir';
export { jit, makeIR, type JitOptions, type Lowered, type Stage } from './jit';
export * as nn from './nn';
export * as optim from './optim';
export { save, load, toSafetensors, fromSafetensors, safetensorsMetadata, type SafetensorsOptions } from './checkpoint';
export { treeMap } from './tree-util';
