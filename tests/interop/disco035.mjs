// disco035.mjs — a real iroh 0.35 node (the @number0/iroh 0.35.0 bindings, whose path layer
// is magicsock + disco) for disco035.sh. It talks irohd's echo protocol (ALPN
// iroh-example/echo/0: bytes sent on a bi stream come back on it).
//
//   node disco035.mjs MODULE serve             serve echo; print {"id","addrs","ticket"} (an
//                                              irohd endpoint ticket of its IPv4 address) when ready,
//                                              then one line per finished connection
//   node disco035.mjs MODULE dial --id ID --addr IP:PORT [--bytes N]
//                                              dial, echo N random bytes, print the result
//
// MODULE is the path of the 0.35 package's index.js (iroh035/node_modules, installed by
// lib.sh). Discovery is off: the node only knows the addresses given to it. Output is
// one JSON line per result on stdout; logs go to stderr.
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const [, , modulePath, mode, ...rest] = process.argv
const { Iroh, setLogLevel } = require(modulePath)
// IROH035_LOG=Debug (or Trace, Info…): the node's own log, which its bindings write to stdout
// (result lines are the ones that start with "{")
if (process.env.IROH035_LOG) setLogLevel(process.env.IROH035_LOG)
const ALPN = Buffer.from('iroh-example/echo/0')

const args = {}
for (let i = 0; i < rest.length; i += 2) args[rest[i].replace(/^--/, '')] = rest[i + 1]

async function readAll (recv) {
  const chunks = []
  const buf = new Uint8Array(65536)
  for (;;) {
    const n = await recv.read(buf)
    if (n === null) break
    chunks.push(Buffer.from(buf.subarray(0, Number(n))))
  }
  return Buffer.concat(chunks)
}

// The endpoint ticket irohd takes: "endpoint" + base32(00 ‖ id ‖ n ‖ per address 01, family,
// ip, varint port), spec endpoint.md §2.6 (0.35's own tickets are another format).
function ticket (id, addrs) {
  const varint = (n) => { const out = []; do { out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>= 7 } while (n); return out }
  const bytes = [0, ...Buffer.from(id, 'hex'), ...varint(addrs.length)]
  for (const a of addrs) {
    const at = a.lastIndexOf(':')
    const host = a.slice(0, at)
    if (host.startsWith('[')) throw new Error('IPv4 addresses only')
    bytes.push(1, 0, ...host.split('.').map(Number), ...varint(Number(a.slice(at + 1))))
  }
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  let bits = 0, value = 0, out = 'endpoint'
  for (const b of bytes) {
    value = (value << 8) | b
    bits += 8
    while (bits >= 5) { out += alphabet[(value >>> (bits - 5)) & 31]; bits -= 5 }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31]
  return out
}

async function serve () {
  const protocols = {
    [ALPN]: (err, ep) => ({
      accept: async (err, conn) => {
        const remote = conn.remoteNodeId().toString()
        let echoed = 0
        try {
          const bi = await conn.acceptBi()
          const data = await readAll(bi.recv)
          await bi.send.writeAll(data)
          await bi.send.finish()
          echoed = data.length
          await conn.closed()
        } catch (e) {
          console.error('serve:', e.message)
        }
        console.log(JSON.stringify({ remote, echoed }))
      }
    })
  }
  const node = await Iroh.memory({
    ipv4Addr: '127.0.0.1:0', ipv6Addr: '[::1]:0', nodeDiscovery: 'None', protocols
  })
  const addr = await node.net.nodeAddr()
  const addrs = addr.addresses || []
  const v4 = addrs.filter((a) => !a.startsWith('['))
  console.log(JSON.stringify({ id: addr.nodeId, addrs, ticket: ticket(addr.nodeId, v4) }))
  // Serve until killed. The bindings shut a node down when its object is garbage-collected, so
  // the timer keeps it reachable (a promise that never settles kept nothing alive, and a GC
  // soon after start-up silenced the node).
  setInterval(() => node, 1 << 30)
}

async function dial () {
  const bytes = Number(args.bytes || 65536)
  const node = await Iroh.memory({
    ipv4Addr: '127.0.0.1:0', ipv6Addr: '[::1]:0', nodeDiscovery: 'None'
  })
  const started = Date.now()
  const result = { ok: false }
  try {
    const conn = await node.node.endpoint().connect({ nodeId: args.id, addresses: [args.addr] }, ALPN)
    result.remote = conn.remoteNodeId().toString()
    const bi = await conn.openBi()
    const data = randomBytes(bytes)
    const [, back] = await Promise.all([
      bi.send.writeAll(data).then(() => bi.send.finish()),
      readAll(bi.recv)
    ])
    result.bytes = back.length
    result.ok = back.equals(data)
    conn.close(0n, Buffer.from(''))
  } catch (e) {
    result.error = e.message
  }
  result.ms = Date.now() - started
  console.log(JSON.stringify(result))
  await node.node.shutdown()
  process.exit(result.ok ? 0 : 1)
}

if (mode === 'serve') await serve()
else if (mode === 'dial') await dial()
else {
  console.error('usage: disco035.mjs MODULE serve | dial --id ID --addr IP:PORT [--bytes N]')
  process.exit(2)
}
