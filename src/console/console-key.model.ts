/**
 * Keys the console needs in every process alike (the CSRF token HMAC key). Generated once by
 * whichever process starts first (an upsert on `_id`: no check-then-insert), stored sealed with
 * the master key (db/encryption.ts), so a copy of the database alone does not reveal them and
 * every process behind the load balancer validates the tokens the others issued.
 */
import mongoose, { Schema } from 'mongoose';

const consoleKeySchema = new Schema(
  { _id: { type: String, required: true }, sealed: { type: String, required: true } },
  { collection: 'console_keys', versionKey: false, timestamps: true },
);

export const ConsoleKey = mongoose.model('ConsoleKey', consoleKeySchema);
