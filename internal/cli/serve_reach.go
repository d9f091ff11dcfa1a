package cli

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// sharedAddressSpace is 100.64.0.0/10, the carrier-grade NAT range
// (RFC 6598): not reachable from the internet.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// specialTLDs are top-level names that never resolve on the internet:
// RFC 6761's and RFC 6762's special-use names, and the private-use names
// (.internal, .lan, .home.arpa) that networks use inside.
var specialTLDs = []string{"localhost", "local", "internal", "lan", "home.arpa", "test", "example", "invalid", "localdomain", "intranet", "corp"}

// unreachableReason says why Alipay's servers, on the internet, cannot
// reach the host of u, or returns "" when nothing speaks against it. It
// resolves no names: a name that resolves to a private address inside
// the network (split DNS) is not caught. Alipay takes http and https
// notify URLs on any port, so neither is checked.
func unreachableReason(u *url.URL) string {
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if addr, err := netip.ParseAddr(host); err == nil {
		addr = addr.Unmap()
		switch {
		case addr.IsLoopback():
			return fmt.Sprintf("%s is a loopback address, this machine only", host)
		case addr.IsUnspecified():
			return fmt.Sprintf("%s is the unspecified address, no machine's", host)
		case addr.IsPrivate():
			return fmt.Sprintf("%s is a private address (10/8, 172.16/12, 192.168/16, fc00::/7), inside a local network", host)
		case addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast():
			return fmt.Sprintf("%s is a link-local address, this network segment only", host)
		case addr.IsMulticast() || addr.IsInterfaceLocalMulticast():
			return fmt.Sprintf("%s is a multicast address", host)
		case sharedAddressSpace.Contains(addr):
			return fmt.Sprintf("%s is in 100.64.0.0/10, a carrier-grade NAT range", host)
		case addr.Is4() && addr.As4()[0] == 0:
			return fmt.Sprintf("%s is in 0.0.0.0/8, no machine's", host)
		}
		return ""
	}
	if !strings.Contains(host, ".") {
		if host == "localhost" {
			return "localhost is this machine only"
		}
		return fmt.Sprintf("%s is a bare host name without a domain, which only a local network resolves", host)
	}
	for _, tld := range specialTLDs {
		if strings.HasSuffix(host, "."+tld) {
			return fmt.Sprintf("%s ends in .%s, a name that never resolves on the internet", host, tld)
		}
	}
	return ""
}

// certChainProblem checks the certificate file leafText (its first
// certificate, and any intermediates after it) against the root bundle
// rootText, at now, and says what is wrong, or returns "".
//
// It follows the chain as far as the files tell: each certificate must be
// signed by the one named as its issuer, and a chain whose every link is
// present must end at a root of the bundle. Alipay's files do not always
// carry the intermediate that issued the leaf; with it missing nothing can
// be said about the rest, and nothing is. Roots that Go cannot parse (the
// real bundle's SM2 root) are skipped, as they do not count in
// alipay_root_cert_sn either.
func certChainProblem(leafText, rootText string, now time.Time) string {
	chain := parseCerts(leafText)
	if len(chain) == 0 {
		return "" // alipay.New reported it already
	}
	roots := parseCerts(rootText)
	leaf := chain[0]
	switch {
	case now.After(leaf.NotAfter):
		return fmt.Sprintf("the certificate (CN %q) expired on %s: download the current one from Alipay's console", leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(leaf.NotBefore):
		return fmt.Sprintf("the certificate (CN %q) is not valid before %s: check this machine's clock", leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.DateTime))
	}
	isRoot := func(c *x509.Certificate) bool {
		for _, r := range roots {
			if bytes.Equal(r.Raw, c.Raw) {
				return true
			}
		}
		return false
	}
	known := append(chain[1:len(chain):len(chain)], roots...)
	cur := leaf
	for range 8 {
		if isRoot(cur) {
			return ""
		}
		if bytes.Equal(cur.RawIssuer, cur.RawSubject) {
			return fmt.Sprintf("its chain ends at the self-signed certificate CN %q, which is not in alipay_root_cert_file: download the three certificate files again, together, from the same app's console page", cur.Subject.CommonName)
		}
		var named []*x509.Certificate
		for _, c := range known {
			if bytes.Equal(c.RawSubject, cur.RawIssuer) {
				named = append(named, c)
			}
		}
		if len(named) == 0 {
			if cur == leaf {
				return "" // the issuing intermediate is not in the files: cannot tell
			}
			return fmt.Sprintf("its chain ends at CN %q, issued by CN %q, which is not in alipay_root_cert_file: the files come from different environments (sandbox or production) or apps; download all three again from the same console page",
				cur.Subject.CommonName, cur.Issuer.CommonName)
		}
		var next *x509.Certificate
		for _, c := range named {
			err := cur.CheckSignatureFrom(c)
			var insecure x509.InsecureAlgorithmError
			if errors.As(err, &insecure) {
				return "" // a SHA-1 link: Go will not check it, so cannot tell
			}
			if err == nil {
				next = c
				break
			}
		}
		if next == nil {
			return fmt.Sprintf("CN %q is not signed by the certificate of its issuer CN %q in these files: the certificates come from different CAs (sandbox and production, or two downloads); download all three again from the same console page",
				cur.Subject.CommonName, cur.Issuer.CommonName)
		}
		cur = next
	}
	return ""
}

// parseCerts returns the certificates of the PEM text that Go can parse.
func parseCerts(text string) []*x509.Certificate {
	var out []*x509.Certificate
	rest := []byte(text)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return out
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			out = append(out, c)
		}
	}
}
