package login

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
)

// box seals and opens the small messages that the login page hands the
// browser and gets back (the session cookie, the consent form's ticket):
// base64url(nonce ‖ AES-256-GCM ciphertext), with additional data of each
// kind's own, so that one kind of message never opens as another. It is
// immutable and safe for concurrent use.
type box struct {
	aead   cipher.AEAD
	aad    []byte
	maxLen int // the longest value open accepts, checked before decoding
}

// newBox returns a box under key; what names the message in errors.
func newBox(key [32]byte, what, aad string, maxLen int) (box, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return box{}, fmt.Errorf("login: %s cipher: %w", what, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return box{}, fmt.Errorf("login: %s cipher: %w", what, err)
	}
	return box{aead: aead, aad: []byte(aad), maxLen: maxLen}, nil
}

// seal encrypts pt under a fresh random nonce.
func (b box) seal(pt []byte) (string, error) {
	ns := b.aead.NonceSize()
	out := make([]byte, ns, ns+len(pt)+b.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return "", fmt.Errorf("login: reading random nonce: %w", err)
	}
	out = b.aead.Seal(out, out[:ns], pt, b.aad)
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// open returns the plaintext of v; false when v is empty or too long, not
// base64url, or not sealed by seal under this key and additional data.
func (b box) open(v string) ([]byte, bool) {
	if v == "" || len(v) > b.maxLen {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(v)
	ns := b.aead.NonceSize()
	if err != nil || len(raw) < ns+b.aead.Overhead() {
		return nil, false
	}
	pt, err := b.aead.Open(nil, raw[:ns], raw[ns:], b.aad)
	return pt, err == nil
}

// maxAMRValue bounds one amr value in a session or ticket.
const maxAMRValue = 64

// appendField appends s with a 2-byte length.
func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// appendAMR appends the number of amr values (1 byte), then each as a
// field; false when there are more than maxAMR or one is longer than
// maxAMRValue.
func appendAMR(b []byte, amr []string) ([]byte, bool) {
	if len(amr) > maxAMR {
		return b, false
	}
	b = append(b, byte(len(amr)))
	for _, m := range amr {
		if len(m) > maxAMRValue {
			return b, false
		}
		b = appendField(b, m)
	}
	return b, true
}

// fields reads, in order, what appendField and appendAMR wrote.
type fields []byte

// next reads a field of at most limit bytes.
func (f *fields) next(limit int) (string, bool) {
	r := *f
	if len(r) < 2 {
		return "", false
	}
	n := int(binary.BigEndian.Uint16(r))
	if n > limit || len(r) < 2+n {
		return "", false
	}
	*f = r[2+n:]
	return string(r[2 : 2+n]), true
}

// amr reads what appendAMR wrote (nil for no values).
func (f *fields) amr() ([]string, bool) {
	if len(*f) < 1 || int((*f)[0]) > maxAMR {
		return nil, false
	}
	n := int((*f)[0])
	*f = (*f)[1:]
	var amr []string
	for range n {
		m, ok := f.next(maxAMRValue)
		if !ok {
			return nil, false
		}
		amr = append(amr, m)
	}
	return amr, true
}
