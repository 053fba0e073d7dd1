// common.mjs — what the iroh 1.x peers (peer.mjs, relay-peer.mjs, relay_irohd.mjs; the
// @number0/iroh 1.1.0 bindings of package.json) share: loading the bindings, binding an
// endpoint (minimal preset: no DNS, no pkarr; relays disabled or a map of one URL), the
// argument parser, the ready line, echoing over a stream, deadlines, and main(), which refuses
// to run where a default route exists (iroh's port mapper would multicast there; README.md,
// "Isolation") and turns an error into one JSON line and exit code 1.
import { createRequire } from 'node:module'
import { randomFillSync } from 'node:crypto'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'

// The package's "main" names a file it does not ship; its index.js is the entry point.
const require = createRequire(import.meta.url)
export const iroh = require('@number0/iroh/index.js')

export const PIECE = 64 * 1024

export const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
// The binding takes and returns bytes as plain arrays of numbers only.
export const toArray = (u8) => {
  const a = new Array(u8.length)
  for (let i = 0; i < u8.length; i++) a[i] = u8[i]
  return a
}
export const textArray = (s) => toArray(Buffer.from(s, 'utf8'))
// The binding's errors carry Rust source locations and a backtrace: keep the causes only.
export const cause = (e) => String((e && e.message) || e).split(/\n\s*Stack backtrace:/)[0]
  .replace(/ \([^()]*\.rs:\d+:\d+\)/g, '').replace(/\s*\n\s*(Caused by:\s*)?/g, ': ')

// options(ARGV, SPEC): "--key value" pairs for the keys of SPEC, whose values are the defaults
// (a number default makes the value a number).
export function options (argv, spec) {
  const o = { ...spec }
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '')
    if (!(key in spec) || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`)
    o[key] = typeof spec[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1]
  }
  return o
}

// An endpoint bound to BINDS with ALPNS. Without RELAY relays are disabled; with it the relay
// map holds that URL only (with AUTH TOKEN when given). SECRET: 64 hex chars; LOG: iroh's
// tracing level (it writes to stdout).
export async function bindEndpoint ({ relay = '', token = '', binds = ['127.0.0.1:0', '[::1]:0'], secret = '', log = '' }, alpns) {
  if (log) iroh.setLogLevel(log)
  const b = iroh.Endpoint.builder()
  iroh.presetMinimal(b)
  if (relay) {
    const map = iroh.RelayMap.empty()
    map.insert(token ? { url: relay, authToken: token } : { url: relay })
    b.relayMode(iroh.RelayMode.custom(map))
  } else {
    b.relayMode(iroh.RelayMode.disabled())
  }
  for (const addr of binds) b.bindAddr(addr)
  if (secret) b.secretKey(toArray(Buffer.from(secret, 'hex')))
  if (alpns.length) b.alpns(alpns.map(textArray))
  return b.bind()
}

// The address of endpoint ID (hex or base32) that holds only the relay URL: no direct address.
export const relayOnlyAddr = (id, relay) => new iroh.EndpointAddr(iroh.EndpointId.fromString(id), relay, [])

// writeReady(FILE, OBJ): OBJ as one line in FILE, atomically (a reader never sees half a line).
export function writeReady (file, obj) {
  writeFileSync(file + '.tmp', JSON.stringify(obj) + '\n')
  renameSync(file + '.tmp', file)
}

// deadline(SECONDS, EXTRA): after SECONDS print {"ok":false,"error",...EXTRA()} and exit 1.
export function deadline (seconds, extra = () => ({})) {
  setTimeout(() => { out({ ok: false, error: `timeout after ${seconds} s`, ...extra() }); process.exit(1) },
    seconds * 1000).unref()
}

// Echoes a bidirectional stream of the peer back on it, then finishes; the bytes echoed.
export async function echoStream (bi) {
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

// Sends N random bytes on a new bidirectional stream of CONN while reading the echo (both at
// once: flow control would stall a large N otherwise) and checks every byte; returns N.
export async function echoOver (conn, n) {
  const data = new Uint8Array(n)
  randomFillSync(data)
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
  return got
}

function defaultRouteExists () {
  const lines = (file) => { try { return readFileSync(file, 'utf8').split('\n') } catch { return [] } }
  const v4 = lines('/proc/net/route').slice(1).some((l) => l.split('\t')[1] === '00000000')
  const v6 = lines('/proc/net/ipv6_route').some((l) => {
    const f = l.trim().split(/\s+/)
    return f.length >= 10 && /^0{32}$/.test(f[0]) && f[1] === '00' && f[9] !== 'lo'
  })
  return v4 || v6
}

// main(SCRIPT, MODES, USAGE, EXTRA): runs MODES[argv[2]] with the arguments after it; exits 0
// when it resolves, or prints {"ok":false,"error",...EXTRA()} and exits 1 when it throws.
export function main (script, modes, usage, extra = () => ({})) {
  if (defaultRouteExists()) {
    process.stderr.write(`${script}: refusing to run: this network namespace has a default route (use the test scripts)\n`)
    process.exit(3)
  }
  const [mode, ...rest] = process.argv.slice(2)
  const run = modes[mode]
  if (!run) {
    process.stderr.write(`usage: node ${script} ${usage}\n`)
    process.exit(2)
  }
  run(rest).then(() => process.exit(0), (e) => { out({ ok: false, error: cause(e), ...extra() }); process.exit(1) })
}
