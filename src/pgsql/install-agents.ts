/**
 * Moved to src/agents/install.ts (the node agents' folder). This re-export keeps the rack lab's
 * fixture (test/fixtures/rack-lab/index.ts, owned elsewhere) compiling until it imports
 * ../../../src/agents/install.js; then delete this file.
 */
export { installAgents } from '../agents/install.js';
