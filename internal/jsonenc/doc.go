// Package jsonenc holds the append-style JSON string encoder shared by the
// token codec (pkg/crypttoken) and the endpoints' hand-built responses
// (pkg/endpoint), and the word-at-a-time byte classifier that the JSON
// scanner (internal/jsonscan) uses.
package jsonenc
