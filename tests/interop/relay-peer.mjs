#!/usr/bin/env node
// relay-peer.mjs — real iroh endpoints (iroh 1.0.x inside @number0/iroh 1.1.0) that use
// irohd's iroh-relay, for tests/interop/relay.sh. Always run inside a network namespace with
// nothing but loopback (see README.md).
//
//   node relay-peer.mjs serve --relay URL [--token T] [--bind ADDR] [--ready FILE] [--timeout S]
//       Binds to ADDR only (default 127.0.0.1:0) with URL as its only relay (authToken T),
//       waits until the endpoint is online at the relay, writes {"id","relay","bound"} to FILE,
//       then echoes every bidirectional stream of ALPN irohd-test/relay-echo/0 and prints one
//       line per connection {"remote","echoed","relay_paths","ip_paths"}.
//   node relay-peer.mjs dial --relay URL --id ID [--token T] [--bind ADDR] [--bytes N]
//       Dials ID with an address that holds only the relay URL (no direct address), echoes N
//       random bytes (default 256 KiB), checks them and prints {"ok":true,"bytes","remote",
//       "paths"} (every path the connection had: {"relay","selected"}).
//   node relay-peer.mjs online --relay URL [--token T] [--timeout S]
//       Prints {"ok":true} once online at the relay, or {"ok":false,"error"} after S seconds.
// Endpoints use the minimal preset (no DNS, no pkarr) and a custom relay map of URL only.
import { createRequire } from 'node:module'
import { randomFillSync } from 'node:crypto'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'

const ALPN = 'irohd-test/relay-echo/0'
const PIECE = 64 * 1024

const require = createRequire(import.meta.url)
const iroh = require('@number0/iroh/index.js')

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const bytesOf = (u8) => Array.from(u8)
const alpnBytes = bytesOf(Buffer.from(ALPN))

function noDefaultRoute() {
  const lines = (f) => { try { return readFileSync(f, 'utf8').split('\n') } catch { return [] } }
  return !lines('/proc/net/route').slice(1).some((l) => l.split('\t')[1] === '00000000') &&
    !lines('/proc/net/ipv6_route').some((l) => {
      const f = l.trim().split(/\s+/)
      return f.length >= 10 && /^0{32}$/.test(f[0]) && f[1] === '00' && f[9] !== 'lo'
    })
}

function options(argv, spec) {
  const o = { ...spec }
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '')
    if (!(key in spec) || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`)
    o[key] = typeof spec[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1]
  }
  return o
}

// An endpoint whose only relay is o.relay (with o.token), bound to o.bind only.
async function bindWithRelay(o, alpns) {
  if (o.log) iroh.setLogLevel(o.log)
  const map = iroh.RelayMap.empty()
  map.insert(o.token ? { url: o.relay, authToken: o.token } : { url: o.relay })
  const b = iroh.Endpoint.builder()
  iroh.presetMinimal(b)
  b.relayMode(iroh.RelayMode.custom(map))
  b.bindAddr(o.bind)
  if (o.secret) b.secretKey(bytesOf(Buffer.from(o.secret, 'hex')))
  if (alpns.length) b.alpns(alpns)
  return b.bind()
}

function deadline(seconds) {
  setTimeout(() => { out({ ok: false, error: `timeout after ${seconds} s` }); process.exit(1) },
    seconds * 1000).unref()
}

const pathsOf = (conn) => conn.paths().map((p) => ({ relay: p.isRelay, selected: p.isSelected, addr: p.remoteAddr }))

async function serveConnection(incoming) {
  const conn = await (await incoming.accept()).connect()
  const result = { remote: conn.remoteId().toString(), echoed: 0 }
  const gone = conn.closed().then(() => null)
  for (;;) {
    const bi = await Promise.race([conn.acceptBi(), gone]).catch(() => null)
    if (!bi) break
    for (;;) {
      const piece = await bi.recv.read(PIECE)
      if (piece.length === 0) break
      result.echoed += piece.length
      await bi.send.writeAll(piece)
    }
    await bi.send.finish()
    const paths = pathsOf(conn)
    result.relay_paths = paths.filter((p) => p.relay).length
    result.ip_paths = paths.filter((p) => !p.relay).length
  }
  await gone
  return result
}

async function serve(argv) {
  const o = options(argv, { relay: '', token: '', bind: '127.0.0.1:0', ready: '', timeout: 30 })
  const ep = await bindWithRelay(o, [alpnBytes])
  const online = await Promise.race([ep.online().then(() => true),
    new Promise((r) => setTimeout(() => r(false), o.timeout * 1000))])
  if (!online) throw new Error('not online at the relay')
  const ready = JSON.stringify({ id: ep.id().toString(), relay: ep.addr().relayUrl(), bound: ep.boundSockets() }) + '\n'
  writeFileSync(o.ready + '.tmp', ready)
  renameSync(o.ready + '.tmp', o.ready)
  const stop = async () => { await ep.close().catch(() => {}); process.exit(0) }
  process.on('SIGTERM', stop)
  for (;;) {
    const incoming = await ep.acceptNext()
    if (!incoming) break
    serveConnection(incoming).then(out, (e) => out({ error: String(e.message || e) }))
  }
}

async function dial(argv) {
  const o = options(argv, { relay: '', token: '', bind: '127.0.0.1:0', id: '', bytes: 256 << 10, timeout: 60 })
  deadline(o.timeout)
  const data = new Uint8Array(o.bytes)
  randomFillSync(data)
  const ep = await bindWithRelay(o, [])
  const addr = new iroh.EndpointAddr(iroh.EndpointId.fromString(o.id), o.relay, [])
  const conn = await ep.connect(addr, alpnBytes)
  const bi = await conn.openBi()
  const send = (async () => {
    for (let off = 0; off < data.length; off += PIECE) await bi.send.writeAll(bytesOf(data.subarray(off, off + PIECE)))
    await bi.send.finish()
  })()
  let got = 0
  for (;;) {
    const piece = await bi.recv.read(PIECE)
    if (piece.length === 0) break
    for (let i = 0; i < piece.length; i++)
      if (piece[i] !== data[got + i]) throw new Error(`echo differs at offset ${got + i}`)
    got += piece.length
  }
  await send
  if (got !== data.length) throw new Error(`echo ended after ${got} of ${data.length} bytes`)
  const paths = pathsOf(conn)
  const remote = conn.remoteId().toString()
  conn.close(0n, bytesOf(Buffer.from('done')))
  await ep.close().catch(() => {})
  out({ ok: true, bytes: got, remote, paths })
}

async function online(argv) {
  const o = options(argv, { relay: '', token: '', bind: '127.0.0.1:0', timeout: 10, secret: '', log: '' })
  deadline(o.timeout)
  const ep = await bindWithRelay(o, [])
  await ep.online()
  out({ ok: true, relay: ep.addr().relayUrl() })
  await ep.close().catch(() => {})
}

if (!noDefaultRoute()) {
  process.stderr.write('relay-peer.mjs: refusing to run where a default route exists (use relay.sh)\n')
  process.exit(3)
}
const [mode, ...rest] = process.argv.slice(2)
const run = { serve, dial, online }[mode]
if (!run) {
  process.stderr.write('usage: node relay-peer.mjs serve|dial|online --relay URL [...] (see the header)\n')
  process.exit(2)
}
run(rest).then(() => process.exit(0),
  (e) => { out({ ok: false, error: String((e && e.message) || e).split('\n')[0] }); process.exit(1) })
