// Facts about where the tests run, for skip decisions.
import { wineVersion } from '../../src/index.ts';

/** Wine's version string ("10.0"), or null on real Windows. */
export const wine: string | null = wineVersion();
/** True under Wine: what Wine lacks (RIO, the fast path, some options) is skipped with a reason. */
export const underWine: boolean = wine !== null;
/** Wine's major version, or null on real Windows. */
export const wineMajor: number | null = wine === null ? null : Number.parseInt(wine, 10);
/** "Wine 10.0": every skip for something Wine lacks names the version it was seen on. */
export const wineName: string = wine === null ? 'Windows' : `Wine ${wine}`;
/**
 * Under a Wine older than `major`: what that Wine lacks and a newer one has (measured:
 * TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT arrived in Wine 9.4; Wine 10 has them).
 */
export function underWineBefore(major: number): boolean {
  return wineMajor !== null && wineMajor < major;
}
