#!/usr/bin/env node
// relay_irohd.mjs — the real iroh endpoint (iroh 1.0.x inside @number0/iroh 1.1.0, the package
// of package.json) with our relay server as its only relay, for relay_irohd.sh. Always inside
// a network namespace that has nothing but loopback.
//
//   node relay_irohd.mjs serve --relay URL
//       Serves the echo protocol (ALPN iroh-example/echo/0: every bidirectional stream is
//       echoed back, then finished) with URL as its relay map; once the home relay is up,
//       prints {"id","relay","ticket"} where ticket names the id and the relay only. After
//       each connection ends, prints {"remote","echoed","relay"} (relay: the connection only
//       ever used relay paths).
//   node relay_irohd.mjs dial --id ID --relay URL [--bytes N] [--timeout S]
//       Dials ID knowing only its relay URL (the same URL is its own relay map), echoes N
//       random bytes (default 1 MiB), checks them, prints {"ok","bytes","remote","path"}.
//   node relay_irohd.mjs ticket --id ID --relay URL
//       Prints {"ticket"}: an endpoint ticket with the id and the relay URL only.
// No DNS, no pkarr: the minimal preset, and no direct address is given to anyone.
import { createRequire } from 'node:module'
import { randomFillSync } from 'node:crypto'
import { readFileSync } from 'node:fs'

const ECHO_ALPN = 'iroh-example/echo/0'
const PIECE = 64 * 1024
const require = createRequire(import.meta.url)
const iroh = require('@number0/iroh/index.js')

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const log = (msg) => process.stderr.write(`relay_irohd.mjs: ${msg}\n`)
const toArray = (u8) => Array.from(u8)
const textArray = (s) => toArray(Buffer.from(s, 'utf8'))
const cause = (e) => String((e && e.message) || e).split(/\n\s*Stack backtrace:/)[0]
  .replace(/ \([^()]*\.rs:\d+:\d+\)/g, '').replace(/\s*\n\s*(Caused by:\s*)?/g, ': ')

function defaultRouteExists () {
  const lines = (file) => { try { return readFileSync(file, 'utf8').split('\n') } catch { return [] } }
  return lines('/proc/net/route').slice(1).some((l) => l.split('\t')[1] === '00000000')
}

function options (argv, spec) {
  const o = { ...spec }
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '')
    if (!(key in spec) || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`)
    o[key] = typeof spec[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1]
  }
  return o
}

async function bindEndpoint (relay, alpns) {
  const b = iroh.Endpoint.builder()
  iroh.presetMinimal(b)
  b.relayMode(iroh.RelayMode.customFromUrls([relay]))
  b.bindAddr('127.0.0.1:0')
  b.bindAddr('[::1]:0')
  if (alpns.length) b.alpns(alpns.map(textArray))
  return b.bind()
}

const relayOnly = (id, relay) => new iroh.EndpointAddr(iroh.EndpointId.fromString(id), relay, [])

// Whether every path the connection has is a relay path (the bindings name relay paths
// "relay:URL" or by their relay URL).
function onlyRelayPaths (conn) {
  const paths = conn.paths()
  return paths.length > 0 && paths.every((p) => !/^(\d+\.){3}\d+:\d+$|^\[[0-9a-f:.]+\]:\d+$/i.test(String(p.remoteAddr)))
}

async function echoStream (bi) {
  let total = 0
  for (;;) {
    const piece = await bi.recv.read(PIECE)
    if (piece.length === 0) break
    total += piece.length
    await bi.send.writeAll(piece)
  }
  await bi.send.finish()
  return total
}

async function serve (argv) {
  const o = options(argv, { relay: '', timeout: 20 })
  const ep = await bindEndpoint(o.relay, [ECHO_ALPN])
  await Promise.race([ep.online(), new Promise((resolve, reject) =>
    setTimeout(() => reject(new Error('the home relay did not come up')), o.timeout * 1000))])
  const id = ep.id().toString()
  out({ id, relay: ep.addr().relayUrl(), ticket: iroh.EndpointTicket.fromAddr(relayOnly(id, o.relay)).toString() })
  const stop = async () => { await ep.close().catch(() => {}); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  for (;;) {
    const incoming = await ep.acceptNext()
    if (!incoming) break
    ;(async () => {
      const conn = await (await incoming.accept()).connect()
      const result = { remote: conn.remoteId().toString(), echoed: 0, relay: true }
      const gone = conn.closed().then(() => null)
      const tasks = []
      for (;;) {
        const bi = await Promise.race([conn.acceptBi(), gone]).catch(() => null)
        if (!bi) break
        result.relay = result.relay && onlyRelayPaths(conn)
        tasks.push(echoStream(bi).then((n) => { result.echoed += n }, (e) => log(`echo: ${cause(e)}`)))
      }
      await Promise.allSettled(tasks)
      out(result)
    })().catch((e) => out({ error: cause(e) }))
  }
}

async function dial (argv) {
  const o = options(argv, { id: '', relay: '', bytes: 1 << 20, timeout: 30 })
  setTimeout(() => { out({ ok: false, error: `timeout after ${o.timeout} s` }); process.exit(1) },
    o.timeout * 1000).unref()
  const data = new Uint8Array(o.bytes)
  randomFillSync(data)
  const ep = await bindEndpoint(o.relay, [])
  const conn = await ep.connect(relayOnly(o.id, o.relay), textArray(ECHO_ALPN))
  const bi = await conn.openBi()
  const send = (async () => {
    for (let off = 0; off < data.length; off += PIECE) await bi.send.writeAll(toArray(data.subarray(off, off + PIECE)))
    await bi.send.finish()
  })()
  let got = 0
  for (;;) {
    const piece = await bi.recv.read(PIECE)
    if (piece.length === 0) break
    for (let i = 0; i < piece.length; i++)
      if (got + i >= data.length || piece[i] !== data[got + i]) throw new Error(`echo differs at offset ${got + i}`)
    got += piece.length
  }
  await send
  if (got !== data.length) throw new Error(`echo ended after ${got} of ${data.length} bytes`)
  const paths = conn.paths()
  const path = String((paths.find((p) => p.isSelected) || paths[0] || {}).remoteAddr || '')
  const remote = conn.remoteId().toString()
  const relay = onlyRelayPaths(conn)
  conn.close(0n, textArray('done'))
  await ep.close().catch(() => {})
  out({ ok: true, bytes: got, remote, path, relay })
}

async function ticket (argv) {
  const o = options(argv, { id: '', relay: '' })
  out({ ticket: iroh.EndpointTicket.fromAddr(relayOnly(o.id, o.relay)).toString() })
}

if (defaultRouteExists()) {
  log('refusing to run: this network namespace has a default route (use relay_irohd.sh)')
  process.exit(3)
}
const [mode, ...rest] = process.argv.slice(2)
const run = { serve, dial, ticket }[mode]
if (!run) {
  log('usage: node relay_irohd.mjs serve --relay URL | dial --id ID --relay URL [--bytes N] | ticket --id ID --relay URL')
  process.exit(2)
}
run(rest).catch((e) => { out({ ok: false, error: cause(e) }); process.exit(1) })
