// Facts about where the tests run, for skip decisions.
import { wineVersion } from '../../src/index.ts';

/** Wine's version string, or null on real Windows. */
export const wine: string | null = wineVersion();
/** True under Wine: what Wine lacks (RIO, the fast path, some options) is skipped with a reason. */
export const underWine: boolean = wine !== null;
