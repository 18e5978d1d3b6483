// kiln's example app: a tiny Express server. `GET /` greets, `GET /healthz` answers "ok".
import express from 'express';

const app = express();
const port = Number(process.env.PORT ?? 3000);
const startedAt = new Date().toISOString();

app.get('/', (_req, res) => {
  res.json({ message: 'Hello from kiln!', node: process.version, startedAt });
});

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

const server = app.listen(port, () => {
  console.log(`listening on :${port}`);
});

// Containers get SIGTERM on `docker stop`: close the server so the process exits promptly.
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
