// gc-often.cjs — preloaded into every node the interop tests start (NODE_OPTIONS, lib.sh): a
// garbage collection every 50 ms. iroh's bindings shut an endpoint or node down when its object
// is collected, so a script that keeps no reference to one it still serves with fails its test
// every time, instead of when a collection happens to come (as it did once in CI).
// The collector is reached without --expose-gc, which older nodes refuse in NODE_OPTIONS.
require('v8').setFlagsFromString('--expose-gc')
const gc = require('vm').runInNewContext('gc')
if (typeof gc !== 'function') throw new Error('gc-often.cjs: no garbage collector to call')
setInterval(gc, 50).unref()
