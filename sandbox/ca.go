package sandbox

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"zhifu/alipay"
)

// Names of the certificate files of certificate mode (公钥证书模式), as
// Alipay's console names them. The app certificate's name ends in the app
// id: see AppCertFileName.
const (
	AlipayCertFileName = "alipayCertPublicKey_RSA2.crt"
	RootCertFileName   = "alipayRootCert.crt"
)

// AppCertFileName returns the name Alipay gives the app certificate of
// appID: appCertPublicKey_<app id>.crt.
func AppCertFileName(appID string) string { return "appCertPublicKey_" + appID + ".crt" }

// Validity of the certificates a CA issues. Alipay's app certificates are
// valid for five years; the sandbox's roots outlive every leaf.
const (
	caRootValidity = 30 * 365 * 24 * time.Hour
	caLeafValidity = 5 * 365 * 24 * time.Hour
	caBackdate     = time.Hour // tolerates clocks a little behind the sandbox's
)

// CA is the sandbox's certificate authority for certificate mode, shaped
// like Alipay's own. Its root bundle (alipayRootCert.crt) holds, in this
// order:
//
//   - an ECDSA root ("… Certification Authority E1"), standing in for the
//     non-RSA roots of the real bundle (its SM2 and ECDSA roots): it must
//     not count in alipay_root_cert_sn;
//   - an RSA root signed with SHA-256 ("… Certification Authority R1"),
//     which issued the "Class 2 R1" intermediate that issues the app and
//     Alipay certificates;
//   - an RSA root signed with SHA-1 ("… Class 2 Root CA - G3"), as the
//     real iTrusChina root is.
//
// alipay_root_cert_sn is therefore the SNs of the second and third roots
// joined by "_": a client that hashes every certificate, or only the
// first, sends a wrong SN and is refused, as it would be by Alipay.
//
// Every name says "zhifu sandbox": the certificates are for tests and
// prove nothing. A CA is safe for concurrent use.
type CA struct {
	bundle   []byte // PEM, the roots in file order
	rootSN   string
	inter    *x509.Certificate
	interKey *rsa.PrivateKey
	now      func() time.Time
}

// caSubject is a distinguished name in the shape of Alipay's CAs: C, O, OU
// and CN only (the attributes every SDK renders alike in a cert SN).
func caSubject(o, ou, cn string) pkix.Name {
	return pkix.Name{Country: []string{"CN"}, Organization: []string{o}, OrganizationalUnit: []string{ou}, CommonName: cn}
}

// NewCA creates a CA with new keys, its certificates dated from now (the
// wall clock when now is nil).
func NewCA(now func() time.Time) (*CA, error) {
	if now == nil {
		now = time.Now
	}
	ca := &CA{now: now}
	const org, unit = "zhifu sandbox", "Certification Authority"

	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sandbox: CA: %w", err)
	}
	e1, err := ca.selfSigned(caSubject(org, unit, "zhifu sandbox Certification Authority E1"), ecKey, x509.ECDSAWithSHA384)
	if err != nil {
		return nil, err
	}
	r1Key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sandbox: CA: %w", err)
	}
	r1, err := ca.selfSigned(caSubject(org, unit, "zhifu sandbox Certification Authority R1"), r1Key, x509.SHA256WithRSA)
	if err != nil {
		return nil, err
	}
	g3Key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sandbox: CA: %w", err)
	}
	g3, err := ca.selfSigned(caSubject(org, "China Trust Network", "zhifu sandbox Class 2 Root CA - G3"), g3Key, x509.SHA1WithRSA)
	if err != nil {
		return nil, err
	}
	var bundle bytes.Buffer
	for _, der := range [][]byte{e1, r1, g3} {
		pem.Encode(&bundle, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	ca.bundle = bundle.Bytes()
	if ca.rootSN, err = alipay.RootCertSN(ca.bundle); err != nil {
		return nil, fmt.Errorf("sandbox: CA: %w", err)
	}

	root, err := x509.ParseCertificate(r1)
	if err != nil {
		return nil, fmt.Errorf("sandbox: CA: %w", err)
	}
	if ca.interKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, fmt.Errorf("sandbox: CA: %w", err)
	}
	interTpl, err := ca.template(caSubject(org, unit, "zhifu sandbox Certification Authority Class 2 R1"), caRootValidity)
	if err != nil {
		return nil, err
	}
	interTpl.IsCA, interTpl.MaxPathLenZero = true, true
	interTpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	interDER, err := x509.CreateCertificate(rand.Reader, interTpl, root, &ca.interKey.PublicKey, r1Key)
	if err != nil {
		return nil, fmt.Errorf("sandbox: CA: issuing the intermediate: %w", err)
	}
	if ca.inter, err = x509.ParseCertificate(interDER); err != nil {
		return nil, fmt.Errorf("sandbox: CA: %w", err)
	}
	return ca, nil
}

// template returns a certificate template for subject with a random
// serial number, valid for validity from now (backdated a little).
func (ca *CA) template(subject pkix.Name, validity time.Duration) (*x509.Certificate, error) {
	// 64 random bits with the top bit set: a serial whose DER needs a
	// leading zero byte, as many of Alipay's do.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, fmt.Errorf("sandbox: CA: %w", err)
	}
	serial.SetBit(serial, 63, 1)
	now := ca.now()
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             now.Add(-caBackdate),
		NotAfter:              now.Add(validity),
		BasicConstraintsValid: true,
	}, nil
}

// selfSigned returns the DER of a self-signed root certificate.
func (ca *CA) selfSigned(subject pkix.Name, key crypto.Signer, alg x509.SignatureAlgorithm) ([]byte, error) {
	tpl, err := ca.template(subject, caRootValidity)
	if err != nil {
		return nil, err
	}
	tpl.IsCA = true
	tpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	tpl.SignatureAlgorithm = alg
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("sandbox: CA: issuing root %q: %w", subject.CommonName, err)
	}
	return der, nil
}

// RootBundle returns the root bundle, the content of alipayRootCert.crt.
func (ca *CA) RootBundle() []byte { return bytes.Clone(ca.bundle) }

// RootCertSN returns the alipay_root_cert_sn of the root bundle.
func (ca *CA) RootCertSN() string { return ca.rootSN }

// Intermediate returns the "Class 2 R1" certificate that issues the app
// and Alipay certificates, as PEM.
func (ca *CA) Intermediate() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.inter.Raw})
}

// IssueAppCert returns an app public key certificate
// (appCertPublicKey_<app id>.crt) for key, whose CN is appID, as PEM.
func (ca *CA) IssueAppCert(appID string, key *rsa.PublicKey) ([]byte, error) {
	return ca.issue(caSubject("zhifu sandbox merchant", "Alipay", appID), key)
}

// IssueAlipayCert returns an Alipay public key certificate
// (alipayCertPublicKey_RSA2.crt) for the sandbox's Alipay key, as PEM.
func (ca *CA) IssueAlipayCert(key *rsa.PublicKey) ([]byte, error) {
	return ca.issue(caSubject("zhifu sandbox 支付宝(中国)网络技术有限公司", "Alipay", "zhifu sandbox 支付宝(中国)网络技术有限公司"), key)
}

// issue returns a leaf certificate for key, signed by the intermediate.
func (ca *CA) issue(subject pkix.Name, key *rsa.PublicKey) ([]byte, error) {
	if key == nil {
		return nil, errors.New("sandbox: CA: no public key to certify")
	}
	if bits := key.N.BitLen(); bits < alipay.MinKeyBits {
		return nil, fmt.Errorf("sandbox: CA: the key has %d bits; Alipay certifies %d or more", bits, alipay.MinKeyBits)
	}
	tpl, err := ca.template(subject, caLeafValidity)
	if err != nil {
		return nil, err
	}
	tpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.inter, key, ca.interKey)
	if err != nil {
		return nil, fmt.Errorf("sandbox: CA: issuing %q: %w", subject.CommonName, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// Certificates are the three files of an app in certificate mode, as PEM:
// what a client loads, and what the sandbox takes the SNs from.
type Certificates struct {
	AppCert        []byte // appCertPublicKey_<app id>.crt
	AlipayCert     []byte // alipayCertPublicKey_RSA2.crt
	AlipayRootCert []byte // alipayRootCert.crt
}

// IssueCertificates issues the certificates of certificate mode for the
// app appID with public key appKey, and for the sandbox's Alipay key
// alipayKey (Sandbox.AlipayPublicKey), with ca's root bundle.
func (ca *CA) IssueCertificates(appID string, appKey, alipayKey *rsa.PublicKey) (Certificates, error) {
	appCert, err := ca.IssueAppCert(appID, appKey)
	if err != nil {
		return Certificates{}, err
	}
	alipayCert, err := ca.IssueAlipayCert(alipayKey)
	if err != nil {
		return Certificates{}, err
	}
	return Certificates{AppCert: appCert, AlipayCert: alipayCert, AlipayRootCert: ca.RootBundle()}, nil
}

// Apply switches app to certificate mode with c: it sets app.AppCertSN,
// app.AlipayCertSN and app.AlipayRootCertSN, computed as the official SDKs
// compute them (alipay.CertSN, alipay.RootCertSN). The app certificate
// must hold app.AppPublicKey and the Alipay certificate alipayKey, the
// public key the sandbox signs with (Sandbox.AlipayPublicKey): otherwise
// clients loading these files could not talk to the sandbox.
func (c Certificates) Apply(app *App, alipayKey *rsa.PublicKey) error {
	appCert, err := alipay.ParseCertificate(string(c.AppCert))
	if err != nil {
		return fmt.Errorf("sandbox: app certificate: %w", err)
	}
	if app.AppPublicKey == nil || !app.AppPublicKey.Equal(appCert.PublicKey) {
		return fmt.Errorf("sandbox: the app certificate (CN %q) does not hold the public key of app %s", appCert.Subject.CommonName, app.AppID)
	}
	alipayCert, err := alipay.ParseCertificate(string(c.AlipayCert))
	if err != nil {
		return fmt.Errorf("sandbox: Alipay certificate: %w", err)
	}
	if alipayKey == nil || !alipayKey.Equal(alipayCert.PublicKey) {
		return errors.New("sandbox: the Alipay certificate does not hold the sandbox's Alipay public key")
	}
	appSN, err := alipay.CertSN(appCert.Raw)
	if err != nil {
		return fmt.Errorf("sandbox: app certificate: %w", err)
	}
	alipaySN, err := alipay.CertSN(alipayCert.Raw)
	if err != nil {
		return fmt.Errorf("sandbox: Alipay certificate: %w", err)
	}
	rootSN, err := alipay.RootCertSN(c.AlipayRootCert)
	if err != nil {
		return fmt.Errorf("sandbox: root certificate bundle: %w", err)
	}
	app.AppCertSN, app.AlipayCertSN, app.AlipayRootCertSN = appSN, alipaySN, rootSN
	return nil
}
