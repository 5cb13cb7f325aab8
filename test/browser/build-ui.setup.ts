// vitest globalSetup: the dashboard's files are built before any test starts a gateway that serves
// them (the gateway builds nothing at run time; `npm run build` does the same for `npm start`).
import { buildUi } from '../../scripts/build-ui.ts';

export default async function setup(): Promise<void> {
  await buildUi();
}
