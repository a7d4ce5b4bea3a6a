package config

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// checkHash checks the syntax of a secret or password hash (SPEC §6). It is
// a syntactic check only; pkg/secret parses and verifies. Its errors
// describe the expected form and never quote the value.
//
// Accepted forms:
//
//	sha256$<64 lowercase hex digits>                    fast hash of a generated secret
//	$2a$NN$<53 chars>, $2b$..., $2y$...                 bcrypt, cost NN in 04..31
//	$argon2id$v=19$m=M,t=T,p=P$<salt>$<hash>            argon2id, PHC string format,
//	                                                    unpadded standard base64
func checkHash(h string) error {
	switch {
	case strings.HasPrefix(h, "sha256$"):
		return checkSHA256(h[len("sha256$"):])
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		return checkBcrypt(h)
	case strings.HasPrefix(h, "$argon2id$"):
		return checkArgon2id(h[len("$argon2id$"):])
	case strings.HasPrefix(h, "$argon2i$"), strings.HasPrefix(h, "$argon2d$"):
		return errors.New("argon2i and argon2d hashes are not accepted; use argon2id")
	case strings.HasPrefix(h, "$2$"), strings.HasPrefix(h, "$2x$"):
		return errors.New("bcrypt variants $2$ and $2x$ are not accepted; use $2a$, $2b$ or $2y$")
	}
	return errors.New("not a recognised hash format (want sha256$<64 lowercase hex>, bcrypt $2a$/$2b$/$2y$, or argon2id $argon2id$v=19$m=...,t=...,p=...$salt$hash)")
}

func checkSHA256(hex string) error {
	if len(hex) != 64 {
		return errors.New("sha256 hash: want 64 lowercase hex digits after \"sha256$\"")
	}
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return errors.New("sha256 hash: want 64 lowercase hex digits after \"sha256$\"")
		}
	}
	return nil
}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func checkBcrypt(h string) error {
	// $2a$ + 2-digit cost + $ + 22 salt chars + 31 hash chars = 60 bytes.
	if len(h) != 60 || h[6] != '$' {
		return errors.New("bcrypt hash: want 60 characters, $2a$NN$ followed by 53 characters of bcrypt base64")
	}
	cost, err := strconv.Atoi(h[4:6])
	if err != nil || cost < 4 || cost > 31 {
		return errors.New("bcrypt hash: cost must be two digits between 04 and 31")
	}
	for i := 7; i < len(h); i++ {
		if strings.IndexByte(bcryptAlphabet, h[i]) < 0 {
			return errors.New("bcrypt hash: invalid character after the cost")
		}
	}
	return nil
}

// argon2id bounds. The floors catch truncated strings; the ceilings stop a
// hash from asking for absurd amounts of memory or time per verification.
const (
	argonMaxMemoryKiB = 4 << 20 // 4 GiB
	argonMaxTime      = 1 << 10
	argonMinSalt      = 8
	argonMinKey       = 16
)

func checkArgon2id(rest string) error {
	parts := strings.Split(rest, "$")
	if len(parts) != 4 {
		return errors.New("argon2id hash: want $argon2id$v=19$m=...,t=...,p=...$salt$hash")
	}
	if parts[0] != "v=19" {
		return errors.New("argon2id hash: unsupported version (want v=19)")
	}
	var m, t, p uint64
	got := map[string]*uint64{"m": &m, "t": &t, "p": &p}
	for _, kv := range strings.Split(parts[1], ",") {
		k, val, ok := strings.Cut(kv, "=")
		dst, known := got[k]
		if !ok || !known || *dst != 0 {
			return errors.New("argon2id hash: parameters must be m=...,t=...,p=..., each once")
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil || n == 0 || (len(val) > 1 && val[0] == '0') {
			return errors.New("argon2id hash: parameters must be positive decimal integers")
		}
		*dst = n
	}
	switch {
	case m == 0 || t == 0 || p == 0:
		return errors.New("argon2id hash: parameters must be m=...,t=...,p=..., each once")
	case p > 255:
		return errors.New("argon2id hash: p must be at most 255")
	case m < 8*p || m > argonMaxMemoryKiB:
		return errors.New("argon2id hash: m must be at least 8*p KiB and at most 4 GiB")
	case t > argonMaxTime:
		return errors.New("argon2id hash: t must be at most 1024")
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[2])
	if err != nil || len(salt) < argonMinSalt {
		return errors.New("argon2id hash: salt must be at least 8 bytes of unpadded standard base64")
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(parts[3])
	if err != nil || len(key) < argonMinKey {
		return errors.New("argon2id hash: hash must be at least 16 bytes of unpadded standard base64")
	}
	return nil
}
