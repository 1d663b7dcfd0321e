// Setup of the `reference` test project: the interpreter backend under the name the
// project's LAZYGRAD_BACKEND selects, registered before the suites import lazygrad.
import { registerBackend } from '../../backends/registry';
import { InterpreterBackend } from '../backends/interpreter-backend';

registerBackend('reference', () => new InterpreterBackend('reference'), {
  description: 'test backend: every kernel through the reference interpreter',
});
