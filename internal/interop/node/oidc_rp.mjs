// An OpenID Connect relying party on npm openid-client, driven by
// cmd/issuer's interop test (SPEC §11): discovery, the authorization code
// flow with PKCE, state and nonce, ID token validation, UserInfo, and a
// refresh that must return a fresh ID token (Core §12.2).
//
// Environment: ISSUER, CLIENT_ID, REDIRECT_URI, SCOPE; the issuer's
// certificate in NODE_EXTRA_CA_CERTS. Protocol on stdio, one JSON object
// per line: it prints {"authorize": URL}; the test signs the user in and
// writes the callback URL the issuer redirected to; it prints
// {"id_token": claims, "userinfo": {...}, "refreshed": claims}.
import * as client from 'openid-client';
import { createInterface } from 'node:readline';

const { ISSUER, CLIENT_ID, REDIRECT_URI, SCOPE } = process.env;
const config = await client.discovery(new URL(ISSUER), CLIENT_ID, undefined, client.None());
const verifier = client.randomPKCECodeVerifier();
const nonce = client.randomNonce();
const state = client.randomState();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: REDIRECT_URI,
  scope: SCOPE,
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
  nonce,
  state,
});
console.log(JSON.stringify({ authorize: url.href }));

const rl = createInterface({ input: process.stdin });
const callback = await new Promise((resolve) => rl.once('line', resolve));
rl.close();
const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: verifier,
  expectedNonce: nonce,
  expectedState: state,
  idTokenExpected: true,
});
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
const again = refreshed.claims();
if (!again || again.sub !== claims.sub || again.auth_time !== claims.auth_time || again.nonce !== undefined) {
  throw new Error('Core §12.2: the refreshed ID token must keep sub and auth_time and carry no nonce: ' + JSON.stringify(again));
}
console.log(JSON.stringify({ id_token: claims, userinfo, refreshed: again }));
