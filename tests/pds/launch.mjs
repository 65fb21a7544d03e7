// Start a local Bluesky PDS and PLC directory for Sentinel's tests (127.0.0.1 only).
// Usage: node launch.mjs <pds-port> <plc-port>
// Prints one JSON line {"ready": true, "pds": url, "plc": url} when serving; stops on
// SIGTERM/SIGINT or when its standard input closes (so it never outlives the test run).
import http from 'node:http'
import { TestNetworkNoAppView } from '@atproto/dev-env'

// Bind every server the network starts to the loopback interface only.
const listen = http.Server.prototype.listen
http.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && (args.length === 1 || typeof args[1] === 'function')) {
    args.splice(1, 0, '127.0.0.1')
  }
  return listen.apply(this, args)
}

const pdsPort = Number(process.argv[2] || 2583)
const plcPort = Number(process.argv[3] || 2582)

const network = await TestNetworkNoAppView.create({
  pds: { port: pdsPort, hostname: 'localhost' },
  plc: { port: plcPort },
})

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  try {
    await network.close()
  } finally {
    process.exit(0)
  }
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.on('close', stop)
process.stdin.resume()

process.stdout.write(JSON.stringify({ ready: true, pds: network.pds.url, plc: network.plc.url }) + '\n')
