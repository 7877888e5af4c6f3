// A Node.js app that counts its visits in Redis (Docker's Compose
// getting-started app, in Node): GET / increments `visits` and answers
// with the count. Plain `http` and `net` (Redis' protocol is a line of
// text), so the image builds without fetching packages.
const http = require('http');
const net = require('net');

const port = process.env.PORT || 3000;
const redisHost = process.env.REDIS_HOST || 'db';

// INCR key over RESP: `*2 $4 INCR $n key`, answered `:N`.
function incr(key) {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(6379, redisHost);
    let reply = '';
    s.setTimeout(2000, () => s.destroy(new Error('timed out')));
    s.on('connect', () => s.write(`*2\r\n$4\r\nINCR\r\n$${key.length}\r\n${key}\r\n`));
    s.on('data', (d) => {
      reply += d;
      if (!reply.endsWith('\r\n')) return;
      s.end();
      if (reply.startsWith(':')) resolve(parseInt(reply.slice(1), 10));
      else reject(new Error(reply.trim()));
    });
    s.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  try {
    const visits = await incr('visits');
    res.end(`Hello from Node.js app! Visits: ${visits}\n`);
  } catch (e) {
    res.statusCode = 500;
    res.end(`Cannot reach Redis at ${redisHost}: ${e.message}\n`);
  }
});

server.listen(port, () => console.log(`App running on port ${port}`));
// As PID 1 nothing stops us but ourselves: leave at once on `stop`.
process.on('SIGTERM', () => process.exit(0));
