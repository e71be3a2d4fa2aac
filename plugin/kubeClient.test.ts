import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConnection } from './kubeClient.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubeclient-'));
const write = (name: string, text: string) => { const f = path.join(dir, name); mkdirSync(path.dirname(f), { recursive: true }); writeFileSync(f, text); return f; };

test('merges $KUBECONFIG files as client-go does, with paths relative to the file that names them', () => {
  write('certs/ca.crt', 'CA');
  write('certs/tok', 'secret-token\n');
  const first = write('first.yaml', [
    'current-context: ctx',
    'contexts: [{name: ctx, context: {cluster: c, user: u}}]',
    'users: [{name: u, user: {tokenFile: certs/tok}}]',
  ].join('\n'));
  const second = write('second.yaml', [
    'current-context: other',
    'clusters: [{name: c, cluster: {server: "https://api.example:6443", certificate-authority: certs/ca.crt}}]',
    'users: [{name: u, user: {token: not-this-one}}]',
  ].join('\n'));
  const c = loadConnection({ KUBECONFIG: [first, second].join(path.delimiter) });
  expect(c.server.href).toBe('https://api.example:6443/');
  expect(c.tls.ca?.toString()).toBe('CA');
  expect(c.authorization()).toBe('Bearer secret-token');
});

test('inline certificate data and basic auth', () => {
  const f = write('inline.yaml', [
    'current-context: x',
    'contexts: [{name: x, context: {cluster: x, user: x}}]',
    `clusters: [{name: x, cluster: {server: "https://10.0.0.1", certificate-authority-data: ${Buffer.from('CA2').toString('base64')}, insecure-skip-tls-verify: true}}]`,
    `users: [{name: x, user: {client-certificate-data: ${Buffer.from('CERT').toString('base64')}, client-key-data: ${Buffer.from('KEY').toString('base64')}, username: a, password: b}}]`,
  ].join('\n'));
  const c = loadConnection({ KUBECONFIG: f });
  expect([c.tls.ca?.toString(), c.tls.cert?.toString(), c.tls.key?.toString(), c.tls.rejectUnauthorized]).toEqual(['CA2', 'CERT', 'KEY', false]);
  expect(c.authorization()).toBe(`Basic ${Buffer.from('a:b').toString('base64')}`);
});

test('refuses exec plugins and says what to use instead', () => {
  const f = write('exec.yaml', [
    'current-context: x',
    'contexts: [{name: x, context: {cluster: x, user: x}}]',
    'clusters: [{name: x, cluster: {server: "https://10.0.0.1"}}]',
    'users: [{name: x, user: {exec: {command: oc}}}]',
  ].join('\n'));
  expect(() => loadConnection({ KUBECONFIG: f })).toThrow(/exec or auth-provider plugin, which this plugin does not run: give it a token or a client certificate/);
});

test('without a kubeconfig and outside a pod, says so', () => {
  expect(() => loadConnection({ KUBECONFIG: path.join(dir, 'missing.yaml') })).toThrow(/no such file/);
});
