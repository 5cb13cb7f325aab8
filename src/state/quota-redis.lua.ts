// The lease script of RedisQuota (quota-redis.ts). One key per counter and window; it holds the number of
// permits leased out so far, across every replica.
//
//   KEYS[1]  mg:q:<counter id>:<window id>
//   ARGV[1]  want: the block size asked for (integer >= 1)
//   ARGV[2]  limit: the counter's limit for the window
//   ARGV[3]  expire-at (ms since the epoch): the window's end plus a grace period
//
// Grants min(want, limit - used) (never negative) and adds it to `used`, atomically: Redis runs a script
// to completion before any other command, so the sum of all grants for a key never exceeds `limit`
// (the guarantee "a limit of N admits at most N across all replicas" rests on this alone).
// A grant of 0 writes nothing (a key is never created just to say "exhausted").
// Returns { grant, used-after-grant }: the caller learns how much is left, and a `used` lower than what it
// saw before means the key was deleted meanwhile (an admin reset), even if the pub/sub notice was missed.

import { createHash } from 'node:crypto';

export const LEASE_LUA = `
local want = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = limit - used
if grant > want then grant = want end
if grant < 1 then return {0, used} end
used = redis.call('INCRBY', KEYS[1], grant)
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return {grant, used}
`;

/** SHA1 of the script, as SCRIPT LOAD returns it and EVALSHA expects it. */
export const LEASE_SHA = createHash('sha1').update(LEASE_LUA).digest('hex');

// The spend script: adds one replica's batch of spend to a counter's window exactly once.
//
//   KEYS[1]  mg:q:<counter id>:<window id>       the shared spend (a float)
//   KEYS[2]  mg:q:<counter id>:<window id>:ops   per store, the last batch it applied (a hash)
//   ARGV[1]  amount   ARGV[2] expire-at (ms)   ARGV[3] the store's id   ARGV[4] the batch's sequence number
//
// A batch whose reply timed out may still have been applied (Redis stalled, then ran everything queued
// on the connection). It is sent again as it was, with its number, and applied only if that number is
// above the last one this store applied to the key; new spend waits for it (one batch at a time per
// key), so numbers reach each key in order. Merging the timed-out amount into the next batch counted a
// stall of a few seconds several times over (a 3 s stall: $3.92 charged, $9.27 in Redis).
// Returns the shared total after it.
export const SPEND_LUA = `
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '-1')
local v
if tonumber(ARGV[4]) > last then
  v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
  -- Never below zero: give-backs of reservations made before a reset would leave headroom past the limit.
  if tonumber(v) < 0 then
    v = '0'
    redis.call('SET', KEYS[1], v)
  end
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
else
  v = redis.call('GET', KEYS[1]) or '0'
end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
return v
`;

// The give-back script: a small limit's permits a request fetched and never spent (its client left, or
// another limit refused it) go back to the window, so another thread or replica can admit with them.
//
//   KEYS[1]  mg:q:<counter id>:<window id>      ARGV[1]  how many to give back
//
// Never below zero, and nothing is written to a key that has gone (a reset or an expired window): the
// permits belonged to the count that was deleted. Returns how many were given back.
export const GIVE_BACK_LUA = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if n > used then n = used end
if n < 1 then return 0 end
redis.call('DECRBY', KEYS[1], n)
return n
`;
