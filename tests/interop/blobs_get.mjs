// blobs_get.mjs — a real iroh 0.35 node (the @number0/iroh 0.35.0 bindings, blobs built in)
// that provides blobs to irohd for blobs_get.sh.
//
//   node blobs_get.mjs MODULE FILE...
//
// Adds each FILE as a blob, and all of them as a collection named by their base names; then
// prints one JSON line {"id", "blobs": [{"file", "hash", "ticket"}...], "collection":
// {"hash", "ticket"}} with 0.35 blob tickets carrying the node's direct addresses, and serves
// until killed. MODULE is the path of the 0.35 package's index.js (iroh035/node_modules,
// installed by lib.sh). Discovery is off. Logs go to stderr.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const [, , modulePath, ...files] = process.argv
const { Iroh, Collection, SetTagOption } = require(modulePath)

const node = await Iroh.memory({
  ipv4Addr: '127.0.0.1:0', ipv6Addr: '[::1]:0', nodeDiscovery: 'None'
})
const blobs = []
const collection = new Collection()
for (const file of files) {
  const added = await node.blobs.addBytes(Array.from(readFileSync(file)))
  const ticket = await node.blobs.share(added.hash, 'Raw', 'Addresses')
  blobs.push({ file, hash: added.hash, ticket: ticket.toString() })
  collection.push(basename(file), added.hash)
}
const made = await node.blobs.createCollection(collection, SetTagOption.auto(), [])
const collTicket = await node.blobs.share(made.hash, 'HashSeq', 'Addresses')
const addr = await node.net.nodeAddr()
console.log(JSON.stringify({
  id: addr.nodeId,
  blobs,
  collection: { hash: made.hash, ticket: collTicket.toString() }
}))
// Serve until killed. The timer keeps node's loop alive and the node reachable: the bindings
// shut a node down when its object is garbage-collected.
setInterval(() => node, 1 << 30)
