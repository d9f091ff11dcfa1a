package alipay

import (
	"bytes"
	"crypto/md5"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"
)

// CertSN returns the serial-number identifier ("SN") that Alipay uses for a
// certificate in public-key certificate mode (公钥证书模式): the value sent as
// app_cert_sn for the app certificate (appCertPublicKey_<appid>.crt) and
// received as alipay_cert_sn for the Alipay certificate
// (alipayCertPublicKey_RSA2.crt).
//
// cert holds exactly one certificate, PEM ("-----BEGIN CERTIFICATE-----") or
// DER encoded. The SN is the lowercase hexadecimal MD5 digest of the UTF-8
// string issuerDN + serial, where serial is the certificate's serial number
// in base 10 and issuerDN is the issuer name exactly as Java's
// X500Principal.getName() renders it (RFC 2253), which is what the official
// Java SDK hashes:
//
//	CN=Ant Financial Certification Authority Class 2 R1,OU=Certification Authority,O=Ant Financial,C=CN
//
// The attributes appear in the reverse order of their DER encoding, joined by
// "," without spaces. Only CN, C, L, ST, O, OU, STREET, DC and UID are written
// by name; any other attribute, emailAddress included, is written as its
// dotted OID followed by "#" and the hexadecimal DER of its value, as in
// "1.2.840.113549.1.9.1=#160e6361406578616d706c652e636f6d". (The official
// Node SDK writes emailAddress as "E=" instead, so for such issuers the
// SDKs disagree; the DNs of Alipay's certification authorities use only C,
// O, OU and CN, where all agree.)
//
// CertSN reads only the serial number, the signature algorithm and the
// issuer; it does not verify the certificate, and unlike
// [crypto/x509.ParseCertificate] it accepts certificates with SM2 keys.
func CertSN(cert []byte) (string, error) {
	if len(bytes.TrimSpace(cert)) == 0 {
		return "", errors.New("alipay: certificate is empty")
	}
	// Try DER first: a DER certificate may well contain "-----BEGIN".
	c, err := certParse(cert)
	if err != nil {
		switch {
		case bytes.Contains(cert, certPEMBegin):
			ders, perr := certPEMBlocks(cert)
			if perr != nil {
				return "", fmt.Errorf("alipay: certificate: %w", perr)
			}
			if len(ders) != 1 {
				return "", fmt.Errorf("alipay: certificate: found %d certificates, want 1 (use RootCertSN for a bundle)", len(ders))
			}
			c, err = certParse(ders[0])
		case cert[0] != 0x30: // a DER certificate is a SEQUENCE
			return "", errors.New("alipay: certificate is neither PEM nor DER")
		}
	}
	if err != nil {
		return "", fmt.Errorf("alipay: certificate: %w", err)
	}
	sn, err := c.sn()
	if err != nil {
		return "", fmt.Errorf("alipay: certificate: %w", err)
	}
	return sn, nil
}

// RootCertSN returns the alipay_root_cert_sn of an Alipay root certificate
// bundle: the PEM certificates of alipayRootCert.crt, concatenated.
//
// The result is the [CertSN] of every certificate in the bundle that is
// signed with RSA (signature algorithm OID beginning with
// "1.2.840.113549.1.1"), in file order, joined by "_". Certificates signed
// with ECDSA or SM2 are skipped. Text outside the PEM blocks is ignored; a
// PEM block that is not a certificate is an error, as is a bundle without
// an RSA-signed certificate.
func RootCertSN(bundle []byte) (string, error) {
	if len(bytes.TrimSpace(bundle)) == 0 {
		return "", errors.New("alipay: root certificate bundle is empty")
	}
	if !bytes.Contains(bundle, certPEMBegin) {
		return "", errors.New("alipay: root certificate bundle: no PEM certificate found; is this the alipayRootCert.crt file?")
	}
	ders, err := certPEMBlocks(bundle)
	if err != nil {
		return "", fmt.Errorf("alipay: root certificate bundle: %w", err)
	}
	var sns []string
	for i, der := range ders {
		c, err := certParse(der)
		if err != nil {
			return "", fmt.Errorf("alipay: root certificate bundle: certificate %d: %w", i+1, err)
		}
		if !c.signedWithRSA() {
			continue
		}
		sn, err := c.sn()
		if err != nil {
			return "", fmt.Errorf("alipay: root certificate bundle: certificate %d: %w", i+1, err)
		}
		sns = append(sns, sn)
	}
	if len(sns) == 0 {
		return "", fmt.Errorf("alipay: root certificate bundle: none of its %d certificates is signed with RSA; is this the alipayRootCert.crt file?", len(ders))
	}
	return strings.Join(sns, "_"), nil
}

// certPEMBegin starts every PEM block.
var certPEMBegin = []byte("-----BEGIN")

// certPEMBlocks returns the DER bytes of the PEM blocks in data, in order.
// Every block must be a CERTIFICATE and well formed: [pem.Decode] silently
// skips a damaged block and returns the next one, so each block is decoded
// on its own and checked not to have swallowed a later one. Text between
// blocks, such as the "subject=" lines some tools write, is ignored.
func certPEMBlocks(data []byte) ([][]byte, error) {
	var ders [][]byte
	rest := data
	for n := 1; ; n++ {
		i := bytes.Index(rest, certPEMBegin)
		if i < 0 {
			break
		}
		rest = rest[i:]
		block, after := pem.Decode(rest)
		if block == nil || bytes.Contains(rest[1:len(rest)-len(after)], certPEMBegin) {
			return nil, fmt.Errorf("PEM block %d is malformed or truncated", n)
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %s, not a CERTIFICATE", n, block.Type)
		}
		ders = append(ders, block.Bytes)
		rest = after
	}
	if len(ders) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return ders, nil
}

// certASN1 is the outer structure of an X.509 certificate (RFC 5280,
// section 4.1), reduced to the fields that Alipay's SN rules read.
// encoding/asn1 ignores the trailing elements of tbsCertificate that are not
// listed.
type certASN1 struct {
	TBS struct {
		Version      int `asn1:"optional,explicit,default:0,tag:0"`
		SerialNumber *big.Int
		Signature    pkix.AlgorithmIdentifier
		Issuer       asn1.RawValue
	}
	SignatureAlgorithm pkix.AlgorithmIdentifier
	SignatureValue     asn1.BitString
}

// certFields holds what the SN rules need from one certificate.
type certFields struct {
	serial    *big.Int
	rawIssuer []byte // DER of the issuer Name
	sigAlg    asn1.ObjectIdentifier
}

// certParse reads the serial number, issuer and signature algorithm of the
// DER certificate der.
func certParse(der []byte) (*certFields, error) {
	var c certASN1
	rest, err := asn1.Unmarshal(der, &c)
	if err != nil {
		return nil, fmt.Errorf("malformed DER: %w", err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%d bytes of trailing data after the certificate", len(rest))
	}
	iss := c.TBS.Issuer
	if iss.Class != asn1.ClassUniversal || iss.Tag != asn1.TagSequence || !iss.IsCompound {
		return nil, errors.New("malformed DER: issuer is not a SEQUENCE")
	}
	return &certFields{
		serial:    c.TBS.SerialNumber,
		rawIssuer: iss.FullBytes,
		sigAlg:    c.SignatureAlgorithm.Algorithm,
	}, nil
}

// signedWithRSA reports whether the certificate's signature algorithm OID
// begins with "1.2.840.113549.1.1" (PKCS #1). Like the official SDKs, it
// compares the dotted strings.
func (c *certFields) signedWithRSA() bool {
	return strings.HasPrefix(c.sigAlg.String(), "1.2.840.113549.1.1")
}

// sn computes the certificate's SN; see [CertSN].
func (c *certFields) sn() (string, error) {
	if c.serial.Sign() < 0 {
		// RFC 5280 requires a positive serial number. Java would hash
		// "-123" and Node "123" (the raw bytes read as unsigned), so no
		// answer would be the one Alipay computes.
		return "", errors.New("serial number is negative")
	}
	dn, err := certIssuerDN(c.rawIssuer)
	if err != nil {
		return "", err
	}
	sum := md5.Sum([]byte(dn + c.serial.String()))
	return hex.EncodeToString(sum[:]), nil
}

// certRFC2253Keywords maps the attribute types that Java's
// X500Principal.getName() writes by name to those names; it writes every
// other type as a dotted OID.
var certRFC2253Keywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "STREET",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
}

// certIssuerDN renders the DER Name rawName the way Java's
// X500Principal.getName() (sun.security.x509.X500Name.getRFC2253Name) does,
// since that string is what the official Java SDK hashes.
//
// It parses the name itself rather than use [pkix.RDNSequence.String]: that
// method writes SERIALNUMBER and POSTALCODE by name, escapes differently, and
// re-encodes the values it writes in hexadecimal (an IA5String emailAddress
// comes out as a UTF8String, "#0c…" instead of Java's "#16…").
func certIssuerDN(rawName []byte) (string, error) {
	var name asn1.RawValue
	if _, err := asn1.Unmarshal(rawName, &name); err != nil {
		return "", fmt.Errorf("malformed issuer: %w", err)
	}
	var rdns [][]byte
	for rest := name.Bytes; len(rest) > 0; {
		var set asn1.RawValue
		var err error
		rest, err = asn1.Unmarshal(rest, &set)
		if err != nil {
			return "", fmt.Errorf("malformed issuer: %w", err)
		}
		if set.Class != asn1.ClassUniversal || set.Tag != asn1.TagSet || !set.IsCompound {
			return "", errors.New("malformed issuer: relative distinguished name is not a SET")
		}
		var rdn []byte
		for avas := set.Bytes; len(avas) > 0; {
			if len(rdn) > 0 {
				rdn = append(rdn, '+')
			}
			rdn, avas, err = certAppendAVA(rdn, avas)
			if err != nil {
				return "", err
			}
		}
		rdns = append(rdns, rdn)
	}
	var dn []byte
	for i := len(rdns) - 1; i >= 0; i-- {
		dn = append(dn, rdns[i]...)
		if i > 0 {
			dn = append(dn, ',')
		}
	}
	return string(dn), nil
}

// certAppendAVA parses the AttributeTypeAndValue at the start of der,
// appends its RFC 2253 form to b, and returns the extended buffer and the
// bytes after the attribute.
func certAppendAVA(b, der []byte) (_, rest []byte, err error) {
	var seq asn1.RawValue
	rest, err = asn1.Unmarshal(der, &seq)
	if err != nil {
		return nil, nil, fmt.Errorf("malformed issuer: %w", err)
	}
	if seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return nil, nil, errors.New("malformed issuer: attribute is not a SEQUENCE")
	}
	var typ asn1.ObjectIdentifier
	var val asn1.RawValue
	tail, err := asn1.Unmarshal(seq.Bytes, &typ)
	if err == nil {
		tail, err = asn1.Unmarshal(tail, &val)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("malformed issuer attribute: %w", err)
	}
	if len(tail) > 0 {
		return nil, nil, errors.New("malformed issuer attribute: trailing data")
	}

	oid := typ.String()
	keyword, ok := certRFC2253Keywords[oid]
	if !ok || !certIsDirectoryString(val) {
		if !ok {
			keyword = oid
		}
		b = append(b, keyword...)
		b = append(b, "=#"...)
		return hex.AppendEncode(b, val.FullBytes), rest, nil
	}
	// Java decodes the content octets of every string type as UTF-8, even
	// a BMPString, and replaces what does not decode; rather than imitate
	// its replacement rules, refuse such values.
	if !utf8.Valid(val.Bytes) {
		return nil, nil, fmt.Errorf("issuer attribute %s is not valid UTF-8", keyword)
	}
	b = append(b, keyword...)
	b = append(b, '=')
	return certAppendValue(b, val.Bytes), rest, nil
}

// certIsDirectoryString reports whether v is of one of the string types
// that Java's RFC 2253 writer prints as text rather than as hexadecimal.
func certIsDirectoryString(v asn1.RawValue) bool {
	if v.Class != asn1.ClassUniversal || v.IsCompound {
		return false
	}
	switch v.Tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagT61String,
		asn1.TagIA5String, asn1.TagGeneralString, asn1.TagBMPString:
		return true
	}
	return false
}

// certAppendValue appends the string value s to b, escaped as Java's
// AVA.toRFC2253String does: a backslash before each of , = + < > # ; " and
// \ wherever they occur, NUL as \00, and a backslash before every leading
// and trailing space or carriage return.
func certAppendValue(b, s []byte) []byte {
	var esc []byte
	for _, c := range s {
		switch c {
		case ',', '=', '+', '<', '>', '#', ';', '"', '\\':
			esc = append(esc, '\\', c)
		case 0:
			esc = append(esc, `\00`...)
		default:
			esc = append(esc, c)
		}
	}
	isSpace := func(c byte) bool { return c == ' ' || c == '\r' }
	lead := 0
	for lead < len(esc) && isSpace(esc[lead]) {
		lead++
	}
	trail := len(esc) - 1
	for trail >= 0 && isSpace(esc[trail]) {
		trail--
	}
	for i, c := range esc {
		if i < lead || i > trail {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return b
}
