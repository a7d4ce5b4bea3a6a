package login

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// MaxKeyFileSize bounds the content of a key file (ParseKeyFile).
const MaxKeyFileSize = 4096

// ErrKey means a Config.Key in text or file form is unusable: not at least
// MinKeyLen bytes, or too long. Errors wrapping it never repeat the key.
var ErrKey = errors.New("login: the key must be at least 32 random bytes (base64 text or raw)")

// DecodeKey decodes the text form of a Config.Key, as an environment
// variable holds it (SPEC §6 login.key_env): base64url (RFC 4648 §5) or
// standard base64 (§4), padded or not, surrounding white space ignored, of
// at least MinKeyLen bytes, such as `openssl rand -base64 32` prints, and
// at most MaxKeyFileSize bytes of text. Anything else is an error wrapping
// ErrKey.
func DecodeKey(text string) ([]byte, error) {
	if len(text) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrKey, MaxKeyFileSize)
	}
	t := strings.TrimSpace(text)
	if t == "" {
		return nil, fmt.Errorf("%w: empty", ErrKey)
	}
	key, ok := decodeBase64(t)
	if !ok {
		return nil, fmt.Errorf("%w: not base64", ErrKey)
	}
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("%w: base64 of %d bytes", ErrKey, len(key))
	}
	return key, nil
}

// ParseKeyFile returns the Config.Key held by the content of a key file
// (SPEC §6 login.key_file): if the content, trimmed of surrounding white
// space, is base64 (as DecodeKey accepts), the decoded bytes, which must be
// at least MinKeyLen; otherwise the content itself, as it is, which must be
// at least MinKeyLen bytes (for a file written by `head -c 32 /dev/urandom`).
// Base64 text that decodes to fewer than MinKeyLen bytes is refused rather
// than taken as raw bytes: it is almost certainly a key too short. Content
// longer than MaxKeyFileSize is refused. Errors wrap ErrKey.
func ParseKeyFile(data []byte) ([]byte, error) {
	if len(data) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrKey, MaxKeyFileSize)
	}
	if t := bytes.TrimSpace(data); len(t) > 0 {
		if key, ok := decodeBase64(string(t)); ok {
			if len(key) < MinKeyLen {
				return nil, fmt.Errorf("%w: base64 of %d bytes", ErrKey, len(key))
			}
			return key, nil
		}
	}
	if len(data) < MinKeyLen {
		return nil, fmt.Errorf("%w: %d bytes", ErrKey, len(data))
	}
	return bytes.Clone(data), nil
}

// decodeBase64 decodes standard or URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, bool) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		if strings.ContainsAny(s, "-_") {
			return nil, false // two alphabets mixed
		}
		s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return b, err == nil
}
