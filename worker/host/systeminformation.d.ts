// Types for the systeminformation modules the worker loads on their own (the package
// types only its index, which loads all 20 modules: ~470 KB more JavaScript in a daemon
// that samples cpu and memory). The signatures are the package's own.
declare module 'systeminformation/lib/cpu.js' {
  export const cpu: typeof import('systeminformation').cpu;
}
declare module 'systeminformation/lib/memory.js' {
  export const mem: typeof import('systeminformation').mem;
}
declare module 'systeminformation/lib/network.js' {
  export const networkInterfaceDefault: typeof import('systeminformation').networkInterfaceDefault;
}
