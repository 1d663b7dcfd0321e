/**
 * Storage: a realised buffer on a backend, shared by the tensors and graph
 * leaves that refer to it. Disposed or donated storage raises a clear error
 * when anything tries to read it; unreachable storage is freed by a
 * finalizer (gpujs textures).
 */
import { LazygradError } from '../ir';
import type { Backend, DeviceBuffer, TypedArray } from '../backends/backend';

export type StorageState = 'live' | 'disposed' | 'donated';

const finalizer = new FinalizationRegistry<{ backend: Backend; buf: DeviceBuffer }>(({ backend, buf }) =>
  backend.free(buf),
);

export class Storage {
  state: StorageState = 'live';
  /**
   * Whether the user holds this buffer's memory (`dataSync` on a backend
   * whose downloads are views): a donating jit call then leaves it intact.
   */
  exposed = false;
  private readonly token = {};

  constructor(
    readonly backend: Backend,
    readonly buf: DeviceBuffer,
  ) {
    // Only buffers holding resources get a finalizer: its record keeps `buf` alive until it runs.
    if (backend.freesBuffers) finalizer.register(this, { backend, buf }, this.token);
  }

  /** Throws the error a user should see when this storage is no longer usable. */
  check(what: string): void {
    if (this.state === 'disposed')
      throw new LazygradError(`${what}: the tensor was disposed; it cannot be used any more`);
    if (this.state === 'donated')
      throw new LazygradError(
        `${what}: the tensor was donated to a jit call (donate) and its buffer reused; it cannot be used any more`,
      );
  }

  release(state: StorageState): void {
    if (this.state !== 'live') return;
    this.state = state;
    finalizer.unregister(this.token);
    if (state === 'disposed') this.backend.free(this.buf);
  }

  /** The values on the host, without a copy where the backend keeps them there; never written by the caller. */
  read(what: string): TypedArray {
    this.check(what);
    return this.backend.download(this.buf);
  }

  /** `read` for handing to the user: the memory is theirs to read for as long as they like. */
  expose(what: string): TypedArray {
    const data = this.read(what);
    if (this.backend.downloadIsView) this.exposed = true;
    return data;
  }

  /** This storage's buffer on `backend` (copied through the host if it lives elsewhere). */
  on(backend: Backend, what: string): DeviceBuffer {
    this.check(what);
    if (backend === this.backend) return this.buf;
    return backend.upload(this.buf.dtype, this.backend.download(this.buf));
  }
}
