// OCI distribution client: references, auth, pull and push over HTTP(S).
export {
  type Reference,
  DEFAULT_DOMAIN,
  DEFAULT_TAG,
  parseReference,
  parseNormalizedReference,
  withDefaultTag,
  formatReference,
  familiarName,
  familiarString,
  repositoryName,
  referenceObject,
  isValidTag,
} from './reference.js';
export { selectManifest } from './platform.js';
export { type Challenge, parseWwwAuthenticate, mergeScopes, repositoryScope } from './auth/challenge.js';
export {
  type Credentials,
  type CredentialSource,
  type DockerConfigOptions,
  DOCKER_HUB_AUTH_KEY,
  dockerConfigPath,
  authKey,
  loadCredentials,
  dockerConfigCredentials,
  saveCredentials,
  eraseCredentials,
} from './auth/docker-config.js';
export { Transport, type TransportOptions, type HttpResponse, DEFAULT_CERTS_DIR, isLoopbackHost, isTlsError, header } from './transport.js';
export { RegistryClient, type RegistryClientOptions, type RetryOptions, type FetchedManifest, MANIFEST_ACCEPT } from './client.js';
export { downloadBlob, uploadBlob, type UploadOptions, type UploadOutcome, type DownloadOptions } from './blobs.js';
export { pull, type BlobSink, type BlobProgress, type PullOptions, type PullResult } from './pull.js';
export { push, type BlobSource, type PushOptions, type PushProgress, type PushResult } from './push.js';
export { login, logout, verifyCredentials, type LoginOptions } from './login.js';
