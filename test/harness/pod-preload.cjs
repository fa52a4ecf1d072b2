/**
 * Node harness preload, loaded into every pod process with NODE_OPTIONS=--require. It is the harness's
 * stand-in for cluster networking, so the worker runs unmodified:
 *  1. DNS: dns.lookup / dns.promises.lookup resolve names from the hosts file the harness maintains
 *     (JCL_HARNESS_HOSTS_FILE, /etc/hosts format), applying the pod's search path
 *     (<ns>.svc.cluster.local, svc.cluster.local, cluster.local) like a pod's resolv.conf.
 *  2. Pod IP: every pod runs on the same machine, so servers asked to listen on all interfaces
 *     (0.0.0.0, ::, or no host) listen on the pod's own loopback address (JCL_HARNESS_POD_IP) instead;
 *     two workers can then both use port 29500.
 *  3. os.hostname() returns the pod's hostname, as in a container.
 * Plain CommonJS on purpose: it must load in any Node process, before tsx or the app's ESM loader.
 */
/* global require, process */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS preload, see above */
'use strict';
const dns = require('node:dns');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const util = require('node:util');
const { syncBuiltinESMExports } = require('node:module');

const hostsFile = process.env.JCL_HARNESS_HOSTS_FILE;
const podIP = process.env.JCL_HARNESS_POD_IP;
const namespace = process.env.JCL_HARNESS_NAMESPACE || 'default';
const podHostname = process.env.JCL_HARNESS_HOSTNAME;
const searchDomains = [`${namespace}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'];

let cache = { mtimeMs: -1, size: -1, table: new Map() };

function readHosts() {
  if (!hostsFile) return cache.table;
  let stat;
  try {
    stat = fs.statSync(hostsFile);
  } catch {
    return cache.table;
  }
  if (stat.mtimeMs === cache.mtimeMs && stat.size === cache.size) return cache.table;
  const table = new Map();
  for (const line of fs.readFileSync(hostsFile, 'utf8').split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    if (fields.length < 2) continue;
    for (const name of fields.slice(1)) {
      const key = name.toLowerCase().replace(/\.$/, '');
      if (!table.has(key)) table.set(key, []);
      table.get(key).push(fields[0]);
    }
  }
  cache = { mtimeMs: stat.mtimeMs, size: stat.size, table };
  return table;
}

function resolveFromHosts(hostname) {
  if (typeof hostname !== 'string' || hostname.length === 0) return undefined;
  const name = hostname.toLowerCase().replace(/\.$/, '');
  const table = readHosts();
  if (podHostname && name === podHostname.toLowerCase() && podIP) return [podIP];
  const candidates = name.endsWith('.cluster.local')
    ? [name]
    : [name, ...searchDomains.map((d) => `${name}.${d}`)];
  for (const candidate of candidates) {
    const hit = table.get(candidate);
    if (hit && hit.length > 0) return hit;
  }
  return undefined;
}

function normalizeOptions(options) {
  if (typeof options === 'number') return { family: options };
  return options || {};
}

function answer(addresses, options) {
  const family = options.family === 'IPv6' ? 6 : options.family === 'IPv4' ? 4 : options.family || 0;
  const v4 = addresses.filter((a) => net.isIPv4(a));
  const list = family === 6 ? [] : v4;
  if (list.length === 0) return undefined;
  return options.all ? list.map((address) => ({ address, family: 4 })) : { address: list[0], family: 4 };
}

const originalLookup = dns.lookup;
const originalPromisesLookup = dns.promises.lookup;

function lookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  const opts = normalizeOptions(options);
  const hit = resolveFromHosts(hostname);
  const result = hit && answer(hit, opts);
  if (!result) return originalLookup.call(dns, hostname, options, callback);
  process.nextTick(() => (opts.all ? callback(null, result) : callback(null, result.address, result.family)));
  return undefined;
}
lookup[util.promisify.custom] = (hostname, options) => promisesLookup(hostname, options);

async function promisesLookup(hostname, options) {
  const opts = normalizeOptions(options);
  const hit = resolveFromHosts(hostname);
  const result = hit && answer(hit, opts);
  if (!result) return originalPromisesLookup.call(dns.promises, hostname, options);
  return result;
}

dns.lookup = lookup;
dns.promises.lookup = promisesLookup;

if (podIP) {
  const originalListen = net.Server.prototype.listen;
  const anyHost = (host) =>
    host === undefined || host === null || host === '' || host === '0.0.0.0' || host === '::';
  net.Server.prototype.listen = function patchedListen(...args) {
    const first = args[0];
    if (
      first !== null &&
      typeof first === 'object' &&
      !Array.isArray(first) &&
      first.path === undefined &&
      first.port !== undefined
    ) {
      if (anyHost(first.host)) args[0] = { ...first, host: podIP, ipv6Only: false };
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      if (typeof args[1] !== 'string' || anyHost(args[1])) {
        if (typeof args[1] === 'string') args[1] = podIP;
        else args.splice(1, 0, podIP);
      }
    }
    return originalListen.apply(this, args);
  };
}

if (podHostname) os.hostname = () => podHostname;

syncBuiltinESMExports();
