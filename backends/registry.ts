/**
 * The backend registry: every backend is a name and a factory, registered
 * once (builtin.ts for lazygrad's own). Settings, the CLI's choices, the
 * per-backend test projects and the bench read their lists from here, so a
 * new backend is one folder plus one `registerBackend` line. Instances are
 * created on first use and kept, one per name.
 */
import { LazygradError } from '../ir';
import type { Backend } from './backend';

export type BackendFactory = () => Backend;

export interface BackendEntryInfo {
  /** One line for help texts (the CLI's `--backend`). */
  readonly description?: string;
  /** Not offered as a user choice: a variant for internal use (the float64 js of gradient checks). */
  readonly hidden?: boolean;
  /** Whether the backend-independent test suites run on it in this environment (default: always). */
  readonly testable?: () => boolean;
}

export interface RegisteredBackend {
  readonly name: string;
  readonly info: BackendEntryInfo;
}

interface Entry extends RegisteredBackend {
  readonly factory: BackendFactory;
  instance?: Backend;
}

const entries = new Map<string, Entry>();

export function registerBackend(name: string, factory: BackendFactory, info: BackendEntryInfo = {}): void {
  if (typeof name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(name))
    throw new LazygradError(
      `registerBackend: a backend name is lower-case letters, digits and '-', starting with a letter; got ${JSON.stringify(name)}`,
    );
  if (entries.has(name))
    throw new LazygradError(`registerBackend: a backend named '${name}' is already registered; pick another name`);
  entries.set(name, { name, factory, info });
}

/** Registered backends in registration order; hidden variants only with `includeHidden`. */
export function registeredBackends(opts: { includeHidden?: boolean } = {}): RegisteredBackend[] {
  return [...entries.values()]
    .filter((e) => opts.includeHidden || !e.info.hidden)
    .map(({ name, info }) => ({ name, info }));
}

/** Names of the registered backends (the user's choices unless `includeHidden`). */
export function backendNames(opts: { includeHidden?: boolean } = {}): string[] {
  return registeredBackends(opts).map((e) => e.name);
}

export function isBackendName(name: unknown): name is string {
  return typeof name === 'string' && entries.has(name);
}

/** The names as a message lists them: `'js', 'gpujs'`. */
export function listBackendNames(): string {
  return backendNames()
    .map((n) => `'${n}'`)
    .join(', ');
}

/** The backend registered as `name` (created on first use, then the same instance). */
export function createBackend(name: string): Backend {
  const entry = entries.get(name);
  if (!entry) throw new LazygradError(`unknown backend '${String(name)}' (registered backends: ${listBackendNames()})`);
  entry.instance ??= entry.factory();
  return entry.instance;
}
