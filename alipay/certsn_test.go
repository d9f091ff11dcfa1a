package alipay

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// certSNVectors is testdata/cert_sn.json, produced with the official Node
// SDK (see testdata/VECTORS.md).
type certSNVectors struct {
	SDKComputed struct {
		AppCertSN        string `json:"app_cert_sn"`
		AlipayCertSN     string `json:"alipay_cert_sn"`
		AlipayRootCertSN string `json:"alipay_root_cert_sn"`
	} `json:"sdk_computed"`
	PerCert []struct {
		Cert                  string `json:"cert"`
		IssuerDNString        string `json:"issuer_dn_string"`
		SerialDecimal         string `json:"serial_decimal"`
		SignatureAlgorithmOID string `json:"signature_algorithm_oid"`
		IncludedInRootSN      bool   `json:"included_in_root_sn"`
		MD5Input              string `json:"md5_input"`
		SNBySDK               string `json:"sn_by_sdk"`
	} `json:"per_cert"`
}

func certTestVectors(t testing.TB) *certSNVectors {
	t.Helper()
	var v certSNVectors
	if err := json.Unmarshal(certTestRead(t, "cert_sn.json"), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.PerCert) == 0 {
		t.Fatal("cert_sn.json: no per_cert entries")
	}
	return &v
}

func certTestRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// certTestBundleBlocks returns the PEM blocks of the test root bundle, each
// re-encoded on its own.
func certTestBundleBlocks(t testing.TB) [][]byte {
	t.Helper()
	var blocks [][]byte
	rest := certTestRead(t, "certs/alipayRootCert.crt")
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, pem.EncodeToMemory(b))
	}
	if len(blocks) != 4 {
		t.Fatalf("alipayRootCert.crt has %d PEM blocks, want 4", len(blocks))
	}
	return blocks
}

func TestCertSNSDKComputed(t *testing.T) {
	t.Parallel()
	v := certTestVectors(t)
	tests := []struct {
		name string
		f    func([]byte) (string, error)
		file string
		want string
	}{
		{"app_cert_sn", CertSN, "certs/appCertPublicKey_2021000000000001.crt", v.SDKComputed.AppCertSN},
		{"alipay_cert_sn", CertSN, "certs/alipayCertPublicKey_RSA2.crt", v.SDKComputed.AlipayCertSN},
		{"alipay_root_cert_sn", RootCertSN, "certs/alipayRootCert.crt", v.SDKComputed.AlipayRootCertSN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.f(certTestRead(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// certTestJavaOverrides holds the certificates whose issuer the Node SDK,
// which produced cert_sn.json, renders differently from Java's
// X500Principal.getName(). The expected values were computed with OpenJDK 17
// (CertificateFactory, getIssuerX500Principal().getName() +
// getSerialNumber(), MD5), as the official Java SDK does.
var certTestJavaOverrides = map[string]struct{ md5Input, sn string }{
	"edge_email_issuer.crt": {
		"1.2.840.113549.1.9.1=#160e6361406578616d706c652e636f6d,CN=Edge CA,OU=Edge Unit,O=Edge CA,L=Hangzhou,ST=Zhejiang,C=CN12345",
		"6c7164649ec9dba6e478ed4b2f34ddf2",
	},
}

func TestCertSNPerCert(t *testing.T) {
	t.Parallel()
	v := certTestVectors(t)
	blocks := certTestBundleBlocks(t)
	for _, pc := range v.PerCert {
		t.Run(pc.Cert, func(t *testing.T) {
			t.Parallel()
			var data []byte
			if i, ok := strings.CutPrefix(pc.Cert, "alipayRootCert.crt["); ok {
				n, err := strconv.Atoi(strings.TrimSuffix(i, "]"))
				if err != nil {
					t.Fatal(err)
				}
				data = blocks[n]
			} else {
				data = certTestRead(t, "certs/"+pc.Cert)
			}
			wantInput, wantSN := pc.MD5Input, pc.SNBySDK
			if o, ok := certTestJavaOverrides[pc.Cert]; ok {
				// The Node SDK writes emailAddress as "E=": check
				// that the vector shows that rendering and that only
				// the attribute name and value differ.
				if !strings.HasPrefix(pc.MD5Input, "E=ca@example.com,") {
					t.Fatalf("vector md5_input %q: want the Node rendering E=…", pc.MD5Input)
				}
				_, nodeTail, _ := strings.Cut(pc.MD5Input, ",")
				_, javaTail, _ := strings.Cut(o.md5Input, ",")
				if nodeTail != javaTail {
					t.Fatalf("Java input %q and Node input %q differ beyond the first attribute", o.md5Input, pc.MD5Input)
				}
				wantInput, wantSN = o.md5Input, o.sn
			}

			block, _ := pem.Decode(data)
			if block == nil {
				t.Fatal("no PEM block")
			}
			c, err := certParse(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.serial.String(); got != pc.SerialDecimal {
				t.Errorf("serial = %s, want %s", got, pc.SerialDecimal)
			}
			if got := c.sigAlg.String(); got != pc.SignatureAlgorithmOID {
				t.Errorf("signature algorithm = %s, want %s", got, pc.SignatureAlgorithmOID)
			}
			if got := c.signedWithRSA(); got != pc.IncludedInRootSN {
				t.Errorf("signedWithRSA() = %t, want %t", got, pc.IncludedInRootSN)
			}
			dn, err := certIssuerDN(c.rawIssuer)
			if err != nil {
				t.Fatal(err)
			}
			if got := dn + c.serial.String(); got != wantInput {
				t.Errorf("MD5 input:\n got %s\nwant %s", got, wantInput)
			}
			sn, err := CertSN(data)
			if err != nil {
				t.Fatal(err)
			}
			if sn != wantSN {
				t.Errorf("CertSN = %s, want %s", sn, wantSN)
			}
			// DER input gives the same SN.
			sn, err = CertSN(block.Bytes)
			if err != nil {
				t.Fatalf("DER: %v", err)
			}
			if sn != wantSN {
				t.Errorf("CertSN(DER) = %s, want %s", sn, wantSN)
			}
		})
	}
}

// TestCertSNJava checks certificates that cert_sn.json does not list against
// SNs computed with OpenJDK 17 the way the official Java SDK does.
func TestCertSNJava(t *testing.T) {
	t.Parallel()
	tests := []struct{ file, want string }{
		// Self-issued, issuer with ST, L and emailAddress.
		{"edgeca.crt", "a2ea013bffb52509f38945fe8b3797c5"},
		// The MD5 begins with a zero byte: the SN keeps all 32 digits.
		{"inter.crt", "00f755416e4025582de24316f5f3c7d1"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := CertSN(certTestRead(t, "certs/"+tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRootCertSNTolerated(t *testing.T) {
	t.Parallel()
	v := certTestVectors(t)
	bundle := certTestRead(t, "certs/alipayRootCert.crt")
	blocks := certTestBundleBlocks(t)
	tests := []struct {
		name   string
		bundle []byte
	}{
		{"CRLF", bytes.ReplaceAll(bundle, []byte("\n"), []byte("\r\n"))},
		{"BOM", append([]byte("\ufeff"), bundle...)},
		{"text between blocks", bytes.Join([][]byte{
			[]byte("subject=CN=FAKE ROOTCA\n"), blocks[0],
			[]byte("\n# R1\n"), blocks[1], blocks[2],
			[]byte("-----END CERTIFICATE-----\n"), blocks[3], []byte("trailing text\n"),
		}, nil)},
		{"no final newline", bytes.TrimSpace(bundle)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := RootCertSN(tt.bundle)
			if err != nil {
				t.Fatal(err)
			}
			if want := v.SDKComputed.AlipayRootCertSN; got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

func TestRootCertSNOrder(t *testing.T) {
	t.Parallel()
	blocks := certTestBundleBlocks(t)
	got, err := RootCertSN(bytes.Join([][]byte{blocks[3], blocks[2], blocks[1]}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := "a16ee1d6c1d9b0148cab8a9f06427e5f_a3a3911f1970526c7a903cb94c80a4bc"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestCertSNErrors(t *testing.T) {
	t.Parallel()
	app := certTestRead(t, "certs/appCertPublicKey_2021000000000001.crt")
	appDER, _ := pem.Decode(app)
	key := certTestRead(t, "keys/app_private_pkcs1.pem")
	bundle := certTestRead(t, "certs/alipayRootCert.crt")
	tests := []struct {
		name string
		in   []byte
		want string // substring of the error
	}{
		{"nil", nil, "alipay: certificate is empty"},
		{"white space", []byte(" \r\n\t"), "alipay: certificate is empty"},
		{"text", []byte("hello, world"), "neither PEM nor DER"},
		{"raw base64", []byte(base64.StdEncoding.EncodeToString(appDER.Bytes)), "neither PEM nor DER"},
		{"garbage DER", []byte{0x30, 0x03, 0x02, 0x01}, "malformed DER"},
		{"truncated DER", appDER.Bytes[:len(appDER.Bytes)/2], "malformed DER"},
		{"trailing data", append(bytes.Clone(appDER.Bytes), 0), "1 bytes of trailing data"},
		{"truncated PEM", app[:len(app)/2], "PEM block 1 is malformed or truncated"},
		{"PEM without END", bytes.ReplaceAll(app, []byte("-----END CERTIFICATE-----"), nil), "PEM block 1 is malformed"},
		{"private key", key, "PEM block 1 is a RSA PRIVATE KEY, not a CERTIFICATE"},
		{"bundle", bundle, "found 4 certificates, want 1"},
		{"bad base64", bytes.Replace(app, []byte("MII"), []byte("M*I"), 1), "PEM block 1 is malformed"},
		{"PEM of garbage", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")}), "malformed DER"},
		{"negative serial", certTestCert(t, big.NewInt(-5), certTestName(t, []certTestAVA{{certTestCN, asn1.TagUTF8String, "x"}})), "serial number is negative"},
		{"issuer not a SEQUENCE", certTestCert(t, big.NewInt(1), []byte{0x31, 0x00}), "issuer is not a SEQUENCE"},
		{"RDN not a SET", certTestCert(t, big.NewInt(1), []byte{0x30, 0x02, 0x30, 0x00}), "not a SET"},
		{"attribute not a SEQUENCE", certTestCert(t, big.NewInt(1), []byte{0x30, 0x04, 0x31, 0x02, 0x31, 0x00}), "attribute is not a SEQUENCE"},
		{"attribute trailing data", certTestCert(t, big.NewInt(1), []byte{0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x00, 0x05, 0x00}), "trailing data"},
		{"invalid UTF-8", certTestCert(t, big.NewInt(1), certTestName(t, []certTestAVA{{certTestCN, asn1.TagUTF8String, "\xff"}})), "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sn, err := CertSN(tt.in)
			if err == nil {
				t.Fatalf("got SN %s, want an error containing %q", sn, tt.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "alipay: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want one starting with \"alipay: \" and containing %q", msg, tt.want)
			}
		})
	}
}

func TestRootCertSNErrors(t *testing.T) {
	t.Parallel()
	blocks := certTestBundleBlocks(t)
	key := certTestRead(t, "keys/app_private_pkcs1.pem")
	bad := bytes.Replace(blocks[1], []byte("MII"), []byte("M*I"), 1)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"nil", nil, "alipay: root certificate bundle is empty"},
		{"white space", []byte("\n\n"), "alipay: root certificate bundle is empty"},
		{"DER", certTestPEMBody(t, blocks[1]), "no PEM certificate found; is this the alipayRootCert.crt file?"},
		{"text", []byte("alipay_root_cert_sn"), "no PEM certificate found"},
		{"private key", bytes.Join([][]byte{blocks[0], key, blocks[1]}, nil), "PEM block 2 is a RSA PRIVATE KEY, not a CERTIFICATE"},
		{"malformed block", bytes.Join([][]byte{blocks[0], bad, blocks[3]}, nil), "PEM block 2 is malformed or truncated"},
		{"truncated", bytes.Join([][]byte{blocks[0], blocks[1][:100]}, nil), "PEM block 2 is malformed or truncated"},
		{"no RSA", bytes.Join([][]byte{blocks[0], blocks[2]}, nil), "none of its 2 certificates is signed with RSA"},
		{"bad certificate", bytes.Join([][]byte{blocks[0], pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}})}, nil), "certificate 2: malformed DER"},
		{"bad RSA issuer", certTestPEM(certTestCert(t, big.NewInt(1), []byte{0x30, 0x02, 0x30, 0x00})), "certificate 1: malformed issuer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sn, err := RootCertSN(tt.in)
			if err == nil {
				t.Fatalf("got SN %s, want an error containing %q", sn, tt.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "alipay: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want one starting with \"alipay: \" and containing %q", msg, tt.want)
			}
		})
	}
}

// TestCertIssuerDN checks the rendering of issuer names against Java's
// X500Principal.getName(): every want below is what OpenJDK 17 printed for
// the same DER.
func TestCertIssuerDN(t *testing.T) {
	t.Parallel()
	const (
		utf8s  = asn1.TagUTF8String
		prints = asn1.TagPrintableString
		ia5    = asn1.TagIA5String
		t61    = asn1.TagT61String
		bmp    = asn1.TagBMPString
		octets = asn1.TagOctetString
	)
	var (
		cn       = certTestCN
		c        = asn1.ObjectIdentifier{2, 5, 4, 6}
		o        = asn1.ObjectIdentifier{2, 5, 4, 10}
		ou       = asn1.ObjectIdentifier{2, 5, 4, 11}
		l        = asn1.ObjectIdentifier{2, 5, 4, 7}
		st       = asn1.ObjectIdentifier{2, 5, 4, 8}
		street   = asn1.ObjectIdentifier{2, 5, 4, 9}
		serial   = asn1.ObjectIdentifier{2, 5, 4, 5}
		postal   = asn1.ObjectIdentifier{2, 5, 4, 17}
		email    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
		dc       = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
		uid      = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
		unknownX = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
	)
	type avas = []certTestAVA
	tests := []struct {
		name string
		rdns []avas
		want string
	}{
		{"empty", nil, ""},
		{"reverse order", []avas{{{c, prints, "CN"}}, {{o, utf8s, "Ant Financial"}}, {{ou, utf8s, "Certification Authority"}}, {{cn, utf8s, "Ant Financial Certification Authority Class 2 R1"}}},
			"CN=Ant Financial Certification Authority Class 2 R1,OU=Certification Authority,O=Ant Financial,C=CN"},
		{"keywords", []avas{{{l, utf8s, "Hangzhou"}}, {{st, utf8s, "Zhejiang"}}, {{street, utf8s, "1 Road"}}, {{dc, ia5, "com"}}, {{uid, utf8s, "u1"}}},
			"UID=u1,DC=com,STREET=1 Road,ST=Zhejiang,L=Hangzhou"},
		{"OID types", []avas{{{email, ia5, "ca@example.com"}}, {{serial, prints, "123"}}, {{postal, utf8s, "310000"}}, {{unknownX, utf8s, "x"}}},
			"1.3.6.1.4.1.99999.1=#0c0178,2.5.4.17=#0c06333130303030,2.5.4.5=#1303313233,1.2.840.113549.1.9.1=#160e6361406578616d706c652e636f6d"},
		{"multi-valued RDN", []avas{{{c, prints, "CN"}}, {{ou, utf8s, "b"}, {cn, utf8s, "a"}}}, "OU=b+CN=a,C=CN"},
		{"escapes", []avas{{{cn, utf8s, `a,b=c+d<e>f#g;h"i\j`}}}, `CN=a\,b\=c\+d\<e\>f\#g\;h\"i\\j`},
		{"leading hash", []avas{{{cn, utf8s, "#x"}}}, `CN=\#x`},
		{"spaces", []avas{{{cn, utf8s, "  a b  "}}}, `CN=\ \ a b\ \ `},
		{"only spaces", []avas{{{cn, utf8s, "   "}}}, `CN=\ \ \ `},
		{"carriage return", []avas{{{cn, utf8s, "\r a\r\n"}}}, "CN=\\\r\\ a\r\n"},
		{"NUL", []avas{{{cn, utf8s, "a\x00b"}}}, `CN=a\00b`},
		{"empty value", []avas{{{cn, utf8s, ""}}}, `CN=`},
		{"UTF-8", []avas{{{o, utf8s, "蚂蚁金服（杭州）网络技术有限公司"}}}, "O=蚂蚁金服（杭州）网络技术有限公司"},
		{"string types", []avas{{{cn, t61, "t61"}}, {{cn, ia5, "ia5"}}, {{cn, asn1.TagGeneralString, "gen"}}}, "CN=gen,CN=ia5,CN=t61"},
		{"BMPString read as UTF-8", []avas{{{cn, bmp, "\x00A\x00B"}}}, `CN=\00A\00B`},
		{"non-string value", []avas{{{cn, octets, "ab"}}, {{c, asn1.TagInteger, "\x05"}}}, "C=#020105,CN=#04026162"},
		{"empty RDN", []avas{{{c, prints, "CN"}}, {}, {{cn, utf8s, "a"}}}, "CN=a,,C=CN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			der := certTestName(t, tt.rdns...)
			got, err := certIssuerDN(der)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("issuer %x:\n got %q\nwant %q", der, got, tt.want)
			}
		})
	}
}

// TestCertSNCreated checks CertSN on certificates made by crypto/x509 with
// an arbitrary issuer, PEM and DER.
func TestCertSNCreated(t *testing.T) {
	t.Parallel()
	issuer := certTestName(t,
		[]certTestAVA{{asn1.ObjectIdentifier{2, 5, 4, 6}, asn1.TagPrintableString, "CN"}},
		[]certTestAVA{{certTestCN, asn1.TagUTF8String, "Test CA, Inc."}},
	)
	der := certTestX509(t, big.NewInt(12345), issuer)
	want := certTestMD5(`CN=Test CA\, Inc.,C=CN12345`)
	for name, in := range map[string][]byte{"DER": der, "PEM": certTestPEM(der)} {
		got, err := CertSN(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != want {
			t.Errorf("%s: got %s, want %s", name, got, want)
		}
	}
	got, err := RootCertSN(certTestPEM(der))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("RootCertSN: got %s, want %s", got, want)
	}

	// DER that happens to contain the PEM marker is still read as DER.
	issuer = certTestName(t, []certTestAVA{{certTestCN, asn1.TagUTF8String, "\n-----BEGIN CERTIFICATE-----\n"}})
	got, err = CertSN(certTestX509(t, big.NewInt(7), issuer))
	if err != nil {
		t.Fatal(err)
	}
	if want := certTestMD5("CN=\n-----BEGIN CERTIFICATE-----\n7"); got != want {
		t.Errorf("DER with a PEM marker: got %s, want %s", got, want)
	}
}

func FuzzCertSN(f *testing.F) {
	for _, name := range []string{
		"certs/appCertPublicKey_2021000000000001.crt",
		"certs/edge_email_issuer.crt",
		"certs/root0.crt",
		"keys/app_private_pkcs1.pem",
	} {
		b := certTestRead(f, name)
		f.Add(b)
		if block, _ := pem.Decode(b); block != nil {
			f.Add(block.Bytes)
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		sn, err := CertSN(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "alipay: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			return
		}
		if len(sn) != 32 || strings.Trim(sn, "0123456789abcdef") != "" {
			t.Errorf("SN %q is not 32 lowercase hex digits", sn)
		}
	})
}

func FuzzRootCertSN(f *testing.F) {
	f.Add(certTestRead(f, "certs/alipayRootCert.crt"))
	f.Add(certTestRead(f, "certs/root3.crt"))
	f.Add(certTestRead(f, "certs/root0.crt"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		sn, err := RootCertSN(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "alipay: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			return
		}
		for part := range strings.SplitSeq(sn, "_") {
			if len(part) != 32 || strings.Trim(part, "0123456789abcdef") != "" {
				t.Errorf("SN %q: part %q is not 32 lowercase hex digits", sn, part)
			}
		}
	})
}

var certTestCN = asn1.ObjectIdentifier{2, 5, 4, 3}

// certTestAVA is one attribute of a crafted name: its type, the universal
// tag of its value and the value's content octets.
type certTestAVA struct {
	oid asn1.ObjectIdentifier
	tag int
	val string
}

// certTestName returns the DER of a Name made of rdns, in DER order.
func certTestName(t testing.TB, rdns ...[]certTestAVA) []byte {
	t.Helper()
	var seq []byte
	for _, rdn := range rdns {
		var set []byte
		for _, a := range rdn {
			b, err := asn1.Marshal(struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}{a.oid, asn1.RawValue{Tag: a.tag, Bytes: []byte(a.val)}})
			if err != nil {
				t.Fatal(err)
			}
			set = append(set, b...)
		}
		seq = append(seq, certTestMarshal(t, asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: set})...)
	}
	return certTestMarshal(t, asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: seq})
}

// certTestCert returns a DER structure shaped like a certificate with the
// given serial number and raw issuer, signed with sha256WithRSAEncryption,
// that crypto/x509 would refuse to create (a negative serial, a malformed
// issuer). Only the fields the SN reads are meaningful.
func certTestCert(t testing.TB, serial *big.Int, issuer []byte) []byte {
	t.Helper()
	alg := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}}
	return certTestMarshal(t, struct {
		TBS struct {
			Version int `asn1:"explicit,tag:0"`
			Serial  *big.Int
			Alg     pkix.AlgorithmIdentifier
			Issuer  asn1.RawValue
		}
		Alg pkix.AlgorithmIdentifier
		Sig asn1.BitString
	}{
		TBS: struct {
			Version int `asn1:"explicit,tag:0"`
			Serial  *big.Int
			Alg     pkix.AlgorithmIdentifier
			Issuer  asn1.RawValue
		}{2, serial, alg, asn1.RawValue{FullBytes: issuer}},
		Alg: alg,
		Sig: asn1.BitString{Bytes: []byte{0}, BitLength: 8},
	})
}

// certTestX509 returns a real certificate, made by crypto/x509 with the app
// test key, whose issuer is the raw DER name issuer.
func certTestX509(t testing.TB, serial *big.Int, issuer []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(certTestRead(t, "keys/app_private_pkcs1.pem"))
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "leaf"},
		NotBefore:    time.Date(2024, 5, 20, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2034, 5, 20, 0, 0, 0, 0, time.UTC),
	}
	parent := &x509.Certificate{RawSubject: issuer}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public().(*rsa.PublicKey), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func certTestMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func certTestPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// certTestPEMBody returns the DER inside the PEM block b.
func certTestPEMBody(t testing.TB, b []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("no PEM block")
	}
	return block.Bytes
}

func certTestMD5(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
