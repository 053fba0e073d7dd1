// gc-often.cjs — preloaded into every node the interop tests start (NODE_OPTIONS, lib.sh): a
// garbage collection every 50 ms. iroh's bindings shut an endpoint or node down when its object
// is collected, so a script that keeps no reference to one it still serves with fails its test
// every time, instead of when a collection happens to come (as it did once in CI).
if (typeof global.gc === 'function') setInterval(() => global.gc(), 50).unref()
