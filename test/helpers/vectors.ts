// The ch-go golden vectors (Apache-2.0 data, see test/fixtures/ch-go/README.md), kept in the
// repository so tests run from any checkout.
import { join } from 'node:path';

export const CH_GO_VECTORS = join(import.meta.dirname, '..', 'fixtures', 'ch-go');
