package certbind

import (
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DN is a distinguished name: relative distinguished names in the order of
// an X.509 RDNSequence (the most significant, e.g. C, first), each a set of
// attribute type and value pairs.
type DN struct {
	rdns [][]ava
}

// ava is an AttributeTypeAndValue.
type ava struct {
	oid asn1.ObjectIdentifier
	// str is the value as a string, when it is a string type (or was
	// written as one in RFC 4514 form); isStr says so.
	str   string
	isStr bool
	// der is the value's DER encoding, when known: from a certificate, or
	// from a "#hex" value (RFC 4514 §2.4).
	der []byte
}

// descriptors are the attribute type names ParseDN knows: those of RFC
// 4514 §3 and the ones certificate subjects commonly use.
var descriptors = map[string]asn1.ObjectIdentifier{
	"CN":                     {2, 5, 4, 3},
	"SN":                     {2, 5, 4, 4},
	"SERIALNUMBER":           {2, 5, 4, 5},
	"C":                      {2, 5, 4, 6},
	"L":                      {2, 5, 4, 7},
	"ST":                     {2, 5, 4, 8},
	"STREET":                 {2, 5, 4, 9},
	"O":                      {2, 5, 4, 10},
	"OU":                     {2, 5, 4, 11},
	"TITLE":                  {2, 5, 4, 12},
	"GN":                     {2, 5, 4, 42},
	"GIVENNAME":              {2, 5, 4, 42},
	"ORGANIZATIONIDENTIFIER": {2, 5, 4, 97},
	"DC":                     {0, 9, 2342, 19200300, 100, 1, 25},
	"UID":                    {0, 9, 2342, 19200300, 100, 1, 1},
	"EMAILADDRESS":           {1, 2, 840, 113549, 1, 9, 1},
	"E":                      {1, 2, 840, 113549, 1, 9, 1},
}

// ParseDN reads a distinguished name in the string form of RFC 4514 §3, as
// tls_client_auth_subject_dn holds it (RFC 8705 §2.1.2): RDNs separated by
// commas, the last (most significant) first; multi-valued RDNs joined by
// "+"; attribute types as the names of RFC 4514 §3 (and SERIALNUMBER,
// EMAILADDRESS, ...) or dotted OIDs; values with "\" escapes, or "#" and
// the hex of their DER encoding. Spaces around separators are tolerated,
// as people write them. Errors wrap ErrConfig.
func ParseDN(s string) (*DN, error) {
	p := dnParser{s: s}
	var rdns [][]ava
	p.spaces()
	if p.done() {
		return nil, fmt.Errorf("%w: empty distinguished name", ErrConfig)
	}
	for {
		var rdn []ava
		for {
			a, err := p.ava()
			if err != nil {
				return nil, fmt.Errorf("%w: distinguished name %q: %v", ErrConfig, s, err)
			}
			rdn = append(rdn, a)
			if !p.consume('+') {
				break
			}
		}
		rdns = append(rdns, rdn)
		if p.done() {
			break
		}
		if !p.consume(',') && !p.consume(';') {
			return nil, fmt.Errorf("%w: distinguished name %q: expected ',' at byte %d", ErrConfig, s, p.i)
		}
	}
	// The string lists the RDNSequence in reverse (RFC 4514 §2.1).
	for i, j := 0, len(rdns)-1; i < j; i, j = i+1, j-1 {
		rdns[i], rdns[j] = rdns[j], rdns[i]
	}
	return &DN{rdns: rdns}, nil
}

type dnParser struct {
	s string
	i int
}

func (p *dnParser) done() bool { return p.i >= len(p.s) }

func (p *dnParser) spaces() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *dnParser) consume(c byte) bool {
	p.spaces()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		p.spaces()
		return true
	}
	return false
}

// ava reads attributeType "=" attributeValue (RFC 4514 §3).
func (p *dnParser) ava() (ava, error) {
	p.spaces()
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != '=' {
		p.i++
	}
	typ := strings.TrimSpace(p.s[start:p.i])
	if !p.consume('=') {
		return ava{}, fmt.Errorf("attribute %q without '='", typ)
	}
	oid, err := attributeType(typ)
	if err != nil {
		return ava{}, err
	}
	a := ava{oid: oid}
	if p.i < len(p.s) && p.s[p.i] == '#' {
		p.i++
		start := p.i
		for p.i < len(p.s) && isHexDigit(p.s[p.i]) {
			p.i++
		}
		der, err := hex.DecodeString(p.s[start:p.i])
		if err != nil || len(der) == 0 {
			return ava{}, fmt.Errorf("attribute %s: bad #hex value", typ)
		}
		a.der = der
		a.str, a.isStr = derString(der)
		p.spaces()
		return a, nil
	}
	var b []byte
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == ',' || c == '+' || c == ';' {
			break
		}
		if c != '\\' {
			b = append(b, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.s) {
			return ava{}, fmt.Errorf("attribute %s: dangling '\\'", typ)
		}
		n := p.s[p.i+1]
		if isHexDigit(n) && p.i+2 < len(p.s) && isHexDigit(p.s[p.i+2]) {
			v, _ := hex.DecodeString(p.s[p.i+1 : p.i+3])
			b = append(b, v[0])
			p.i += 3
			continue
		}
		if !strings.ContainsRune(`"+,;<>\ #=`, rune(n)) {
			return ava{}, fmt.Errorf("attribute %s: bad escape '\\%c'", typ, n)
		}
		b = append(b, n)
		p.i += 2
	}
	if !utf8.Valid(b) {
		return ava{}, fmt.Errorf("attribute %s: value is not UTF-8", typ)
	}
	a.str, a.isStr = string(b), true
	return a, nil
}

func attributeType(typ string) (asn1.ObjectIdentifier, error) {
	if oid, ok := descriptors[strings.ToUpper(typ)]; ok {
		return oid, nil
	}
	typ = strings.TrimPrefix(strings.TrimPrefix(typ, "OID."), "oid.")
	var oid asn1.ObjectIdentifier
	for part := range strings.SplitSeq(typ, ".") {
		if part == "" || len(part) > 9 || (len(part) > 1 && part[0] == '0') {
			return nil, fmt.Errorf("unknown attribute type %q", typ)
		}
		n := 0
		for _, c := range []byte(part) {
			if c < '0' || c > '9' {
				return nil, fmt.Errorf("unknown attribute type %q", typ)
			}
			n = n*10 + int(c-'0')
		}
		oid = append(oid, n)
	}
	if len(oid) < 2 {
		return nil, fmt.Errorf("unknown attribute type %q", typ)
	}
	return oid, nil
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// subjectDN reads a certificate's RawSubject: SEQUENCE OF SET OF
// SEQUENCE { type OID, value ANY } (RFC 5280 §4.1.2.4).
func subjectDN(raw []byte) (*DN, bool) {
	in := cryptobyte.String(raw)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, false
	}
	dn := &DN{}
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) {
			return nil, false
		}
		var rdn []ava
		for !set.Empty() {
			var atv cryptobyte.String
			var oid asn1.ObjectIdentifier
			var val cryptobyte.String
			var tag cbasn1.Tag
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&oid) ||
				!atv.ReadAnyASN1Element(&val, &tag) || !atv.Empty() {
				return nil, false
			}
			a := ava{oid: oid, der: []byte(val)}
			a.str, a.isStr = derString(val)
			rdn = append(rdn, a)
		}
		dn.rdns = append(dn.rdns, rdn)
	}
	return dn, true
}

// derString decodes a DER directory string: UTF8String, PrintableString,
// IA5String, TeletexString (read as Latin-1), BMPString, UniversalString.
func derString(der []byte) (string, bool) {
	in := cryptobyte.String(der)
	var body cryptobyte.String
	var tag cbasn1.Tag
	if !in.ReadAnyASN1(&body, &tag) || !in.Empty() {
		return "", false
	}
	switch tag {
	case cbasn1.UTF8String:
		if utf8.Valid(body) {
			return string(body), true
		}
	case cbasn1.PrintableString, cbasn1.IA5String:
		for _, c := range body {
			if c >= 0x80 {
				return "", false
			}
		}
		return string(body), true
	case cbasn1.T61String:
		r := make([]rune, len(body))
		for i, c := range body {
			r[i] = rune(c)
		}
		return string(r), true
	case 30: // BMPString: UTF-16BE
		if len(body)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(body)/2)
		for i := range u {
			u[i] = uint16(body[2*i])<<8 | uint16(body[2*i+1])
		}
		return string(utf16.Decode(u)), true
	case 28: // UniversalString: UTF-32BE
		if len(body)%4 != 0 {
			return "", false
		}
		var sb strings.Builder
		for i := 0; i < len(body); i += 4 {
			r := rune(body[i])<<24 | rune(body[i+1])<<16 | rune(body[i+2])<<8 | rune(body[i+3])
			if !utf8.ValidRune(r) {
				return "", false
			}
			sb.WriteRune(r)
		}
		return sb.String(), true
	}
	return "", false
}

// Equal reports whether dn and o name the same entity: the same RDNs in
// the same order, each the same set of attribute types, with values equal
// under caseIgnoreMatch (RFC 4517 §4.2.11: case-insensitive, with
// insignificant spaces removed as RFC 4518 §2.6.1 says), or, for values
// known only by their DER encoding, byte for byte.
func (dn *DN) Equal(o *DN) bool {
	if len(dn.rdns) != len(o.rdns) {
		return false
	}
	for i, rdn := range dn.rdns {
		other := o.rdns[i]
		if len(rdn) != len(other) {
			return false
		}
		used := make([]bool, len(other))
	next:
		for _, a := range rdn {
			for j, b := range other {
				if !used[j] && a.equal(b) {
					used[j] = true
					continue next
				}
			}
			return false
		}
	}
	return true
}

func (a ava) equal(b ava) bool {
	if !a.oid.Equal(b.oid) {
		return false
	}
	if a.isStr && b.isStr {
		return strings.EqualFold(insignificantSpace(a.str), insignificantSpace(b.str))
	}
	return a.der != nil && b.der != nil && string(a.der) == string(b.der)
}

// insignificantSpace removes leading and trailing spaces and collapses
// inner runs of spaces to one (RFC 4518 §2.6.1).
func insignificantSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// String returns dn in RFC 4514 form (attribute types by name where known,
// values escaped).
func (dn *DN) String() string {
	var b strings.Builder
	for i := len(dn.rdns) - 1; i >= 0; i-- {
		if i < len(dn.rdns)-1 {
			b.WriteByte(',')
		}
		for j, a := range dn.rdns[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			b.WriteString(typeName(a.oid))
			b.WriteByte('=')
			if !a.isStr {
				b.WriteByte('#')
				b.WriteString(hex.EncodeToString(a.der))
				continue
			}
			writeEscaped(&b, a.str)
		}
	}
	return b.String()
}

func typeName(oid asn1.ObjectIdentifier) string {
	for _, name := range []string{"CN", "SN", "SERIALNUMBER", "C", "L", "ST", "STREET", "O", "OU", "TITLE", "GIVENNAME", "ORGANIZATIONIDENTIFIER", "DC", "UID", "EMAILADDRESS"} {
		if descriptors[name].Equal(oid) {
			return name
		}
	}
	return oid.String()
}

// writeEscaped writes an attribute value escaped as RFC 4514 §2.4 says.
func writeEscaped(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte(`"+,;<>\`, c) >= 0,
			i == 0 && (c == ' ' || c == '#'),
			i == len(s)-1 && c == ' ':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(b, "\\%02x", c)
		default:
			b.WriteByte(c)
		}
	}
}
