// Types for the three systeminformation modules the worker loads on their own (the package
// types only its index, which loads all 20 modules: ~470 KB more JavaScript in a daemon
// that samples cpu, memory and disk). The signatures are the package's own.
declare module 'systeminformation/lib/cpu.js' {
  export const cpu: typeof import('systeminformation').cpu;
  export const currentLoad: typeof import('systeminformation').currentLoad;
}
declare module 'systeminformation/lib/memory.js' {
  export const mem: typeof import('systeminformation').mem;
}
declare module 'systeminformation/lib/filesystem.js' {
  export const fsSize: typeof import('systeminformation').fsSize;
}
