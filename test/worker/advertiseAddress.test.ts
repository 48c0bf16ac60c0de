// The address a worker advertises by default, and Docker's port bindings as the worker reads
// them: pure functions, no engine.
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { test } from 'node:test';
import { registrationBody } from '../../worker/control/registration.js';
import { engineBindings } from '../../worker/engine/dockerRuntime.js';
import {
  detectAdvertiseAddress,
  pickAdvertiseAddress,
} from '../../worker/host/advertiseAddress.js';

const nic = (address: string, family: 'IPv4' | 'IPv6', internal = false) =>
  ({ address, family, internal, netmask: '', mac: '', cidr: null }) as NetworkInterfaceInfo;

test("the default route's interface IPv4 first, then any non-loopback IPv4, then 127.0.0.1", () => {
  const interfaces = {
    lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)],
    docker0: [nic('172.17.0.1', 'IPv4')],
    eth0: [nic('fd00::2', 'IPv6'), nic('192.0.2.2', 'IPv4')],
  };
  assert.equal(pickAdvertiseAddress(interfaces, 'eth0'), '192.0.2.2');
  assert.equal(pickAdvertiseAddress(interfaces, 'wlan9'), '172.17.0.1');
  assert.equal(pickAdvertiseAddress(interfaces), '172.17.0.1');
  assert.equal(pickAdvertiseAddress({ lo: interfaces.lo }, 'lo'), '127.0.0.1');
  assert.equal(pickAdvertiseAddress({}), '127.0.0.1');
});

test('this host has an address to advertise', async () => {
  assert.match(await detectAdvertiseAddress(), /^\d+\.\d+\.\d+\.\d+$/);
});

test('registration carries the address when there is one', () => {
  const capacity = { cpuMillis: 1000, memoryBytes: 1, diskBytes: 1 };
  assert.equal(registrationBody('h', {}, capacity, '1.0.0', '10.0.0.5').address, '10.0.0.5');
  assert.equal('address' in registrationBody('h', {}, capacity), false);
});

test("Docker's NetworkSettings.Ports, flattened; unbound and odd entries skipped", () => {
  assert.deepEqual(
    engineBindings({
      '80/tcp': [
        { HostIp: '0.0.0.0', HostPort: '49153' },
        { HostIp: '::', HostPort: '49153' },
      ],
      '53/udp': [{ HostIp: '', HostPort: '40001' }],
      '8080/tcp': null,
      '9/sctp': [{ HostPort: '9' }],
      '81/tcp': [{ HostIp: '0.0.0.0', HostPort: '' }],
    }),
    [
      { container: 80, protocol: 'tcp', hostPort: 49153, hostIp: '0.0.0.0' },
      { container: 80, protocol: 'tcp', hostPort: 49153, hostIp: '::' },
      { container: 53, protocol: 'udp', hostPort: 40001 },
    ],
  );
  assert.deepEqual(engineBindings(undefined), []);
});
