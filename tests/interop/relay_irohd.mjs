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
import { bindEndpoint, cause, deadline, echoOver, echoStream, iroh, main, options, out, relayOnlyAddr, textArray } from './common.mjs'

const ECHO_ALPN = 'iroh-example/echo/0'
const log = (msg) => process.stderr.write(`relay_irohd.mjs: ${msg}\n`)

// Whether every path the connection has is a relay path (the bindings name relay paths
// "relay:URL" or by their relay URL).
function onlyRelayPaths (conn) {
  const paths = conn.paths()
  return paths.length > 0 && paths.every((p) => !/^(\d+\.){3}\d+:\d+$|^\[[0-9a-f:.]+\]:\d+$/i.test(String(p.remoteAddr)))
}

async function serve (argv) {
  const o = options(argv, { relay: '', timeout: 20 })
  const ep = await bindEndpoint({ relay: o.relay }, [ECHO_ALPN])
  await Promise.race([ep.online(), new Promise((resolve, reject) =>
    setTimeout(() => reject(new Error('the home relay did not come up')), o.timeout * 1000))])
  const id = ep.id().toString()
  out({ id, relay: ep.addr().relayUrl(), ticket: iroh.EndpointTicket.fromAddr(relayOnlyAddr(id, o.relay)).toString() })
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
  deadline(o.timeout)
  const ep = await bindEndpoint({ relay: o.relay }, [])
  const conn = await ep.connect(relayOnlyAddr(o.id, o.relay), textArray(ECHO_ALPN))
  const got = await echoOver(conn, o.bytes)
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
  out({ ticket: iroh.EndpointTicket.fromAddr(relayOnlyAddr(o.id, o.relay)).toString() })
}

main('relay_irohd.mjs', { serve, dial, ticket }, 'serve --relay URL | dial --id ID --relay URL [--bytes N] | ticket --id ID --relay URL')
