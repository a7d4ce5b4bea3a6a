// Drives the issuer with npm openid-client (SPEC §10): client
// authentication with private_key_jwt, and DPoP-bound access tokens used at
// a resource server. Run by cmd/issuer's interop tests:
//
//   node sender_constrained.mjs <metadata URL> <mode> <client_id> <secret or private JWK file> [resource URL]
//
// mode private_key_jwt: a client_credentials grant authenticated with a
//   client assertion signed by the private JWK (RFC 7523 §2.2);
// mode dpop: a client_credentials grant with client_secret_basic and a
//   DPoP proof (RFC 9449 §5; openid-client retries once on use_dpop_nonce),
//   then the resource URL fetched with the token and a DPoP proof (§7.1),
//   and again as a bearer token.
// It prints one JSON object: what the test checks.
import * as oc from 'openid-client';
import * as jose from 'jose';
import { readFileSync } from 'node:fs';

const [metadataURL, mode, clientId, credential, resourceURL] = process.argv.slice(2);
const server = new URL(metadataURL);
const out = {};

if (mode === 'private_key_jwt') {
  const jwk = JSON.parse(readFileSync(credential, 'utf8'));
  const key = await jose.importJWK(jwk, 'ES256');
  const config = await oc.discovery(server, clientId, {}, oc.PrivateKeyJwt({ key, kid: jwk.kid }));
  out.methods = config.serverMetadata().token_endpoint_auth_methods_supported;
  const tokens = await oc.clientCredentialsGrant(config, { scope: 'read' });
  out.token_type = tokens.token_type;
  out.access_token = tokens.access_token;
} else if (mode === 'dpop') {
  const config = await oc.discovery(server, clientId, credential);
  const keyPair = await oc.randomDPoPKeyPair('ES256');
  const dpop = oc.getDPoPHandle(config, keyPair);
  const tokens = await oc.clientCredentialsGrant(config, { scope: 'read' }, { DPoP: dpop });
  out.token_type = tokens.token_type;
  out.access_token = tokens.access_token;
  out.jkt = await jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey));
  out.dpop_algs = config.serverMetadata().dpop_signing_alg_values_supported;
  if (resourceURL) {
    const withProof = await oc.fetchProtectedResource(config, tokens.access_token, new URL(resourceURL), 'GET', undefined, undefined, { DPoP: dpop });
    out.resource_with_proof = withProof.status;
    out.resource_body = await withProof.text();
    // Without the DPoP option openid-client sends the token as Bearer; the
    // resource server's 401 challenge comes back as an error.
    try {
      const asBearer = await oc.fetchProtectedResource(config, tokens.access_token, new URL(resourceURL), 'GET');
      out.resource_as_bearer = asBearer.status;
    } catch (err) {
      out.resource_as_bearer = err.status ?? err.response?.status ?? 0;
      out.resource_as_bearer_challenge = JSON.stringify(err.cause ?? err.message);
    }
  }
} else {
  throw new Error('unknown mode ' + mode);
}
console.log(JSON.stringify(out));
