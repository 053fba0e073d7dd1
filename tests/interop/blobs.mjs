// blobs.mjs — a real iroh 0.35 node (the @number0/iroh 0.35.0 bindings, blobs built in) that
// downloads from irohd by blob tickets, for blobs.sh.
//
//   node blobs.mjs MODULE OUTDIR TICKET...
//
// For each TICKET (in order, numbered from 0): parses it with 0.35's BlobTicket, downloads it
// with the ticket's own download options (so 0.35 dials irohd at the ticket's direct
// addresses), then writes a raw blob to OUTDIR/<n> or exports a hash sequence as a collection
// under the directory OUTDIR/<n>/. Prints one JSON line per ticket {"n", "hash", "format",
// "ok", "error", "bytesRead"} and exits. MODULE is the path of the 0.35 package's index.js.
// Discovery is off: nothing but the ticket's addresses. Logs go to stderr.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const [, , modulePath, outDir, ...tickets] = process.argv
const { Iroh, BlobTicket } = require(modulePath)

const node = await Iroh.memory({
  ipv4Addr: '127.0.0.1:0', ipv6Addr: '[::1]:0', nodeDiscovery: 'None'
})

async function fetchOne (n, text) {
  const result = { n, hash: null, format: null, ok: false, error: null, bytesRead: 0 }
  try {
    const ticket = BlobTicket.fromString(text)
    result.hash = ticket.hash
    result.format = ticket.format
    let failure = null
    await node.blobs.download(ticket.hash, ticket.asDownloadOptions(), (err, progress) => {
      if (err) failure = String(err)
      else if (progress && progress.allDone) result.bytesRead = Number(progress.allDone.bytesRead)
    })
    if (failure) throw new Error(failure)
    if (!(await node.blobs.has(ticket.hash))) throw new Error('not complete after the download')
    const dest = `${outDir}/${n}`
    await node.blobs.export(ticket.hash, dest,
      ticket.format === 'HashSeq' ? 'Collection' : 'Blob', 'Copy')
    result.ok = true
  } catch (e) {
    result.error = String(e && e.message ? e.message : e)
  }
  return result
}

for (let n = 0; n < tickets.length; n++) {
  const deadline = new Promise(resolve => setTimeout(() => resolve(
    { n, ok: false, error: 'timed out after 120 s' }), 120000))
  console.log(JSON.stringify(await Promise.race([fetchOne(n, tickets[n]), deadline])))
}
process.exit(0)
