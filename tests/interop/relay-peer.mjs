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
import { bindEndpoint, cause, deadline, echoOver, echoStream, main, options, out, relayOnlyAddr, textArray, writeReady } from './common.mjs'

const ALPN = 'irohd-test/relay-echo/0'

// An endpoint whose only relay is o.relay (with o.token), bound to o.bind only.
const bindWithRelay = (o, alpns) => bindEndpoint({ ...o, binds: [o.bind] }, alpns)

const pathsOf = (conn) => conn.paths().map((p) => ({ relay: p.isRelay, selected: p.isSelected, addr: p.remoteAddr }))

async function serveConnection(incoming) {
  const conn = await (await incoming.accept()).connect()
  const result = { remote: conn.remoteId().toString(), echoed: 0 }
  const gone = conn.closed().then(() => null)
  for (;;) {
    const bi = await Promise.race([conn.acceptBi(), gone]).catch(() => null)
    if (!bi) break
    result.echoed += await echoStream(bi)
    const paths = pathsOf(conn)
    result.relay_paths = paths.filter((p) => p.relay).length
    result.ip_paths = paths.filter((p) => !p.relay).length
  }
  await gone
  return result
}

async function serve(argv) {
  const o = options(argv, { relay: '', token: '', bind: '127.0.0.1:0', ready: '', timeout: 30 })
  const ep = await bindWithRelay(o, [ALPN])
  const online = await Promise.race([ep.online().then(() => true),
    new Promise((r) => setTimeout(() => r(false), o.timeout * 1000))])
  if (!online) throw new Error('not online at the relay')
  writeReady(o.ready, { id: ep.id().toString(), relay: ep.addr().relayUrl(), bound: ep.boundSockets() })
  const stop = async () => { await ep.close().catch(() => {}); process.exit(0) }
  process.on('SIGTERM', stop)
  for (;;) {
    const incoming = await ep.acceptNext()
    if (!incoming) break
    serveConnection(incoming).then(out, (e) => out({ error: cause(e) }))
  }
}

async function dial(argv) {
  const o = options(argv, { relay: '', token: '', bind: '127.0.0.1:0', id: '', bytes: 256 << 10, timeout: 60 })
  deadline(o.timeout)
  const ep = await bindWithRelay(o, [])
  const conn = await ep.connect(relayOnlyAddr(o.id, o.relay), textArray(ALPN))
  const got = await echoOver(conn, o.bytes)
  const paths = pathsOf(conn)
  const remote = conn.remoteId().toString()
  conn.close(0n, textArray('done'))
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

main('relay-peer.mjs', { serve, dial, online }, 'serve|dial|online --relay URL [...] (see the header)')
