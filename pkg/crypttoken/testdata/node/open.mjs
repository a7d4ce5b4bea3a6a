// open.mjs opens access tokens sealed by pkg/crypttoken with npm jose, the
// way a Node.js resource server would (SPEC §3), for TestNodeJoseOpensOurs.
//
//   node open.mjs JWKS.json CASES.json
//
// JWKS.json is the audience's JWK Set (RFC 7517 §5) as keys.ExportJWKS
// writes it. CASES.json is {"cases":[{"name","token","issuer","audience",
// "typ","now"}]}, now in Unix seconds. For each case the key is picked by the
// kid of the token's protected header (RFC 7516 §4.1.6), the token is
// decrypted with only that key's algorithm and A256GCM allowed, and the
// claims are validated: iss, aud, typ, exp/nbf at `now` with no leeway, and
// the RFC 9068 §2.2 required claims present. It prints one JSON array, one
// element per case in order: {"name","header","claims"} when the token
// opened, {"name","error":{"code","claim","message"}} when it was refused.
// A refused token is a result, not a failure: the exit status is non-zero
// only when the script itself cannot run. Key material is never printed.
import { readFileSync } from "node:fs";
import * as jose from "jose";

const [jwksPath, casesPath] = process.argv.slice(2);
if (!jwksPath || !casesPath) {
  process.stderr.write("usage: node open.mjs JWKS.json CASES.json\n");
  process.exit(2);
}
const jwks = JSON.parse(readFileSync(jwksPath, "utf8"));
const { cases } = JSON.parse(readFileSync(casesPath, "utf8"));

// Keys by kid: a map lookup, never a try-every-key loop.
const byKid = new Map();
for (const jwk of jwks.keys) {
  if (jwk.kty !== "oct" || jwk.use !== "enc" || typeof jwk.kid !== "string") {
    throw new Error(`unexpected JWK (kty ${jwk.kty}, use ${jwk.use})`);
  }
  byKid.set(jwk.kid, { alg: jwk.alg, key: await jose.importJWK(jwk, jwk.alg) });
}

// RFC 9068 §2.2: the claims every JWT access token carries.
const requiredClaims = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"];

const out = [];
for (const c of cases) {
  try {
    const header = jose.decodeProtectedHeader(c.token);
    const k = byKid.get(header.kid);
    if (k === undefined) {
      throw Object.assign(new Error("no key for the token's kid"), { code: "ERR_UNKNOWN_KID" });
    }
    const { payload, protectedHeader } = await jose.jwtDecrypt(c.token, k.key, {
      keyManagementAlgorithms: [k.alg],
      contentEncryptionAlgorithms: ["A256GCM"],
      issuer: c.issuer,
      audience: c.audience,
      typ: c.typ,
      currentDate: new Date(c.now * 1000),
      clockTolerance: 0,
      requiredClaims,
    });
    out.push({ name: c.name, header: protectedHeader, claims: payload });
  } catch (err) {
    out.push({
      name: c.name,
      error: { code: err.code ?? err.name, claim: err.claim ?? "", message: String(err.message) },
    });
  }
}
process.stdout.write(JSON.stringify(out) + "\n");
