/**
 * Failed sign-in counters (security-bar §4 "Rate limiting / lockout"): one document per login
 * identity or client network, shared by every Gatehouse process through MongoDB.
 *
 * Why not rate-limiter-flexible's RateLimiterMongo: on the bundled engine (FerretDB v1) its
 * index set-up fails ("Index option expireAfterSeconds is not implemented yet"), and because the
 * TTL index is created first, its unique index on `key` is never created either. Without that
 * index two processes recording a first failure at once insert two counters for one key (its
 * retry logic relies on E11000 from that index), and expired counters are never removed (it
 * relies on the TTL monitor; Gatehouse's expiry sweep only knows models with the expiry plugin).
 * This model keys counters by `_id` (unique on every engine) and uses the expiry plugin: reads
 * ignore expired counters, the sweep (or a TTL index on MongoDB) removes them.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { expiryPlugin } from '../../db/plugins/expiry.js';

const loginThrottleSchema = new Schema(
  {
    /** `id:…` for a login identity, `ip:…` for a client network (IPv4 address or IPv6 /64). */
    _id: { type: String, required: true },
    failures: { type: Number, default: 0 },
    windowStart: { type: Date, required: true },
    /** Set once `failures` reaches the limit: sign-in is refused until then. */
    lockedUntil: { type: Date, default: null },
    /** End of the counting window, or of the lock: the counter disappears then. */
    expiresAt: { type: Date, required: true },
  },
  { collection: 'login_throttles', versionKey: false },
);
loginThrottleSchema.plugin(expiryPlugin);

export type LoginThrottleDoc = InferSchemaType<typeof loginThrottleSchema>;
export const LoginThrottle = mongoose.model('LoginThrottle', loginThrottleSchema);
