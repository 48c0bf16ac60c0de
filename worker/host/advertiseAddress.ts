// The address this worker advertises for its tasks' published ports (`cube worker
// --advertise-addr`): by default the IPv4 address of the interface the default route leaves
// by, else the first non-loopback IPv4 address, else 127.0.0.1 (a host with no network).
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import { networkInterfaceDefault } from 'systeminformation/lib/network.js';

export const LOOPBACK_ADDRESS = '127.0.0.1';

/** Picks the address from the host's interfaces and the default route's interface name. */
export function pickAdvertiseAddress(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
  defaultInterface?: string,
): string {
  const ipv4 = (list: NetworkInterfaceInfo[] | undefined) =>
    list?.find((i) => i.family === 'IPv4' && !i.internal)?.address;
  const preferred = defaultInterface ? ipv4(interfaces[defaultInterface]) : undefined;
  return preferred ?? Object.values(interfaces).map(ipv4).find(Boolean) ?? LOOPBACK_ADDRESS;
}

export async function detectAdvertiseAddress(): Promise<string> {
  const name = await networkInterfaceDefault().catch(() => '');
  return pickAdvertiseAddress(networkInterfaces(), name || undefined);
}
