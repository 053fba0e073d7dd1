#!/usr/bin/env node
// peer.mjs — the real iroh endpoint (iroh 1.0.x inside @number0/iroh 1.1.0) as the other side
// of irohd's interop tests. Run by run.sh, always inside a network namespace that has nothing
// but loopback (see README.md: iroh's port mapper multicasts whenever a default route exists).
//
//   node peer.mjs serve [--conns N] [--ready FILE]
//       Serves the echo protocol (ALPN iroh-example/echo/0: every bidirectional stream is
//       echoed back, then finished) and the codes protocol (ALPN irohd-test/codes/0, below);
//       on both, every unidirectional stream is read whole and sent back on a new one, and
//       every datagram is sent back. When bound, writes {"id","ticket","addrs","bound"} as one
//       line to FILE (or stdout). After each connection ends, prints one line
//       {"remote","alpn","echoed","streams","uni","datagrams","codes","closed"}; exits 0 after N
//       connections (default: never).
//       Codes protocol, per bidirectional stream, one line from the peer: "reset N" resets the
//       stream's sending direction with N; "stop N" stops the peer's with N (and finishes);
//       "wait-reset" answers "ok" and waits for the peer to reset its direction (answers
//       "reset N" on the stream); "wait-stop" answers "ok" and waits for the peer to stop ours
//       (writes "stopped N" on a new unidirectional stream). What happened is listed in
//       "codes". (One wait per command: the bindings lock a stream half while a call on it is
//       pending, so a pending stopped() would block the answer to a reset.)
//   node peer.mjs dgram --ticket T [--count N] [--window W] [--alpn A] [--timeout S]
//       Connects, sends N datagrams (numbered, random bytes, 4..1100 bytes) with at most W
//       (16) unanswered at a time (after 2 s without an echo the unanswered ones count as lost),
//       reads echoes until 2 s pass without one or all came back, checks each echo's bytes,
//       prints {"ok","sent","echoed","max","remote"}.
//   node peer.mjs dial --ticket T [--bytes N] [--timeout S] [--alpn A]
//       Connects to T, echoes N random bytes (default 1 MiB) over one bidirectional stream,
//       checks every byte, closes with code 0 and prints {"ok":true,"bytes","ms","remote",
//       "path"} — or {"ok":false,"error","ms"} and exits 1.
//   node peer.mjs impostor --ticket T
//       Prints a ticket with T's addresses and a fresh random id (to dial the wrong id).
// Endpoints use the minimal preset with relays disabled: no DNS, no pkarr, no relay traffic.
import { randomFillSync } from 'node:crypto'
import { bindEndpoint, cause, deadline, echoOver, echoStream, iroh, main, options, out, PIECE, textArray, toArray, writeReady } from './common.mjs'

const ECHO_ALPN = 'iroh-example/echo/0'
const CODES_ALPN = 'irohd-test/codes/0'
// dgram's largest datagram: one that a 1200-byte packet carries, so the other side can send it
// back before either has raised its path MTU (a peer drops what is over its current limit).
const SMALL_DATAGRAM = 1100

const log = (msg) => process.stderr.write(`peer.mjs: ${msg}\n`)

async function readLine(recv) {
  const bytes = []
  for (;;) {
    const piece = await recv.read(1)
    if (piece.length === 0 || piece[0] === 10) return Buffer.from(bytes).toString()
    bytes.push(piece[0])
  }
}

// One bidirectional stream of the codes protocol (see the header).
async function codesStream(conn, bi, codes) {
  const line = await readLine(bi.recv)
  let m
  if ((m = /^reset (\d+)$/.exec(line))) {
    await bi.send.reset(BigInt(m[1]))
    codes.push(line)
  } else if ((m = /^stop (\d+)$/.exec(line))) {
    await bi.recv.stop(BigInt(m[1]))
    await bi.send.finish()
    codes.push(line)
  } else if (line === 'wait-reset') {
    await bi.send.writeAll(textArray('ok\n'))
    const code = await bi.recv.receivedReset()
    codes.push(`saw reset ${code}`)
    await bi.send.writeAll(textArray(`reset ${code}\n`))
    await bi.send.finish()
  } else if (line === 'wait-stop') {
    await bi.send.writeAll(textArray('ok\n'))
    const code = await bi.send.stopped()
    codes.push(`saw stopped ${code}`)
    const uni = await conn.openUni()
    await uni.writeAll(textArray(`stopped ${code}\n`))
    await uni.finish()
  } else {
    codes.push(`unknown command ${JSON.stringify(line)}`)
  }
}

// A unidirectional stream of the peer, read whole and sent back on a new one.
async function uniBack(conn, recv) {
  const data = await recv.readToEnd(64 << 20)
  const send = await conn.openUni()
  for (let off = 0; off < data.length; off += PIECE) await send.writeAll(data.slice(off, off + PIECE))
  await send.finish()
  return data.length
}

async function serveConnection(incoming) {
  const conn = await (await incoming.accept()).connect()
  const remote = conn.remoteId().toString()
  const alpn = Buffer.from(conn.alpn()).toString()
  const result = { remote, alpn, echoed: 0, streams: 0, uni: 0, datagrams: 0, codes: [], closed: null }
  const tasks = []
  const closed = conn.closed()
  const gone = closed.then(() => null)
  tasks.push((async () => { // datagrams come back unchanged
    for (;;) {
      const d = await Promise.race([conn.readDatagram(), gone]).catch(() => null)
      if (!d) break
      result.datagrams++
      try { conn.sendDatagram(d) } catch (e) { log(`datagram back: ${cause(e)}`) }
    }
  })())
  tasks.push((async () => {
    for (;;) {
      const recv = await Promise.race([conn.acceptUni(), gone]).catch(() => null)
      if (!recv) break
      tasks.push(uniBack(conn, recv).then((n) => { result.uni += n }, (e) => log(`uni: ${cause(e)}`)))
    }
  })())
  for (;;) {
    const bi = await Promise.race([conn.acceptBi(), gone]).catch(() => null)
    if (!bi) break
    result.streams++
    if (alpn === CODES_ALPN)
      tasks.push(codesStream(conn, bi, result.codes).catch((e) => result.codes.push(`error ${cause(e)}`)))
    else
      tasks.push(echoStream(bi).then((n) => { result.echoed += n }, (e) => log(`echo: ${e.message}`)))
  }
  result.closed = await closed
  await Promise.allSettled(tasks)
  return result
}

async function serve(argv) {
  const o = options(argv, { conns: 0, ready: '' })
  const ep = await bindEndpoint({}, [ECHO_ALPN, CODES_ALPN])
  const addr = ep.addr()
  const ready = {
    id: ep.id().toString(),
    ticket: iroh.EndpointTicket.fromAddr(addr).toString(),
    addrs: addr.directAddresses(),
    bound: ep.boundSockets(),
  }
  if (o.ready) writeReady(o.ready, ready)
  else out(ready)
  const stop = async () => { await ep.close().catch(() => {}); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  let finished = 0
  for (;;) {
    const incoming = await ep.acceptNext()
    if (!incoming) break
    serveConnection(incoming).then(out, (e) => out({ error: cause(e) })).finally(() => {
      if (o.conns && ++finished >= o.conns) stop()
    })
  }
}

const started = process.hrtime.bigint()
const elapsedMs = () => Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10

async function dial(argv) {
  const o = options(argv, { ticket: '', bytes: 1 << 20, timeout: 30, alpn: ECHO_ALPN })
  deadline(o.timeout, () => ({ ms: elapsedMs() }))
  const ep = await bindEndpoint({}, [])
  const conn = await ep.connect(iroh.EndpointTicket.fromString(o.ticket).endpointAddr(), textArray(o.alpn))
  const got = await echoOver(conn, o.bytes)
  const ms = elapsedMs()
  const paths = conn.paths()
  const path = (paths.find((p) => p.isSelected) || paths[0] || {}).remoteAddr || null
  const remote = conn.remoteId().toString()
  conn.close(0n, textArray('done'))
  await ep.close().catch(() => {})
  out({ ok: true, bytes: got, ms, remote, path })
}

async function dgram(argv) {
  const o = options(argv, { ticket: '', count: 200, window: 16, timeout: 30, alpn: ECHO_ALPN })
  deadline(o.timeout, () => ({ ms: elapsedMs() }))
  const ep = await bindEndpoint({}, [])
  const conn = await ep.connect(iroh.EndpointTicket.fromString(o.ticket).endpointAddr(), textArray(o.alpn))
  const max = conn.maxDatagramSize()
  if (!max) throw new Error('the peer takes no datagrams')
  const sent = []
  let echoed = 0
  let bad = null
  let wake = null
  const reader = (async () => { // one pending read at a time: a raced read would eat an echo
    for (;;) {
      const d = await conn.readDatagram().catch(() => null) // null: the connection closed
      if (!d) return
      const want = sent[Buffer.from(d.slice(0, 4)).readUInt32LE(0)]
      if (!want || want.length !== d.length || want.some((b, k) => b !== d[k]))
        bad ??= new Error(`an echo of ${d.length} bytes is no datagram we sent`)
      echoed++
      if (wake) wake()
    }
  })()
  // true when an echo came within ms
  const nextEcho = (ms) => new Promise((resolve) => {
    const before = echoed
    const timer = setTimeout(() => { wake = null; resolve(false) }, ms)
    wake = () => { clearTimeout(timer); wake = null; resolve(echoed > before) }
  })
  let givenUp = 0 // unanswered ones no longer waited for (datagrams may be lost)
  for (let i = 0; i < o.count; i++) {
    // at most `window` unanswered: an app slowed down (a sanitizer build) still keeps up
    while (i - echoed - givenUp >= o.window)
      if (!(await nextEcho(2000))) givenUp = i - echoed
    const data = new Uint8Array(4 + ((i * 7919) % (Math.min(max, SMALL_DATAGRAM) - 3)))
    randomFillSync(data)
    new DataView(data.buffer).setUint32(0, i, true)
    sent.push(data)
    await conn.sendDatagramWait(toArray(data))
  }
  while (echoed < o.count && (await nextEcho(2000)));
  if (bad) throw bad
  const remote = conn.remoteId().toString()
  conn.close(0n, textArray('done'))
  await ep.close().catch(() => {})
  out({ ok: true, sent: o.count, echoed, max, remote })
}

async function impostor(argv) {
  const o = options(argv, { ticket: '' })
  const real = iroh.EndpointTicket.fromString(o.ticket).endpointAddr()
  const other = new iroh.EndpointAddr(iroh.SecretKey.generate().public(), null, real.directAddresses())
  out({ ticket: iroh.EndpointTicket.fromAddr(other).toString() })
}

main('peer.mjs', { serve, dial, dgram, impostor },
  'serve [--conns N] [--ready FILE] | dial --ticket T [--bytes N] [--timeout S] [--alpn A] | dgram --ticket T [--count N] [--window W] [--alpn A] [--timeout S] | impostor --ticket T',
  () => ({ ms: elapsedMs() }))
