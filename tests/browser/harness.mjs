// Test harness for the browser tests: the real mediaspool binary with a private PostgreSQL schema,
// temp folders and a fixed free port (so a restarted server is reachable at the same origin and the
// page's IndexedDB stays the same), headless Debian chromium through playwright-core, and HTTP/SQL
// helpers. Only the PIDs spawned here are ever signalled.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; throws `what` after `timeoutMs`. */
export async function until(what, fn, timeoutMs = 30000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(everyMs);
  }
}

export function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function withSchema(url, schema) {
  const sep = url.includes('?') ? '&' : '?';
  return `${url}${sep}options=-csearch_path%3D${schema}&application_name=${schema}`;
}

export class Server {
  /** A started server with `extraArgs` (e.g. '--limits.max-frame-bytes=2000'). */
  static async create(extraArgs = []) {
    const base = process.env.MEDIASPOOL_TEST_DB_URL;
    const bin = process.env.MEDIASPOOL_BIN;
    if (!base || !bin) throw new Error('MEDIASPOOL_TEST_DB_URL and MEDIASPOOL_BIN must be set (scripts/test.sh sets both)');
    const s = new Server();
    s.bin = bin;
    s.baseUrl = base;
    s.schema = `browser_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
    s.dbUrl = withSchema(base, s.schema);
    s.extraArgs = extraArgs;
    s.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediaspool-browser-'));
    s.port = await freePort();
    execFileSync('psql', [base, '-qtAc', `CREATE SCHEMA ${s.schema}`]);
    await s.start();
    return s;
  }

  get origin() { return `http://127.0.0.1:${this.port}`; }
  get mediaRoot() { return path.join(this.dir, 'media'); }

  async start() {
    const portFile = path.join(this.dir, 'port');
    fs.rmSync(portFile, { force: true });
    const log = fs.openSync(path.join(this.dir, 'server.log'), 'a');
    const env = { ...process.env };
    delete env.MEDIASPOOL_DB_URL;
    this.proc = spawn(this.bin, [
      `--server.port=${this.port}`, `--server.port-file=${portFile}`,
      `--spool.path=${path.join(this.dir, 'spool')}`, `--media.root=${this.mediaRoot}`,
      `--db.url=${this.dbUrl}`, `--server.web-root=${path.join(repo, 'web')}`, ...this.extraArgs,
    ], { stdio: ['ignore', log, log], env });
    fs.closeSync(log);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, sig) => resolve({ code, sig })));
    await until('the server to listen', async () => {
      if (this.proc.exitCode !== null) throw new Error(`server exited: ${this.logTail()}`);
      return fs.existsSync(portFile);
    }, 60000, 100);
  }

  /** SIGKILL to the spawned PID: a crash with no chance to clean up. */
  async kill9() {
    if (this.proc && this.proc.exitCode === null) { process.kill(this.proc.pid, 'SIGKILL'); await this.exited; }
  }

  /** SIGSTOP / SIGCONT to the spawned PID: a hung server, invisible to the browser's socket. */
  pause() { process.kill(this.proc.pid, 'SIGSTOP'); }
  resume() { process.kill(this.proc.pid, 'SIGCONT'); }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    process.kill(this.proc.pid, 'SIGTERM');
    const t = setTimeout(() => { if (this.proc.exitCode === null) process.kill(this.proc.pid, 'SIGKILL'); }, 15000);
    await this.exited;
    clearTimeout(t);
  }

  async dispose() {
    if (this.proc && this.proc.exitCode === null) this.resume();
    await this.stop();
    try {
      execFileSync('psql', [this.baseUrl, '-qtAc', `SET client_min_messages = warning; DROP SCHEMA IF EXISTS ${this.schema} CASCADE`]);
    } catch (e) { /* best effort */ }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  logTail(n = 30) {
    try { return fs.readFileSync(path.join(this.dir, 'server.log'), 'utf8').split('\n').slice(-n).join('\n'); } catch (e) { return ''; }
  }

  /** One SQL query in the test schema; rows as arrays of strings. */
  sql(query) {
    const out = execFileSync('psql', [this.dbUrl, '-qtAX', '-F', '\t', '-c', query], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l.length).map((l) => l.split('\t'));
  }

  async get(p, init) { return fetch(this.origin + p, init); }
  async json(p) {
    const r = await this.get(p);
    if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
    return r.json();
  }
}

export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps',
  '--disable-domain-reliability', '--metrics-recording-only', '--no-default-browser-check',
  '--password-store=basic', '--autoplay-policy=no-user-gesture-required',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'];

/** A fresh headless chromium with a temporary profile. */
export async function launchBrowser(extraArgs = []) {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
                           args: [...chromiumArgs, ...extraArgs] });
}
