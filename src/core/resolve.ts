// Name resolution: host names to addresses with GetAddrInfoW, literals as they are.

import { literalFamily } from '../base/address.ts';
import type { AddressFamily, SocketAddress } from '../base/address.ts';
import { checkFamily, checkHost } from './checks.ts';
import type { CheckedAddress } from './checks.ts';
import * as sys from '../sys/index.ts';

function familyName(family: AddressFamily): string {
  return family === 'ipv4' ? 'IPv4' : 'IPv6';
}

/**
 * A literal as it is, or the resolver's first answer for a host name (in `family` if
 * given). `input` is checkAddressInput()'s snapshot, never the caller's own object.
 */
export function resolveOne(input: CheckedAddress, family: AddressFamily | null): SocketAddress {
  const { address, port } = input;
  const literal = literalFamily(address);
  if (literal !== null) {
    if (family !== null && literal !== family) throw new TypeError(`${JSON.stringify(address)} is not an ${familyName(family)} address`);
    return { family: literal, address, port };
  }
  const [first] = sys.resolve(address, family, 'tcp');
  if (first === undefined) throw new TypeError(`${JSON.stringify(address)} resolved to no ${family ?? 'IP'} address`);
  return { family: first.family, address: first.address, port };
}

/** For a socket of `family`: a literal of that family, or a host name resolved in it (`input` as for resolveOne). */
export function resolveFor(family: AddressFamily, input: CheckedAddress): SocketAddress {
  const literal = literalFamily(input.address);
  if (literal !== null && literal !== family) {
    throw new TypeError(`${JSON.stringify(input.address)} is an ${familyName(literal)} address but this socket is ${familyName(family)}`);
  }
  return resolveOne(input, family);
}

/** Resolves a host name with GetAddrInfoW: every address, in the resolver's order. */
export function lookup(host: string, family?: AddressFamily): SocketAddress[] {
  checkHost(host, 'host');
  const wanted = family === undefined ? null : checkFamily(family);
  return sys.resolve(host, wanted, 'tcp').map((a) => ({ family: a.family, address: a.address, port: 0 }));
}
