export {
  createEncryptionCodec,
  isEncrypted,
  CodecKeyError,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  type EncryptionCodecOptions,
} from './encryption';
export { codecFromEnv, dataConverterFromEnv, type CodecEnv } from './env';
export {
  startCodecServer,
  fromJSON,
  toJSON,
  DEFAULT_CODEC_PORT,
  DEFAULT_CORS_ORIGINS,
  type CodecServer,
  type CodecServerOptions,
  type JSONPayload,
} from './server';
