// npm openid-client driving the SPEC §12 grants against the issuer binary,
// for cmd/issuer's TestNodeOpenIDClientGrants. Usage:
//
//   node grants12.mjs device   ISSUER CLIENT_ID
//   node grants12.mjs par      ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI
//   node grants12.mjs exchange ISSUER CLIENT_ID CLIENT_SECRET SUBJECT_TOKEN AUDIENCE
//
// The issuer's certificate comes through NODE_EXTRA_CA_CERTS. Each mode
// prints JSON lines on stdout: what the Go test must act on (the device
// authorization response, the PAR authorization URL), then the result.
// "par" reads the redirect the user agent got from stdin.
import * as client from 'openid-client';
import { createInterface } from 'node:readline';

const [mode, issuer, clientId, clientSecret, ...rest] = process.argv.slice(2);
const auth = clientSecret ? client.ClientSecretPost(clientSecret) : client.None();
// RFC 8414 discovery: /.well-known/oauth-authorization-server.
const config = await client.discovery(new URL(issuer), clientId, undefined, auth, { algorithm: 'oauth2' });
const out = (v) => console.log(JSON.stringify(v));

switch (mode) {
  case 'device': {
    // RFC 8628 §3.1, §3.4: openid-client polls, honouring interval and slow_down.
    const response = await client.initiateDeviceAuthorization(config, { scope: 'read' });
    out(response);
    const tokens = await client.pollDeviceAuthorizationGrant(config, response);
    out({ access_token: tokens.access_token, token_type: tokens.token_type, scope: tokens.scope, refresh_token: tokens.refresh_token ?? '' });
    break;
  }
  case 'par': {
    // RFC 9126: the request is pushed; the URL carries client_id and request_uri only.
    const [redirectUri] = rest;
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: redirectUri, scope: 'read', state,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
    });
    out({ url: url.href });
    const rl = createInterface({ input: process.stdin });
    const callback = await new Promise((resolve) => rl.once('line', resolve));
    rl.close();
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: codeVerifier, expectedState: state });
    out({ access_token: tokens.access_token, token_type: tokens.token_type, scope: tokens.scope ?? '' });
    break;
  }
  case 'exchange': {
    // RFC 8693 through the generic grant function.
    const [subjectToken, audience] = rest;
    const tokens = await client.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:token-exchange', {
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      audience,
      scope: 'read',
    });
    out({ access_token: tokens.access_token, issued_token_type: tokens.issued_token_type, token_type: tokens.token_type, refresh_token: tokens.refresh_token ?? '' });
    break;
  }
  default:
    throw new Error('unknown mode ' + mode);
}
