// Package e2e holds the end-to-end tests of SPEC §9, resource servers that
// get keys and revocations over the network: the issuer's endpoints and
// pkg/crypttoken/remote against each other in one process, and real
// processes — two issuer replicas on one Redis, the example resource
// server of the README — across key rotations, revocations and an issuer
// outage. It has no code besides its tests.
package e2e
